import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { LeNet5 } from '../../src/models/lenet5.js';

function values(model: LeNet5, name: string): Float32Array {
  return model.parameters.get(name).variable.dataSync() as Float32Array;
}

function std(v: Float32Array): number {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  return Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length);
}

describe('LeNet-5 initializers', () => {
  it('he-normal: weights with std sqrt(2 / fan in), zero biases, from the seed', () => {
    const model = new LeNet5(2, 5, 3, 28, 'he-normal');
    // conv2: 6 * 5 * 5 = 150 inputs, 2400 weights; fc1: 256 inputs, 30720 weights.
    expect(std(values(model, 'conv2.weight')) / Math.sqrt(2 / 150)).toBeGreaterThan(0.93);
    expect(std(values(model, 'conv2.weight')) / Math.sqrt(2 / 150)).toBeLessThan(1.07);
    expect(std(values(model, 'fc1.weight')) / Math.sqrt(2 / 256)).toBeGreaterThan(0.98);
    expect(std(values(model, 'fc1.weight')) / Math.sqrt(2 / 256)).toBeLessThan(1.02);
    for (const bias of ['conv1.bias', 'conv2.bias', 'fc1.bias', 'fc2.bias', 'fc3.bias'])
      expect(Array.from(values(model, bias)).every((b) => b === 0)).toBe(true);
    const again = new LeNet5(2, 5, 3, 28, 'he-normal');
    const other = new LeNet5(2, 6, 3, 28, 'he-normal');
    expect(values(again, 'fc2.weight')).toEqual(values(model, 'fc2.weight'));
    expect(values(other, 'fc2.weight')).not.toEqual(values(model, 'fc2.weight'));
    for (const m of [model, again, other]) m.parameters.dispose();
  });

  it("l2rw: truncated normal with std 0.1 (nothing beyond 0.2), zero biases; torch-default keeps PyTorch's uniform bounds", () => {
    const before = tf.memory().numTensors;
    const l2rw = new LeNet5(2, 5, 3, 28, 'l2rw');
    const fc1 = values(l2rw, 'fc1.weight');
    expect(Math.max(...Array.from(fc1, Math.abs))).toBeLessThanOrEqual(0.2);
    // A normal cut at two deviations keeps 0.880 of its deviation.
    expect(std(fc1)).toBeGreaterThan(0.086);
    expect(std(fc1)).toBeLessThan(0.09);
    expect(Array.from(values(l2rw, 'fc3.bias'))).toEqual([0, 0]);
    const torch = new LeNet5(2, 5, 3, 28);
    const bound = 1 / Math.sqrt(256);
    const w = values(torch, 'fc1.weight');
    expect(Math.max(...Array.from(w, Math.abs))).toBeLessThanOrEqual(bound);
    expect(std(w)).toBeCloseTo(bound / Math.sqrt(3), 3);
    expect(Array.from(values(torch, 'fc1.bias')).some((b) => b !== 0)).toBe(true);
    l2rw.parameters.dispose();
    torch.parameters.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
