// egtea as a library: the losses, the engine, the models and the training step.
export * from './losses/index.js';
export { selectBackend, activeEngine, parseBackendChoice, BACKEND_CHOICES, type BackendChoice, type EngineInfo } from './engine/backend.js';
export { conv3d, resolveGroupedConvImpl, type Conv3dSpec } from './engine/conv3d.js';
export { setGroupedConvImpl, type GroupedConvImpl } from './engine/grouped-conv3d.js';
export { createModel, ARCHITECTURES, tinyResNeXt3dConfig, type Architecture, type ModelRequest } from './models/presets.js';
export { ResNeXt3D, resnext3dConfig, type ResNeXt3DConfig } from './models/resnext3d.js';
export { LeNet5 } from './models/lenet5.js';
export type { ClipModel } from './models/model.js';
export { trainingContext, inferenceContext, applyBatchNormUpdates, type ForwardContext } from './models/context.js';
export { importTorchStateDict, exportTorchStateDict } from './models/torch-weights.js';
export { readSafetensors, writeSafetensors, parseSafetensors } from './io/safetensors.js';
export { trainStep, accumulatedTrainStep, type LossFunction } from './train/step.js';
export { SeededRandom } from './util/random.js';
