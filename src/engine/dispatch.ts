import { kernelOpsAvailable } from './kernel-ops.js';
import { kernelsAvailable, kernelsSuspended } from './kernels.js';
import { nativeBackend } from './native-backend.js';

/** Where TensorFlow places the tensors: `null` on the pure-JS backend. */
export type Device = 'cpu' | 'gpu';

/** What the process has, from which every choice between implementations follows. */
export interface EngineFacts {
  /** The device the binding reports its tensors live on; null without the native backend. */
  device: Device | null;
  /** egtea's C++ kernels are built and not set aside (a step being recorded sets them aside). */
  kernels: boolean;
  /** egtea's kernels are registered as TensorFlow ops (CPU kernels), which a recording keeps. */
  kernelOps: boolean;
  /** The binding carries egtea's patch, so a step can run as one TensorFlow function. */
  functions: boolean;
}

/**
 * The implementation of each op that has several. `tensorflow-*` is TensorFlow's own op (on
 * whatever device it runs), `egtea-kernel` egtea's C++ CPU kernel (src/engine/native), which
 * reads its inputs into host memory and so is never chosen for device tensors.
 */
export interface Implementations {
  groupedConv3d: 'tensorflow-conv3d' | 'egtea-kernel' | 'tensorflow-split-per-group';
  /** Training-mode batch norm (with the residual add and ReLU when egtea's kernel fuses them). */
  batchNorm: 'egtea-kernel' | 'tensorflow-fused-batch-norm' | 'tfjs-composite';
  maxPool3d: 'egtea-kernel' | 'tensorflow-max-pool3d';
  /** The loader's JPEG decode-warp-normalise: on the host either way, its result is uploaded. */
  clipDecode: 'egtea-kernel' | 'javascript';
  /** Whether training steps are recorded and run as one TensorFlow function. */
  graphSteps: boolean;
}

/**
 * The one place that chooses between implementations. A GPU build of TensorFlow has its own
 * grouped Conv3D (cuDNN), fused batch norm and 3D pooling, and egtea's CPU kernels there would
 * copy every activation to the host and back; on a CPU egtea's kernels are the lean and fast
 * ones (grouped conv3d has no TensorFlow CPU kernel at all).
 */
export function chooseImplementations(facts: EngineFacts): Implementations {
  const cpuKernels = facts.device !== 'gpu' && (facts.kernels || facts.kernelOps);
  return {
    groupedConv3d: facts.device === 'gpu' ? 'tensorflow-conv3d' : cpuKernels ? 'egtea-kernel' : 'tensorflow-split-per-group',
    batchNorm: cpuKernels ? 'egtea-kernel' : facts.device !== null ? 'tensorflow-fused-batch-norm' : 'tfjs-composite',
    maxPool3d: cpuKernels ? 'egtea-kernel' : 'tensorflow-max-pool3d',
    clipDecode: facts.kernels ? 'egtea-kernel' : 'javascript',
    graphSteps: facts.device !== null && facts.functions,
  };
}

/**
 * How the all-reduce of data-parallel training talks: NCCL between GPUs (TensorFlow's
 * `communication_hint`; untried here, no GPU), TensorFlow's own choice (a ring over gRPC) on CPUs.
 */
export function collectiveCommunication(device: Device | null): 'nccl' | 'auto' {
  return device === 'gpu' ? 'nccl' : 'auto';
}

interface DeviceQuery {
  isUsingGpuDevice?: () => boolean;
}

/** The device the binding puts tensors on (it asks TensorFlow for a GPU when it loads). */
export function bindingDevice(): Device | null {
  const backend = nativeBackend();
  if (backend === null) return null;
  const binding = backend.binding as unknown as DeviceQuery;
  return typeof binding.isUsingGpuDevice === 'function' && binding.isUsingGpuDevice() ? 'gpu' : 'cpu';
}

/** The facts of this process right now (kernels count as absent while a step is recorded). */
export function currentFacts(): EngineFacts {
  const backend = nativeBackend();
  return {
    device: bindingDevice(),
    kernels: kernelsAvailable(),
    kernelOps: kernelOpsAvailable(),
    functions: typeof backend?.binding.addFunction === 'function',
  };
}

/** The implementations the current process uses. */
export function currentImplementations(): Implementations {
  return chooseImplementations(currentFacts());
}

/**
 * The grouped Conv3D implementation chooseImplementations picks, or one forced (benchmarks, tests):
 * - `tensorflow-conv3d`: TensorFlow's own grouped Conv3D (cuDNN; GPU only).
 * - `egtea-kernel`: egtea's multi-threaded CPU kernel (src/engine/native).
 * - `tensorflow-split-per-group`: one tfjs conv3d per group, concatenated; slow, but needs nothing built.
 */
export type GroupedConvImpl = 'auto' | Implementations['groupedConv3d'];

let preferredImpl: GroupedConvImpl = 'auto';

/** Forces one implementation everywhere ('auto': the one chooseImplementations picks for the device). */
export function setGroupedConvImpl(impl: GroupedConvImpl): void {
  preferredImpl = impl;
}

export function groupedConvImpl(): GroupedConvImpl {
  return preferredImpl;
}

/** The grouped implementation `auto` resolves to here: TensorFlow's (GPU), egtea's kernel, or the split. */
export function resolveGroupedConvImpl(impl: GroupedConvImpl = groupedConvImpl()): Exclude<GroupedConvImpl, 'auto'> {
  // A step being recorded keeps to TensorFlow ops (kernels.ts: withoutKernels): egtea's kernel
  // is one when registered as a TensorFlow op (kernel-ops.ts).
  if (impl === 'egtea-kernel' && kernelsSuspended() && !kernelOpsAvailable()) return 'tensorflow-split-per-group';
  return impl === 'auto' ? currentImplementations().groupedConv3d : impl;
}
