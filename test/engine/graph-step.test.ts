import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { GraphStep } from '../../src/engine/graph/graph-step.js';
import { kernelsEnabled, setKernelsEnabled } from '../../src/engine/kernels.js';
import { maxPool2d, maxPool3d } from '../../src/engine/max-pool.js';
import { ProtobufWriter } from '../../src/engine/graph/protobuf-writer.js';
import { nativeBackend } from '../../src/engine/native-backend.js';
import { createLoss } from '../../src/losses/registry.js';
import { DifficultyTracker } from '../../src/losses/difficulty-tracker.js';
import { LeNet5 } from '../../src/models/lenet5.js';
import { createModel } from '../../src/models/presets.js';
import { Sgd } from '../../src/train/sgd.js';
import { accumulatedTrainStep, trainStep } from '../../src/train/step.js';
import { FLOAT32_EPSILON, noiseBound, reversedBatch } from '../noise-floor.js';

const graphs = typeof nativeBackend()?.binding.loadGraphDef === 'function';

/** The largest difference of two runs' losses (relative) and weights (relative to the larger of 1 and the tensor's scale). */
function runDifference(a: { losses: number[]; weights: Float32Array[] }, b: { losses: number[]; weights: Float32Array[] }): number {
  let worst = Math.max(...a.losses.map((l, i) => Math.abs(l - b.losses[i]!) / Math.max(1, Math.abs(l))));
  a.weights.forEach((w, i) => {
    let diff = 0;
    let scale = 1;
    w.forEach((v, j) => {
      diff = Math.max(diff, Math.abs(v - b.weights[i]![j]!));
      scale = Math.max(scale, Math.abs(v));
    });
    worst = Math.max(worst, diff / scale);
  });
  return worst;
}

/**
 * Runs `body` eagerly, then `calls` times as a GraphStep (recordings and graph calls), each output
 * element within float32 rounding of the eager one (noiseBound(FLOAT32_EPSILON), relative above 1).
 */
function expectGraphLikeEager(inputs: tf.Tensor[], body: () => tf.Tensor[], calls: number): void {
  const eager = tf.tidy(body).map((t) => {
    const values = Float32Array.from(t.dataSync() as Float32Array);
    t.dispose();
    return values;
  });
  const graph = new GraphStep();
  const bound = noiseBound(FLOAT32_EPSILON);
  for (let call = 0; call < calls; call++) {
    const results = graph.run(inputs, body);
    results.forEach((t, i) => {
      t.dataSync().forEach((v, j) =>
        expect(Math.abs(v - eager[i]![j]!), `output ${i}, element ${j}, call ${call}`).toBeLessThanOrEqual(bound * Math.max(1, Math.abs(v))),
      );
    });
    tf.dispose(results);
  }
  expect(graph.state().mode).toBe('graph');
  graph.dispose();
}

/** `reverse`: every batch in reverse order, the same run up to rounding (its noise floor). */
function lenetRun(graph: GraphStep | undefined, reverse = false) {
  const model = new LeNet5(4, 3);
  const tracker = new DifficultyTracker(4, { tau: 'dynamic' });
  const loss = createLoss('cdb', { numClasses: 4, tracker });
  const optimizer = new Sgd(model.parameters.trainable(), { learningRate: 0.05, momentum: 0.9, weightDecay: 5e-4 });
  const losses: number[] = [];
  const counts: number[] = [];
  for (let step = 0; step < 8; step++) {
    const drawn = tf.randomNormal([6, 1, 28, 28, 1], 0, 1, 'float32', 100 + step) as tf.Tensor5D;
    const clips = reverse ? reversedBatch(drawn) : drawn;
    const labels = tf.tensor1d(reverse ? [1, 0, 3, 2, 1, 0] : [0, 1, 2, 3, 0, 1], 'int32');
    // What changes between steps must be fed, not frozen: class weights and the learning rate.
    if (step === 4) tracker.update([0.9, 0.5, 0.2, 0.7], 1);
    if (step === 6) optimizer.learningRate = 0.01;
    losses.push(trainStep(model, optimizer, loss, clips, labels, graph));
    tf.dispose([drawn, clips, labels]);
    counts.push(tf.memory().numTensors);
  }
  const weights = model.parameters.list().map((p) => Float32Array.from(p.variable.dataSync() as Float32Array));
  const state = graph?.state();
  optimizer.dispose();
  loss.dispose();
  tracker.dispose();
  model.parameters.dispose();
  return { losses, counts, weights, state };
}

