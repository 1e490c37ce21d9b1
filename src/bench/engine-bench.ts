import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import type { EngineInfo } from '../engine/backend.js';
import { bindingDevice } from '../engine/dispatch.js';
import { groupedConvImpl, setGroupedConvImpl, type GroupedConvImpl } from '../engine/dispatch.js';
import { GraphStep, type GraphStepState } from '../engine/graph/graph-step.js';
import { kernelsAvailable } from '../engine/kernels.js';
import { createLoss } from '../losses/registry.js';
import { applyBatchNormUpdates, trainingContext } from '../models/context.js';
import { LeNet5 } from '../models/lenet5.js';
import { Parameters } from '../models/parameters.js';
import { applyBottleneck, createBottleneck } from '../models/resnext3d.js';
import { Sgd } from '../train/sgd.js';
import { trainStep } from '../train/step.js';
import { median, ReferenceServer, timeMs, timesMs } from './reference.js';

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
  /** How egtea ran each case: one TensorFlow graph, or op by op (and why). */
  steps: { lenet: GraphStepState; bottleneck: GraphStepState };
  /** Median [egtea ms, PyTorch ms] per case and round. */
  rounds: { lenet: [number, number]; bottleneck: [number, number] }[];
}

// The goal: a step as train runs it is no slower than PyTorch's.
const GOAL = 1.0;

/** A timed step, built once, and what frees it. */
interface Case {
  step: () => void;
  /** How the step ran (read before dispose). */
  mode: () => GraphStepState;
  dispose: () => void;
}

const opByOp: GraphStepState = { mode: 'eager', reason: '--no-graph-step' };

function lenetCase(graphStep: boolean): Case {
  // As a Table-1 run: one-frame RGB clips, weight decay 5e-4 (bench/engine/reference.py alike).
  const model = new LeNet5(10, 0, 3);
  const optimizer = new Sgd(model.parameters.trainable(), { learningRate: 0.01, momentum: 0.9, weightDecay: 5e-4 });
  const loss = createLoss('ce', { numClasses: 10 });
  const clips = tf.randomNormal([100, 1, 28, 28, 3], 0, 1, 'float32', 1) as tf.Tensor5D;
  const labels = tf.tensor1d(
    Array.from({ length: 100 }, (_, i) => i % 10),
    'int32',
  );
  // As the trainer runs it: recorded, then one TensorFlow graph per step (the warm-up records it).
  const graph = graphStep ? new GraphStep() : undefined;
  return {
    step: () => trainStep(model, optimizer, loss, clips, labels, graph),
    mode: () => graph?.state() ?? opByOp,
    dispose: () => {
      graph?.dispose();
      tf.dispose([clips, labels]);
      optimizer.dispose();
      model.parameters.dispose();
    },
  };
}

/**
 * Forward + backward of one layer1 bottleneck (BN in training mode), as the reference does, on
 * the given grouped-conv path (selected while the case lives, restored when it is disposed).
 * With a GraphStep it runs as train runs its steps: recorded, then one TensorFlow graph (the
 * recording keeps to TensorFlow's ops, so the grouped conv is split per group inside it).
 */
function bottleneckCase(impl: GroupedConvImpl, graph?: GraphStep): Case {
  const params = new Parameters(0);
  const block = createBottleneck(params, 'block', 256, 128, 32, 1);
  const x = tf.randomNormal([1, 5, 56, 56, 256], 0, 1, 'float32', 2) as tf.Tensor5D;
  const variables = params.trainableVariables();
  const previous = groupedConvImpl();
  setGroupedConvImpl(impl);
  const body = (): tf.Tensor[] => {
    const context = trainingContext();
    const { value, grads } = tf.variableGrads(() => tf.sum(applyBottleneck(block, x, context)) as tf.Scalar, variables);
    applyBatchNormUpdates(context);
    return [value, ...variables.map((v) => grads[v.name]!)];
  };
  const inputs = [x, ...params.list().map((p) => p.variable)];
  return {
    step: () => {
      const outputs = graph ? graph.run(inputs, body) : body();
      // Reading the gradients waits for the whole step, as PyTorch's backward() does.
      for (const t of outputs) t.dataSync();
      tf.dispose(outputs);
    },
    mode: () => graph?.state() ?? opByOp,
    dispose: () => {
      graph?.dispose();
      setGroupedConvImpl(previous);
      x.dispose();
      params.dispose();
    },
  };
}

