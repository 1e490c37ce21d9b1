import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { GraphStep } from '../../src/engine/graph/graph-step.js';
import { traceStep, UntraceableStepError } from '../../src/engine/graph/step-trace.js';
import { kernelOpsAvailable, shapeInference } from '../../src/engine/kernel-ops.js';
import { kernelsEnabled } from '../../src/engine/kernels.js';
import { nativeBackend } from '../../src/engine/native-backend.js';
import { createLoss } from '../../src/losses/registry.js';
import { applyBatchNormUpdates, trainingContext } from '../../src/models/context.js';
import { LeNet5 } from '../../src/models/lenet5.js';
import { createModel } from '../../src/models/presets.js';
import { Sgd } from '../../src/train/sgd.js';
import { noiseBound, reversedBatch } from '../noise-floor.js';

const backend = nativeBackend();
const lean = backend !== null && typeof backend.binding.addFunction === 'function' && shapeInference() !== null;

/** Largest difference relative to the larger of 1 and the reference's largest magnitude. */
function relativeError(actual: tf.Tensor, expected: tf.Tensor): number {
  const a = actual.dataSync();
  const e = expected.dataSync();
  let worst = 0;
  let scale = 1;
  e.forEach((v, i) => {
    worst = Math.max(worst, Math.abs(a[i]! - v));
    scale = Math.max(scale, Math.abs(v));
  });
  return worst / scale;
}

