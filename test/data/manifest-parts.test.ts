import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { manifestPartFile, manifestParts, readManifest, type ManifestRecord } from '../../src/data/manifest.js';
import { inShard, parseShard, shardOfClip } from '../../src/video/shard.js';
import { temporaryFolder } from '../helpers.js';

const done = (clip: string, frames: number, at: string): ManifestRecord => ({
  clip,
  session: 'S',
  status: 'done',
  frames,
  source: null,
  annotation: 'train_split1.txt:1',
  at,
});
const lines = (...records: ManifestRecord[]) => records.map((r) => `${JSON.stringify(r)}\n`).join('');

describe('--shard K/N', () => {
  it('reads K/N with K from 1 to N', () => {
    expect(parseShard('1/4')).toEqual({ index: 1, count: 4 });
    expect(parseShard(' 4 / 4 ')).toEqual({ index: 4, count: 4 });
    expect(parseShard('1/1')).toEqual({ index: 1, count: 1 });
  });

  it('refuses anything else with one message naming the option and the fix', () => {
    expect(() => parseShard('3/2')).toThrow(/^--shard 3\/2: K must run from 1 to N \(2\); the parts are --shard 1\/2 \.\.\. --shard 2\/2$/);
    expect(() => parseShard('0/2')).toThrow(/^--shard 0\/2: K must run from 1 to N/);
    expect(() => parseShard('1/0')).toThrow(/^--shard 1\/0: N \(the number of parts\) must be at least 1$/);
    expect(() => parseShard('1/99999999999999999999')).toThrow(
      /^--shard 1\/99999999999999999999: N \(the number of parts\) is too large; at most 9007199254740991$/,
    );
    for (const bad of ['x', '1', '1/2/3', '-1/2', '1.5/2', '']) expect(() => parseShard(bad), bad).toThrow(/: expected K\/N, this machine's part K of N parts/);
  });

  it('puts every clip in exactly one part, in parts of about equal size', () => {
    const clips = Array.from({ length: 1200 }, (_, i) => `P${String(i % 40).padStart(2, '0')}-R01-Recipe-${1000 * i}-${1000 * i + 900}-F${i}`);
    for (const count of [3, 8]) {
      const sizes = new Array<number>(count).fill(0);
      const wrong: string[] = [];
      for (const clip of clips) {
        const owner = shardOfClip(clip, count);
        // In one part from 1 to N, in its own part and not in the next one.
        if (!(Number.isInteger(owner) && owner >= 1 && owner <= count)) wrong.push(`${clip}: part ${owner}`);
        else if (!inShard(clip, { index: owner, count }) || inShard(clip, { index: (owner % count) + 1, count }))
          wrong.push(`${clip}: not only in part ${owner}`);
        else sizes[owner - 1] = sizes[owner - 1]! + 1;
      }
      expect(wrong).toEqual([]);
      // Binomial spread: 5 standard deviations around the even share.
      const share = clips.length / count;
      const spread = 5 * Math.sqrt(share * (1 - 1 / count));
      for (const size of sizes) expect(Math.abs(size - share), `${count} parts: ${sizes.join(', ')}`).toBeLessThan(spread);
    }
    // Without a split every clip is in.
    expect(clips.every((clip) => inShard(clip, null))).toBe(true);
  });
});

describe('a manifest in parts', () => {
  it('is read as one manifest: the main file and every part, the newest record of a clip winning across files', async () => {
    const dir = temporaryFolder('egtea-manifest-parts-');
    const main = path.join(dir, 'manifest.jsonl');
    fs.writeFileSync(main, lines(done('a', 3, '2026-01-01T00:00:00.000Z'), done('b', 4, '2026-01-01T00:00:00.000Z')));
    fs.writeFileSync(manifestPartFile(main, { index: 1, count: 2 }), lines(done('c', 5, '2026-01-02T00:00:00.000Z'), done('a', 6, '2026-01-02T00:00:00.000Z')));
    // An older record in a part (an earlier split) does not hide the newer one in the main file; a cut line is ignored.
    fs.writeFileSync(
      manifestPartFile(main, { index: 2, count: 3 }),
      `${lines(done('b', 9, '2025-12-31T00:00:00.000Z'), done('d', 2, '2026-01-02T00:00:00.000Z'))}{"clip":"e","sess`,
    );
    // Not parts: another manifest's part, and a name that only starts the same way.
    fs.writeFileSync(path.join(dir, 'other.shard-1-of-2.jsonl'), lines(done('x', 1, '2026-01-03T00:00:00.000Z')));
    fs.writeFileSync(path.join(dir, 'manifest.shard-1-of-2.jsonl.bak'), lines(done('y', 1, '2026-01-03T00:00:00.000Z')));

    expect((await manifestParts(main)).map((file) => path.basename(file))).toEqual(['manifest.shard-1-of-2.jsonl', 'manifest.shard-2-of-3.jsonl']);
    const records = await readManifest(main);
    expect(Object.fromEntries([...records].map(([clip, record]) => [clip, record.frames]))).toEqual({ a: 6, b: 4, c: 5, d: 2 });
  });

  it('reads the parts alone when no run wrote the main file, and nothing from a missing folder', async () => {
    const dir = temporaryFolder('egtea-manifest-parts-');
    const main = path.join(dir, 'manifest.jsonl');
    fs.writeFileSync(manifestPartFile(main, { index: 2, count: 2 }), lines(done('a', 3, '2026-01-01T00:00:00.000Z')));
    expect([...(await readManifest(main)).keys()]).toEqual(['a']);
    expect((await readManifest(path.join(dir, 'absent', 'manifest.jsonl'))).size).toBe(0);
  });
});
