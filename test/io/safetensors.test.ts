import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { encodeSafetensors, parseSafetensors, type StoredTensor } from '../../src/io/safetensors.js';
import { Parameters } from '../../src/models/parameters.js';
import { importTorchStateDict } from '../../src/models/torch-weights.js';

function file(header: unknown, data = Buffer.alloc(0)): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([size, json, data]);
}

describe('safetensors', () => {
  it('round-trips float32 and int32 tensors', () => {
    const tensors = new Map<string, StoredTensor>([
      ['a', { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6.5]) }],
      ['b', { shape: [], data: Int32Array.from([7]) }],
    ]);
    const parsed = parseSafetensors(encodeSafetensors(tensors, { source: 'test' }), 'x.safetensors');
    expect(parsed.get('a')).toEqual(tensors.get('a'));
    expect(parsed.get('b')).toEqual(tensors.get('b'));
  });

  it('reads float16 and bfloat16', () => {
    const data = Buffer.alloc(4);
    data.writeUInt16LE(0x3c00, 0); // 1.0 in half precision
    data.writeUInt16LE(0x4040, 2); // 3.0 in bfloat16
    const parsed = parseSafetensors(
      file({ h: { dtype: 'F16', shape: [1], data_offsets: [0, 2] }, b: { dtype: 'BF16', shape: [1], data_offsets: [2, 4] } }, data),
      'x',
    );
    expect(parsed.get('h')!.data[0]).toBe(1);
    expect(parsed.get('b')!.data[0]).toBe(3);
  });

  it.each([
    ['a file shorter than its size field', Buffer.alloc(3), /not a safetensors file \(3 bytes/],
    ['a header larger than the file', (() => { const b = Buffer.alloc(16); b.writeBigUInt64LE(1000n); return b; })(), /header size 1000 does not fit/],
    ['a header that is not JSON', (() => { const b = Buffer.alloc(12); b.writeBigUInt64LE(4n); b.write('{{{{', 8); return b; })(), /header is not valid JSON/],
    ['an unknown dtype', file({ w: { dtype: 'Q8', shape: [1], data_offsets: [0, 1] } }, Buffer.alloc(1)), /tensor 'w': unsupported dtype "Q8"/],
    ['offsets outside the data', file({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, Buffer.alloc(4)), /tensor 'w': data_offsets \[0, 8\] lie outside the 4 data bytes/],
    ['a size that does not match the shape', file({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, Buffer.alloc(8)), /tensor 'w': 8 bytes stored for shape \[3\] of F32 \(expected 12\)/],
    ['a shape that is not a list of sizes', file({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }), /tensor 'w': shape \[-1\] is not a list of sizes/],
  ])('refuses %s, naming the file', (_, buffer, message) => {
    expect(() => parseSafetensors(buffer, 'model.safetensors')).toThrow(message);
    expect(() => parseSafetensors(buffer, 'model.safetensors')).toThrow(/^model\.safetensors: /);
  });

  it('refuses a state dict with a missing tensor or a wrong shape, naming the tensor, and changes nothing', () => {
    const params = new Parameters(0);
    const weight = params.add('fc.weight', tf.zeros([4, 2]), 'linear');
    params.add('fc.bias', tf.zeros([2]), 'vector');
    const good = new Map<string, StoredTensor>([['fc.weight', { shape: [2, 4], data: new Float32Array(8).fill(1) }]]);
    expect(() => importTorchStateDict(params, good, 'w.safetensors')).toThrow("w.safetensors: missing tensor 'fc.bias'");
    good.set('fc.bias', { shape: [3], data: new Float32Array(3) });
    expect(() => importTorchStateDict(params, good, 'w.safetensors')).toThrow("w.safetensors: tensor 'fc.bias' has shape [3]; the model needs [2]");
    expect(Array.from(weight.dataSync())).toEqual(new Array(8).fill(0));
    // A different class count is allowed in the head when asked: it keeps its initialisation.
    const report = importTorchStateDict(params, good, 'w.safetensors', { headPrefix: 'fc', replaceHead: true });
    expect(report.replacedHead).toEqual(['fc.bias']);
    expect(Array.from(weight.dataSync())).toEqual(new Array(8).fill(1));
    params.dispose();
  });
});
