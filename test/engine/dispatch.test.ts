import { describe, expect, it } from 'vitest';
import { activeEngine } from '../../src/engine/backend.js';
import { bindingDevice, chooseImplementations, collectiveCommunication, currentImplementations } from '../../src/engine/dispatch.js';
import { kernelOpsAvailable } from '../../src/engine/kernel-ops.js';
import { kernelsAvailable } from '../../src/engine/kernels.js';

describe('dispatch: one implementation per op, chosen by the device', () => {
  it("on a GPU chooses TensorFlow's ops only, never an egtea CPU kernel, and runs steps as functions", () => {
    const gpu = chooseImplementations({ device: 'gpu', kernels: true, kernelOps: true, functions: true });
    expect(gpu).toEqual({
      groupedConv3d: 'tensorflow-conv3d',
      batchNorm: 'tensorflow-fused-batch-norm',
      maxPool3d: 'tensorflow-max-pool3d',
      // Decoding JPEG files happens on the host whatever the device; the clip is uploaded after.
      clipDecode: 'egtea-kernel',
      graphSteps: true,
    });
    const ops = [gpu.groupedConv3d, gpu.batchNorm, gpu.maxPool3d];
    expect(ops.filter((choice) => choice === 'egtea-kernel')).toEqual([]);
    // Data-parallel training's all-reduce asks for NCCL between GPUs, TensorFlow's default elsewhere.
    expect([collectiveCommunication('gpu'), collectiveCommunication('cpu'), collectiveCommunication(null)]).toEqual(['nccl', 'auto', 'auto']);
  });

  it("on a CPU chooses egtea's kernels when built, TensorFlow's ops otherwise", () => {
    expect(chooseImplementations({ device: 'cpu', kernels: true, kernelOps: true, functions: true })).toEqual({
      groupedConv3d: 'egtea-kernel',
      batchNorm: 'egtea-kernel',
      maxPool3d: 'egtea-kernel',
      clipDecode: 'egtea-kernel',
      graphSteps: true,
    });
    // A step being recorded sets the JavaScript route of egtea's kernels aside; as TensorFlow ops they stay.
    expect(chooseImplementations({ device: 'cpu', kernels: false, kernelOps: true, functions: true })).toMatchObject({
      groupedConv3d: 'egtea-kernel',
      batchNorm: 'egtea-kernel',
      maxPool3d: 'egtea-kernel',
    });
    // Without either, TensorFlow's ops.
    expect(chooseImplementations({ device: 'cpu', kernels: false, kernelOps: false, functions: true })).toEqual({
      groupedConv3d: 'tensorflow-split-per-group',
      batchNorm: 'tensorflow-fused-batch-norm',
      maxPool3d: 'tensorflow-max-pool3d',
      clipDecode: 'javascript',
      graphSteps: true,
    });
  });

  it('runs steps op by op without the native backend or without the binding patch', () => {
    expect(chooseImplementations({ device: null, kernels: true, kernelOps: false, functions: false })).toMatchObject({
      batchNorm: 'egtea-kernel',
      graphSteps: false,
    });
    expect(chooseImplementations({ device: null, kernels: false, kernelOps: false, functions: false }).batchNorm).toBe('tfjs-composite');
    expect(chooseImplementations({ device: 'gpu', kernels: false, kernelOps: false, functions: false }).graphSteps).toBe(false);
  });

  it('takes the device from the binding, and the engine reports the same', () => {
    const device = bindingDevice();
    if (activeEngine()?.backend !== 'tensorflow') {
      expect(device).toBeNull();
      return;
    }
    expect(['cpu', 'gpu']).toContain(device);
    expect(activeEngine()?.device).toBe(device);
    expect(currentImplementations()).toEqual(chooseImplementations({ device, kernels: kernelsAvailable(), kernelOps: kernelOpsAvailable(), functions: true }));
  });
});
