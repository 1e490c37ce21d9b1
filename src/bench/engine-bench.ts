import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import type { EngineInfo } from '../engine/backend.js';
import { groupedConvImpl, nativeGroupedConvAvailable, setGroupedConvImpl, type GroupedConvImpl } from '../engine/grouped-conv3d.js';
import { kernelsAvailable } from '../engine/kernels.js';
import { createLoss } from '../losses/create-loss.js';
import { applyBatchNormUpdates, trainingContext } from '../models/context.js';
import { LeNet5 } from '../models/lenet5.js';
import { Parameters } from '../models/parameters.js';
import { applyBottleneck, createBottleneck } from '../models/resnext3d.js';
import { Sgd } from '../train/sgd.js';
import { trainStep } from '../train/step.js';
import { median, runPythonReference, timeMs } from './reference.js';

export interface BenchCase {
  case: string;
  egteaMs: number;
  pytorchMs: number;
  ratio: number;
  goal: number;
  met: boolean;
}

export interface EngineBenchResult {
  engine: EngineInfo;
  threads: number;
  torch: string;
  cases: BenchCase[];
  groupedConv3d: { impl: GroupedConvImpl; ms: number | null; note?: string }[];
  /** [egtea ms, PyTorch ms] per case and round. */
  rounds: { lenet: [number, number]; bottleneck: [number, number] }[];
}

const GOAL = 1.5;

function lenetStepMs(steps: number): number {
  const model = new LeNet5(10, 0);
  const optimizer = new Sgd(model.parameters.trainable(), { learningRate: 0.01, momentum: 0.9, weightDecay: 0 });
  const loss = createLoss('ce', { numClasses: 10 });
  const clips = tf.randomNormal([100, 1, 28, 28, 1], 0, 1, 'float32', 1) as tf.Tensor5D;
  const labels = tf.tensor1d(Array.from({ length: 100 }, (_, i) => i % 10), 'int32');
  const ms = timeMs(() => trainStep(model, optimizer, loss, clips, labels), 5, steps);
  tf.dispose([clips, labels]);
  optimizer.dispose();
  model.parameters.dispose();
  return ms;
}

/** Forward + backward of one layer1 bottleneck (BN in training mode), as the reference does. */
function bottleneckMs(reps: number, impl: GroupedConvImpl): number {
  const params = new Parameters(0);
  const block = createBottleneck(params, 'block', 256, 128, 32, 1);
  const x = tf.randomNormal([1, 5, 56, 56, 256], 0, 1, 'float32', 2) as tf.Tensor5D;
  const variables = params.trainableVariables();
  const step = () => {
    const context = trainingContext();
    const { value, grads } = tf.variableGrads(() => tf.sum(applyBottleneck(block, x, context)) as tf.Scalar, variables);
    // Reading the gradients waits for the whole step, as PyTorch's backward() does.
    tf.dispose(Object.values(grads).map((g) => (g.dataSync(), g)));
    value.dispose();
    applyBatchNormUpdates(context);
  };
  const previous = groupedConvImpl();
  setGroupedConvImpl(impl);
  try {
    return timeMs(step, 2, reps);
  } finally {
    setGroupedConvImpl(previous);
    x.dispose();
    params.dispose();
  }
}

/**
 * Rounds alternate the reference and egtea, so a drift in the machine's speed (this VM's
 * timings wander by 10-20%) falls on both sides; each case reports the median over rounds of
 * the per-round ratio, and the median times.
 */
export function runEngineBench(engine: EngineInfo, options: { lenetSteps: number; blockReps: number; rounds: number }): EngineBenchResult {
  const threads = os.availableParallelism();
  const impls: GroupedConvImpl[] = ['native', 'kernel', 'split-per-group'];
  let grouped: EngineBenchResult['groupedConv3d'] = [];
  let bestImpl: GroupedConvImpl = 'auto';
  let torch = '';
  const rounds: EngineBenchResult['rounds'] = [];
  for (let round = 0; round < options.rounds; round++) {
    const reference = runPythonReference('engine/reference.py', ['--threads', String(threads), '--lenet-steps', String(options.lenetSteps), '--block-reps', String(options.blockReps)]);
    torch = String(reference.torch);
    const lenet = lenetStepMs(options.lenetSteps);
    let bottleneck: number;
    if (round === 0) {
      // Every grouped-conv path once; later rounds time the fastest.
      grouped = impls.map((impl) => {
        if (impl === 'native' && !nativeGroupedConvAvailable()) return { impl, ms: null, note: 'TensorFlow has no grouped Conv3D kernel on this device (CPU)' };
        if (impl === 'kernel' && !kernelsAvailable()) return { impl, ms: null, note: 'not built: run egtea engine install' };
        return { impl, ms: bottleneckMs(options.blockReps, impl) };
      });
      const timed = grouped.filter((g) => g.ms !== null);
      const fastest = timed.reduce((a, b) => (b.ms! < a.ms! ? b : a));
      bestImpl = fastest.impl;
      bottleneck = fastest.ms!;
    } else {
      bottleneck = bottleneckMs(options.blockReps, bestImpl);
    }
    rounds.push({ lenet: [lenet, Number(reference.lenet_ms)], bottleneck: [bottleneck, Number(reference.bottleneck_ms)] });
  }
  const make = (name: string, key: 'lenet' | 'bottleneck'): BenchCase => {
    const ratio = median(rounds.map((r) => r[key][0] / r[key][1]));
    return { case: name, egteaMs: median(rounds.map((r) => r[key][0])), pytorchMs: median(rounds.map((r) => r[key][1])), ratio, goal: GOAL, met: ratio <= GOAL };
  };
  return {
    engine,
    threads,
    torch,
    cases: [make('lenet5 training step (batch 100, SGD momentum)', 'lenet'), make('3D-ResNeXt bottleneck fwd+bwd [1,5,56,56,256], groups 32', 'bottleneck')],
    groupedConv3d: grouped,
    rounds,
  };
}
