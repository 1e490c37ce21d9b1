import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { activeEngine, parseBackendChoice, selectBackend } from '../../src/engine/backend.js';
import { kernelsAvailable } from '../../src/engine/kernels.js';

describe('backend selection', () => {
  afterAll(async () => {
    await selectBackend();
  });

  it('runs the tests on native TensorFlow unless told otherwise (a silent pure-JS fallback would hide a broken install)', () => {
    const requested = process.env.EGTEA_BACKEND ?? 'auto';
    if (requested === 'cpu') return;
    expect(activeEngine()?.backend).toBe('tensorflow');
    expect(activeEngine()?.tensorflowVersion).toMatch(/^2\.\d+/);
  });

  it.skipIf(process.env.EGTEA_SKIP_KERNELS === '1' || process.env.EGTEA_KERNELS === '0')(
    "has egtea's kernels built unless skipped (EGTEA_SKIP_KERNELS=1) or turned off (EGTEA_KERNELS=0)",
    () => {
      expect(kernelsAvailable()).toBe(true);
    },
  );

  it('lists the choices for an unknown backend', () => {
    expect(() => parseBackendChoice('gpu')).toThrow(/unknown backend 'gpu'; choose one of: auto, tensorflow, cpu/);
  });

  it('switches to the pure-JS backend on request', async () => {
    const info = await selectBackend('cpu');
    expect(info.backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(tf.tidy(() => tf.add(1, 2).dataSync()[0])).toBe(3);
  });
});
