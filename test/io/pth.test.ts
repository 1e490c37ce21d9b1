import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { zipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePth, readPth } from '../../src/io/pth.js';
import { UserError } from '../../src/util/errors.js';
import { FIXTURES } from '../helpers.js';

// Written by PyTorch (test/fixtures/make_pth.py): shape, sum and first values of every tensor as torch reads them.
const EXPECTED = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'pth_expected.json'), 'utf8')) as Record<
  string,
  Record<string, { shape: number[]; sum: number; first: number[] }>
>;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'egtea-pth-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('PyTorch checkpoints (torch.save: zip format and the legacy one)', () => {
  for (const file of Object.keys(EXPECTED)) {
    it(`reads every tensor of ${file} as PyTorch does`, async () => {
      const tensors = await readPth(path.join(FIXTURES, file));
      expect([...tensors.keys()].sort()).toEqual(Object.keys(EXPECTED[file]!).sort());
      for (const [name, expected] of Object.entries(EXPECTED[file]!)) {
        const tensor = tensors.get(name)!;
        expect(tensor.shape, name).toEqual(expected.shape);
        const sum = Array.from(tensor.data).reduce((a, b) => a + b, 0);
        expect(Math.abs(sum - expected.sum), name).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(expected.sum)));
        expected.first.forEach((value, i) => expect(tensor.data[i], `${name}[${i}]`).toBeCloseTo(value, 6));
      }
    });
  }

  it('strips DataParallel\u2019s module. prefix and keeps integer tensors as integers', async () => {
    const tensors = await readPth(path.join(FIXTURES, 'pth_tiny_dp.pth'));
    expect([...tensors.keys()].some((k) => k.startsWith('module.'))).toBe(false);
    expect(tensors.get('bn1.num_batches_tracked')!.data).toBeInstanceOf(Int32Array);
    const views = await readPth(path.join(FIXTURES, 'pth_views.pth'));
    expect(Array.from(views.get('long')!.data)).toEqual([-5, 0, 7, 2 ** 31 - 1, -(2 ** 31), 1]);
    expect(Array.from(views.get('bool')!.data)).toEqual([1, 0, 1]);
  });

  it('refuses other files and damaged checkpoints with the file named', async () => {
    await expect(readPth(path.join(FIXTURES, 'pth_expected.json'))).rejects.toThrow(/pth_expected\.json: not a PyTorch checkpoint/);
    await expect(readPth(path.join(work, 'none.pth'))).rejects.toThrow(`${path.join(work, 'none.pth')}: no such file`);
    const good = fs.readFileSync(path.join(FIXTURES, 'pth_lenet5.pth'));
    expect(() => parsePth(good.subarray(0, good.length - 500), 'cut.pth')).toThrow(UserError);
    expect(() => parsePth(zipSync({ 'x/other.txt': new Uint8Array([1]) }), 'other.pth')).toThrow('other.pth: a zip archive without <name>/data.pkl');
    const legacy = fs.readFileSync(path.join(FIXTURES, 'pth_legacy.pth'));
    expect(() => parsePth(legacy.subarray(0, legacy.length - 100), 'cut-legacy.pth')).toThrow(/cut-legacy\.pth: legacy format: storage \d+ is cut off/);
    // A byte changed inside a tensor's storage: the archive is whole, its CRC-32 is not.
    const changed = Buffer.from(good);
    const member = changed.indexOf('data/0');
    expect(member).toBeGreaterThan(0);
    // The local header's name is followed by its extra field, then the stored bytes; change one well inside them.
    const nameEnd = member + 'data/0'.length;
    const extraLength = changed.readUInt16LE(changed.lastIndexOf(Buffer.from([0x50, 0x4b, 0x03, 0x04]), member) + 28);
    changed[nameEnd + extraLength + 7]! ^= 0x40;
    expect(() => parsePth(changed, 'flipped.pth')).toThrow(
      /^flipped\.pth: a damaged zip archive: the bytes of \S+\/data\/0 do not match the CRC-32 the archive records for them; download or copy the file again$/,
    );
    // A pickle cut in the middle names its byte.
    expect(() => parsePth(zipSync({ 'x/data.pkl': new Uint8Array([0x80, 0x02, 0x7d, 0x71]) }), 'short.pth')).toThrow(
      /short\.pth: x\/data\.pkl: truncated at byte 4/,
    );
  });
});