describe.skipIf(!lean)('recording a step from shapes alone (step-trace.ts)', () => {
  it.skipIf(!kernelsEnabled())(
    "records a 3D-ResNeXt step with egtea's ops without running it; its graph gives the eager step's loss, gradients and statistics",
    () => {
      expect(kernelOpsAvailable()).toBe(true);
      const model = createModel({ arch: 'resnext3d-tiny', numClasses: 3, frames: 4, size: 32, seed: 3 });
      const loss = createLoss('ce', { numClasses: 3 });
      const clips = tf.randomNormal([2, 4, 32, 32, 3], 0, 1, 'float32', 11) as tf.Tensor5D;
      const labels = tf.tensor1d([2, 0], 'int32');
      const variables = model.parameters.trainableVariables();
      const all = model.parameters.list().map((p) => p.variable);
      const bodyOn = (c: tf.Tensor5D, l: tf.Tensor1D) => (): tf.Tensor[] => {
        const context = trainingContext();
        const { value, grads } = tf.variableGrads(() => loss(l, model.forward(c, context)), variables);
        applyBatchNormUpdates(context);
        return [value, ...variables.map((v) => grads[v.name]!)];
      };
      const body = bodyOn(clips, labels);
      const inputs = [clips, labels, ...all];
      const beforeValues = all.map((v) => tf.clone(v));
      const tensors = tf.memory().numTensors;

      const { trace, results, ran } = traceStep(backend!, inputs, body);
      if (trace instanceof UntraceableStepError) throw trace;
      expect(ran).toBe(false);
      expect(results).toBeNull();
      expect(tf.memory().numTensors).toBe(tensors);
      // The running statistics are reassigned by the step, yet hold their values from before it.
      expect(trace.reassigned.length).toBeGreaterThan(0);
      all.forEach((v, i) => expect(relativeError(v, beforeValues[i]!)).toBe(0));
      expect(trace.nodes.some((n) => n.op === 'EgteaGroupedConv3D')).toBe(true);

      const graph = new GraphStep();
      const replayed = graph.run(inputs, body);
      const replayedState = all.map((v) => tf.clone(v));
      all.forEach((v, i) => v.assign(beforeValues[i]!));
      const eager = body();
      const eagerState = all.map((v) => tf.clone(v));
      // The noise floor: the same eager step on the batch in reverse order.
      all.forEach((v, i) => v.assign(beforeValues[i]!));
      const [reversedClips, reversedLabels] = [reversedBatch(clips), reversedBatch(labels)];
      const reordered = bodyOn(reversedClips, reversedLabels)();
      const floor = Math.max(...reordered.map((t, i) => relativeError(t, eager[i]!)), ...all.map((v, i) => relativeError(v, eagerState[i]!)));
      all.forEach((v, i) => v.assign(eagerState[i]!));
      expect(replayed).toHaveLength(eager.length);
      replayed.forEach((t, i) => expect(relativeError(t, eager[i]!), `output ${i} (noise floor ${floor})`).toBeLessThanOrEqual(noiseBound(floor)));
      all.forEach((v, i) =>
        expect(relativeError(replayedState[i]!, v), `${model.parameters.list()[i]!.name} (noise floor ${floor})`).toBeLessThanOrEqual(noiseBound(floor)),
      );
      // Without the updates (the running statistics), the check above would compare nothing new.
      expect(all.some((v, i) => relativeError(v, beforeValues[i]!) > 0)).toBe(true);

      graph.dispose();
      tf.dispose([...replayed, ...eager, ...reordered, ...eagerState, ...replayedState, ...beforeValues, clips, labels, reversedClips, reversedLabels]);
      loss.dispose();
      model.parameters.dispose();
    },
  );

  it('records from shapes alone exactly the graph a recording that runs every op makes (LeNet-5 step with SGD momentum)', () => {
    const model = new LeNet5(10, 1);
    const loss = createLoss('ce', { numClasses: 10 });
    const optimizer = new Sgd(model.parameters.trainable(), { learningRate: 0.01, momentum: 0.9, weightDecay: 5e-4 });
    optimizer.restore(new Map(model.parameters.trainable().map((p) => [p.name, tf.zerosLike(p.variable)])), 'test');
    const clips = tf.randomNormal([8, 1, 28, 28, 1], 0, 1, 'float32', 3) as tf.Tensor5D;
    const labels = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32');
    const variables = model.parameters.trainableVariables();
    const inputs = [clips, labels, ...model.parameters.list().map((p) => p.variable), ...optimizer.graphInputs()];
    const body = (): tf.Tensor[] => {
      const { value, grads } = tf.variableGrads(() => loss(labels, model.forward(clips, trainingContext())), variables);
      optimizer.applyGradients(grads);
      return [value];
    };
    const lean = traceStep(backend!, inputs, body);
    const running = traceStep(backend!, inputs, body, { run: true });
    if (lean.trace instanceof UntraceableStepError) throw lean.trace;
    if (running.trace instanceof UntraceableStepError) throw running.trace;
    expect([lean.ran, running.ran]).toEqual([false, true]);
    expect(lean.trace.reassigned.length).toBeGreaterThan(0);
    expect(lean.trace.key).toBe(running.trace.key);
    tf.dispose([clips, labels]);
    optimizer.dispose();
    loss.dispose();
    model.parameters.dispose();
  });

  it('runs from where a shape cannot be inferred (Unique) and still records the step, whose graph gives the eager values', () => {
    const v = tf.variable(tf.tensor1d([1, -2, 3, 0.5]));
    const ids = tf.tensor1d([4, 1, 4, 7, 1], 'int32');
    const body = (): tf.Tensor[] => {
      const doubled = tf.mul(v, 2);
      const distinct = tf.unique(ids).values;
      const result = tf.add(tf.sum(doubled), tf.cast(tf.sum(distinct), 'float32'));
      v.assign(tf.add(v, doubled));
      return [result];
    };
    const { trace, results, ran } = traceStep(backend!, [v, ids], body);
    if (trace instanceof UntraceableStepError) throw trace;
    expect(ran).toBe(true);
    expect(results).toBeNull();
    expect(Array.from(v.dataSync())).toEqual([1, -2, 3, 0.5]);
    const graph = new GraphStep();
    const [replayed] = graph.run([v, ids], body);
    // sum(2v) = 5, distinct ids 4 + 1 + 7 = 12; v becomes 3v.
    expect(replayed!.dataSync()[0]).toBeCloseTo(17, 5);
    expect(Array.from(v.dataSync())).toEqual([3, -6, 9, 1.5]);
    graph.dispose();
    tf.dispose([replayed!, v, ids]);
  });

  it('a step that reads a value into JavaScript is not recorded, and its eager results and updates stand', () => {
    const v = tf.variable(tf.tensor1d([2, 4]));
    const body = (): tf.Tensor[] => {
      const halved = tf.div(v, 2);
      const first = halved.dataSync()[0]!;
      v.assign(tf.add(v, first));
      return [tf.mul(halved, first)];
    };
    const { trace, results, ran } = traceStep(backend!, [v], body);
    expect(trace).toBeInstanceOf(UntraceableStepError);
    expect((trace as Error).message).toMatch(/reads tensor values into JavaScript/);
    expect(ran).toBe(true);
    expect(Array.from(results![0]!.dataSync())).toEqual([1, 2]);
    expect(Array.from(v.dataSync())).toEqual([3, 5]);
    tf.dispose([...results!, v]);
  });

  it('a tensor the step keeps beyond itself gets its value from the recorded graph', () => {
    const v = tf.variable(tf.tensor1d([1, 2, 3]));
    let kept: tf.Tensor | null = null;
    const body = (): tf.Tensor[] => {
      kept = tf.keep(tf.square(v));
      return [tf.sum(v)];
    };
    const { trace, ran } = traceStep(backend!, [v], body);
    if (trace instanceof UntraceableStepError) throw trace;
    expect(ran).toBe(false);
    expect(Array.from(kept!.dataSync())).toEqual([1, 4, 9]);
    tf.dispose([kept!, v]);
  });
});