/** Times each grouped-conv path once on the bottleneck; the fastest is the one compared. */
function groupedConvPaths(reps: number): { paths: EngineBenchResult['groupedConv3d']; fastest: GroupedConvImpl } {
  const impls: GroupedConvImpl[] = ['tensorflow-conv3d', 'egtea-kernel', 'tensorflow-split-per-group'];
  const paths = impls.map((impl) => {
    if (impl === 'tensorflow-conv3d' && bindingDevice() !== 'gpu')
      return { impl, ms: null, note: 'TensorFlow has no grouped Conv3D kernel on this device (CPU)' };
    if (impl === 'egtea-kernel' && !kernelsAvailable()) return { impl, ms: null, note: 'not built: run egtea engine install' };
    const c = bottleneckCase(impl);
    try {
      return { impl, ms: timeMs(c.step, 2, reps) };
    } finally {
      c.dispose();
    }
  });
  const timed = paths.filter((g) => g.ms !== null);
  return { paths, fastest: timed.reduce((a, b) => (b.ms! < a.ms! ? b : a)).impl };
}

/**
 * PyTorch runs in a server process beside this one. The cases run one after the other, each
 * built once on both sides; every round a case runs a short turn in PyTorch, then in egtea, so a
 * drift in the machine's speed (this VM's timings wander by 10-20% within seconds) falls on both
 * sides. Each case reports the median over rounds of the per-round ratio of medians, and the
 * median times.
 */
export async function runEngineBench(
  engine: EngineInfo,
  options: { lenetSteps: number; blockReps: number; rounds: number; graphStep: boolean },
): Promise<EngineBenchResult> {
  const threads = os.availableParallelism();
  const { server, header } = await ReferenceServer.start('engine/reference.py', ['--threads', String(threads)]);
  try {
    const steps: EngineBenchResult['steps'] = { lenet: opByOp, bottleneck: opByOp };
    const inTurns = async (name: 'lenet' | 'bottleneck', c: Case, reps: number, warmup: number): Promise<[number, number][]> => {
      try {
        timesMs(c.step, warmup);
        const rounds: [number, number][] = [];
        for (let round = 0; round < options.rounds; round++) {
          const reference = (await server.request(`${name} ${reps}`)).ms as number[];
          rounds.push([median(timesMs(c.step, reps)), median(reference)]);
        }
        steps[name] = c.mode();
        return rounds;
      } finally {
        c.dispose();
      }
    };
    const lenet = await inTurns('lenet', lenetCase(options.graphStep), options.lenetSteps, 5);
    const grouped = groupedConvPaths(options.blockReps);
    // Op by op the fastest grouped-conv path is compared; as a graph, TensorFlow's ops are.
    const blockGraph = options.graphStep ? new GraphStep() : undefined;
    const bottleneck = await inTurns('bottleneck', bottleneckCase(blockGraph ? 'auto' : grouped.fastest, blockGraph), options.blockReps, 3);
    const rounds = lenet.map((l, i) => ({ lenet: l, bottleneck: bottleneck[i]! }));
    const make = (name: string, key: 'lenet' | 'bottleneck'): BenchCase => {
      const ratio = median(rounds.map((r) => r[key][0] / r[key][1]));
      return {
        case: name,
        egteaMs: median(rounds.map((r) => r[key][0])),
        pytorchMs: median(rounds.map((r) => r[key][1])),
        ratio,
        goal: GOAL,
        met: ratio <= GOAL,
      };
    };
    return {
      engine,
      threads,
      torch: String(header.torch),
      cases: [make('lenet5 training step (batch 100, SGD momentum)', 'lenet'), make('3D-ResNeXt bottleneck fwd+bwd [1,5,56,56,256], groups 32', 'bottleneck')],
      groupedConv3d: grouped.paths,
      steps,
      rounds,
    };
  } finally {
    server.close();
  }
}
