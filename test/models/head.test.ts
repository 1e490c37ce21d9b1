import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { validatePipeline } from '../../src/config/pipeline.js';
import { inferenceContext, trainingContext } from '../../src/models/context.js';
import { LeNet5 } from '../../src/models/lenet5.js';
import { createModel } from '../../src/models/presets.js';
import synth from '../../pipelines/synth.js';
import { FLOAT32_EPSILON, noiseBound } from '../noise-floor.js';

const CLASSES = 3;
const clips = () => tf.randomNormal([5, 1, 28, 28, 3], 0, 1, 'float32', 11) as tf.Tensor5D;

/** Rows of a [rows, columns] array scaled to unit length, in float64. */
function unitRows(values: Float32Array, rows: number, columns: number): Float64Array {
  const out = new Float64Array(rows * columns);
  for (let r = 0; r < rows; r++) {
    let squares = 0;
    for (let c = 0; c < columns; c++) squares += values[r * columns + c]! ** 2;
    const norm = Math.max(Math.sqrt(squares), 1e-12);
    for (let c = 0; c < columns; c++) out[r * columns + c] = values[r * columns + c]! / norm;
  }
  return out;
}

describe('the cosine head (Cao et al.: unit features times unit weight columns, no bias)', () => {
  it("gives each logit as the cosine between the features and the class's weight column, in [-1, 1]", () => {
    const cosine = new LeNet5(CLASSES, 4, 3, 28, 'he-normal', 'cosine');
    expect(cosine.parameters.list().map((p) => p.name)).not.toContain('fc3.bias');
    // The features: the same seeds give the same layers up to fc2; an identity fc3 of 84 outputs passes them out.
    const features = new LeNet5(84, 4, 3, 28, 'he-normal');
    features.parameters.get('fc3.weight').variable.assign(tf.eye(84));
    features.parameters.get('fc3.bias').variable.assign(tf.zeros([84]));
    const x = clips();
    const h = tf.tidy(() => features.forward(x, inferenceContext())).dataSync() as Float32Array;
    const weight = cosine.parameters.get('fc3.weight').variable;
    const columns = unitRows(tf.tidy(() => tf.transpose(weight)).dataSync() as Float32Array, CLASSES, 84);
    const rows = unitRows(h, 5, 84);
    const logits = tf.tidy(() => cosine.forward(x, trainingContext())).dataSync();
    // A dot product of 84 unit-scale float32 terms: its rounding is a few float32 steps per term.
    const bound = noiseBound(84 * FLOAT32_EPSILON);
    for (let n = 0; n < 5; n++) {
      for (let c = 0; c < CLASSES; c++) {
        let expected = 0;
        for (let k = 0; k < 84; k++) expected += rows[n * 84 + k]! * columns[c * 84 + k]!;
        expect(Math.abs(logits[n * CLASSES + c]! - expected), `clip ${n}, class ${c}`).toBeLessThan(bound);
        expect(Math.abs(logits[n * CLASSES + c]!)).toBeLessThanOrEqual(1 + bound);
      }
    }
    // The weight's scale is not the model's: a column 7 times longer gives the same logits.
    const before = Float32Array.from(logits);
    weight.assign(tf.tidy(() => tf.mul(weight, 7)));
    const after = tf.tidy(() => cosine.forward(x, inferenceContext())).dataSync();
    for (let i = 0; i < before.length; i++) expect(Math.abs(after[i]! - before[i]!)).toBeLessThan(bound);
    x.dispose();
    cosine.parameters.dispose();
    features.parameters.dispose();
  });

  it('trains: every parameter, the head included, gets a finite gradient', () => {
    const model = createModel({ arch: 'resnet32', numClasses: CLASSES, size: 28, channels: 3, head: 'cosine' });
    const labels = tf.tensor1d([0, 1, 2, 0, 1], 'int32');
    const x = clips();
    const { value, grads } = tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy(tf.oneHot(labels, CLASSES), model.forward(x, trainingContext())) as tf.Scalar,
      model.parameters.trainableVariables(),
    );
    expect(Object.keys(grads)).toHaveLength(model.parameters.trainableVariables().length);
    for (const grad of Object.values(grads)) expect(Array.from(grad.dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose([labels, x, value, ...Object.values(grads)]);
    model.parameters.dispose();
  });

  it('is refused, naming the key, for a model that does not have it', () => {
    const p = { ...synth, model: { ...synth.model, head: 'cosine' as const } };
    expect(() => validatePipeline(p, 'pipeline synth')).toThrow(
      /pipeline synth: model.head 'cosine' is implemented for lenet5, resnet32, resnet10 only; leave head out for resnext3d-tiny/,
    );
    expect(() => validatePipeline({ ...synth, model: { ...synth.model, head: 'round' as never } }, 'pipeline synth')).toThrow(/model.head/);
  });
});