describe.skipIf(!graphs)('GraphStep: a recorded step replayed as one TensorFlow graph', () => {
  it("a LeNet-5 CDB step gives the eager step's losses and weights while weights and rate change, and leaks nothing", () => {
    const graph = new GraphStep();
    const eager = lenetRun(undefined);
    const floor = runDifference(eager, lenetRun(undefined, true));
    const replayed = lenetRun(graph);
    expect(replayed.state).toEqual({ mode: 'graph', nodes: expect.any(Number) });
    expect(runDifference(replayed, eager), `noise floor ${floor}`).toBeLessThanOrEqual(noiseBound(floor));
    // Steps 3..8 run the graph (steps 1-2 record; momentum buffers appear on step 1).
    expect(new Set(replayed.counts.slice(1)).size).toBe(1);
    graph.dispose();
  });

  it('gradient accumulation: two micro-batches and one update run as one graph, as they do eagerly', () => {
    const run = (graph: GraphStep | undefined, reverse = false) => {
      const model = new LeNet5(3, 9);
      const loss = createLoss('ce', { numClasses: 3 });
      const optimizer = new Sgd(model.parameters.trainable(), { learningRate: 0.05, momentum: 0.9, weightDecay: 5e-4 });
      const losses: number[] = [];
      for (let step = 0; step < 5; step++) {
        const micro = [0, 1].map((m) => {
          const clips = tf.randomNormal([3, 1, 28, 28, 1], 0, 1, 'float32', 200 + 2 * step + m) as tf.Tensor5D;
          return reverse
            ? { clips: reversedBatch(clips), labels: tf.tensor1d([2, 1, 0], 'int32'), drawn: clips }
            : { clips, labels: tf.tensor1d([0, 1, 2], 'int32'), drawn: clips };
        });
        losses.push(accumulatedTrainStep(model, optimizer, loss, micro, graph));
        tf.dispose(micro.flatMap((m) => [m.clips, m.labels, m.drawn]));
      }
      const weights = model.parameters.list().map((p) => Float32Array.from(p.variable.dataSync() as Float32Array));
      optimizer.dispose();
      loss.dispose();
      model.parameters.dispose();
      return { losses, weights };
    };
    const eager = run(undefined);
    const floor = runDifference(eager, run(undefined, true));
    const graph = new GraphStep();
    const replayed = run(graph);
    expect(graph.state()).toEqual({ mode: 'graph', nodes: expect.any(Number) });
    expect(runDifference(replayed, eager), `noise floor ${floor}`).toBeLessThanOrEqual(noiseBound(floor));
    graph.dispose();
  });

  it('each step of a tiny 3D-ResNeXt, recorded or replayed, matches the eager step from the same state on the same kernels', () => {
    const model = createModel({ arch: 'resnext3d-tiny', numClasses: 3, frames: 4, size: 32, seed: 5 });
    const loss = createLoss('ce', { numClasses: 3 });
    const optimizer = new Sgd(model.parameters.trainable(), { learningRate: 0.01, momentum: 0.9, weightDecay: 5e-4 });
    const graph = new GraphStep();
    // Parameters, running statistics and momentum: everything a step reads and rewrites.
    const state = () => [...model.parameters.list().map((p) => p.variable), ...(optimizer.state().values() as Iterable<tf.Variable>)];
    const batch = (step: number) => ({
      clips: tf.randomNormal([4, 4, 32, 32, 3], 0, 1, 'float32', 40 + step) as tf.Tensor5D,
      labels: tf.tensor1d([step % 3, (step + 1) % 3, (step + 2) % 3, step % 3], 'int32'),
    });
    const first = batch(0);
    trainStep(model, optimizer, loss, first.clips, first.labels, graph); // makes the momentum buffers
    tf.dispose([first.clips, first.labels]);
    // Batch norm over a few clips magnifies rounding, so trajectories part within a few steps;
    // each step is compared from one state instead. The eager reference runs on the kernels the
    // recording holds: egtea's, as TensorFlow ops (kernel-ops.ts), when they are enabled, else
    // TensorFlow's. (An eager reference on TensorFlow's ops against a recording of egtea's
    // kernels rounds otherwise in every layer, which now and then flips a max-pool or ReLU near
    // tie in the stem: a jump in the stem's gradients, far above the floor below.)
    for (let step = 1; step <= 5; step++) {
      const { clips, labels } = batch(step);
      const saved = state().map((v) => tf.clone(v));
      const eagerStep = (c: tf.Tensor5D, l: tf.Tensor1D) => {
        state().forEach((v, i) => v.assign(saved[i]!));
        const value = trainStep(model, optimizer, loss, c, l);
        return { losses: [value], weights: state().map((v) => Float32Array.from(v.dataSync() as Float32Array)) };
      };
      // The noise floor: the same eager step on the batch in reverse order.
      const [reversedClips, reversedLabels] = [reversedBatch(clips), reversedBatch(labels)];
      const floor = runDifference(eagerStep(clips, labels), eagerStep(reversedClips, reversedLabels));
      const eager = eagerStep(clips, labels);
      state().forEach((v, i) => v.assign(saved[i]!));
      tf.dispose(saved);
      const graphLoss = trainStep(model, optimizer, loss, clips, labels, graph);
      const replayed = { losses: [graphLoss], weights: state().map((v) => Float32Array.from(v.dataSync() as Float32Array)) };
      expect(runDifference(replayed, eager), `step ${step} (noise floor ${floor})`).toBeLessThanOrEqual(noiseBound(floor));
      tf.dispose([clips, labels, reversedClips, reversedLabels]);
    }
    expect(graph.state()).toEqual({ mode: 'graph', nodes: expect.any(Number) });
    graph.dispose();
    optimizer.dispose();
    loss.dispose();
    model.parameters.dispose();
  });

  it("max pooling inside the graph (oneDNN's kernels there) gives the eager values and gradients, ties to one position included", () => {
    for (const [kernel, stride, padding] of [
      [2, 2, 0],
      [3, 2, 1],
    ] as const) {
      // Half the rows zero, as after a ReLU: every window there is a tie.
      const x = tf.tidy(() => tf.mul(tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 31), tf.tensor4d([1, 1, 0, 0, 1, 1, 0, 0], [1, 8, 1, 1]))) as tf.Tensor4D;
      const dy = tf.randomNormal([2, ...maxPool2d(x, kernel, stride, padding).shape.slice(1)], 0, 1, 'float32', 32);
      const body = () => {
        const f = (a: tf.Tensor) => maxPool2d(a as tf.Tensor4D, kernel, stride, padding);
        return [f(x), tf.grad(f)(x, dy)];
      };
      // Overlapping windows add up to 4 gradients: another order may round their last bits only.
      expectGraphLikeEager([x, dy], body, 4);
      tf.dispose([x, dy]);
    }
  });

  it("3D max pooling on TensorFlow's ops (no egtea kernels) inside the graph gives the eager values and gradients, ties to one position included", () => {
    const before = kernelsEnabled();
    setKernelsEnabled(false);
    try {
      // Half the rows zero (exact ties) and every value up 0, 5e-6 or 1e-5 (ties within 1e-5).
      const x = tf.tidy(() =>
        tf.add(
          tf.mul(tf.randomNormal([2, 5, 8, 8, 3], 0, 1, 'float32', 33), tf.tensor5d([1, 1, 0, 0, 1, 1, 0, 0], [1, 1, 8, 1, 1])),
          tf.mul(tf.floor(tf.randomUniform([2, 5, 8, 8, 3], 0, 3, 'float32', 34)), 5e-6),
        ),
      ) as tf.Tensor5D;
      const dy = tf.randomNormal([2, 3, 4, 4, 3], 0, 1, 'float32', 35);
      const f = (a: tf.Tensor) => maxPool3d(a as tf.Tensor5D, 3, 2, 1);
      const body = () => [f(x), tf.grad(f)(x, dy)];
      // Overlapping windows add up to 8 gradients: another order may round their last bits only.
      expectGraphLikeEager([x, dy], body, 3);
      tf.dispose([x, dy]);
    } finally {
      setKernelsEnabled(before);
    }
  });

  it('infers the type and list attributes eager execution leaves out (ExpandDims, AddN, ConcatV2)', () => {
    const v = tf.variable(tf.tensor1d([1, 2, 3]));
    const x = tf.tensor1d([0.5, -1, 2]);
    const graph = new GraphStep();
    const body = () => {
      const stacked = tf.concat([tf.expandDims(v, 0), tf.expandDims(x, 0)], 0);
      v.assign(tf.addN([v, x, tf.sum(stacked, 0)]));
      // An input handed straight back still comes out of the graph (through an Identity).
      return [tf.max(stacked), x];
    };
    // The same arithmetic in JavaScript: max over v and x, then v <- 2 (v + x).
    let expectedV = [1, 2, 3];
    const xs = [0.5, -1, 2];
    for (let i = 0; i < 4; i++) {
      const [m, same] = graph.run([v, x], body);
      expect(m!.dataSync()[0]).toBeCloseTo(Math.max(...expectedV, ...xs), 5);
      expect(Array.from(same!.dataSync())).toEqual(xs);
      m!.dispose();
      if (same !== x) same!.dispose();
      expectedV = expectedV.map((e, j) => 2 * (e + xs[j]!));
    }
    expect(graph.state().mode).toBe('graph');
    Array.from(v.dataSync()).forEach((value, j) => expect(value).toBeCloseTo(expectedV[j]!, 4));
    tf.dispose([v, x]);
    graph.dispose();
  });

  it('stays eager, with the reason, when the step reads a tensor it was not given', () => {
    const v = tf.variable(tf.ones([2]));
    const hidden = tf.tensor1d([2, 3]);
    const reasons: string[] = [];
    const graph = new GraphStep({ onEager: (r) => reasons.push(r) });
    for (let i = 0; i < 3; i++)
      graph.run([v], () => {
        v.assign(tf.mul(v, hidden));
        return [];
      });
    expect(graph.state().mode).toBe('eager');
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(/not among its inputs/);
    expect(Array.from(v.dataSync())).toEqual([8, 27]);
    tf.dispose([v, hidden]);
  });

  it('stays eager when the step reads values into JavaScript', () => {
    const v = tf.variable(tf.tensor1d([1, -2]));
    const graph = new GraphStep();
    for (let i = 0; i < 3; i++) {
      graph.run([v], () => {
        const positive = tf.relu(v);
        const total = Array.from(positive.dataSync()).reduce((a: number, b: number) => a + b, 0);
        v.assign(tf.add(v, total));
        positive.dispose();
        return [];
      });
    }
    expect(graph.state()).toMatchObject({ mode: 'eager', reason: expect.stringMatching(/into JavaScript/) });
    // 1,-2 -> 2,-1 -> 4,1 -> 9,6: every call computed from the live values.
    expect(Array.from(v.dataSync())).toEqual([9, 6]);
    v.dispose();
  });

  it('stays eager when a JavaScript value it bakes in changes every call (a random draw, say)', () => {
    const v = tf.variable(tf.zeros([1]));
    const graph = new GraphStep({ maxDisagreements: 3 });
    for (let call = 1; call <= 6; call++)
      graph.run([v], () => {
        v.assign(tf.add(v, tf.scalar(call)));
        return [];
      });
    expect(graph.state()).toMatchObject({ mode: 'eager', reason: expect.stringMatching(/changed/) });
    expect(v.dataSync()[0]).toBe(21);
    v.dispose();
  });
});

describe('ProtobufWriter', () => {
  it('writes varints, negative int64 as ten bytes, and nested messages with their length', () => {
    expect(Array.from(new ProtobufWriter().int(1, 300).finish())).toEqual([0x08, 0xac, 0x02]);
    const minusOne = new ProtobufWriter().int(1, -1).finish();
    expect(Array.from(minusOne)).toEqual([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect(Array.from(new ProtobufWriter().message(2, (m) => m.string(1, 'ab')).finish())).toEqual([0x12, 0x04, 0x0a, 0x02, 0x61, 0x62]);
  });
});
