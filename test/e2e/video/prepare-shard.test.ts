import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readAnnotations } from '../../../src/data/annotations.js';
import { loadFrameDataset } from '../../../src/data/frame-dataset.js';
import { clipFrameDir } from '../../../src/data/frame-layout.js';
import { manifestPartFile, readManifest } from '../../../src/data/manifest.js';
import { prepareFrames } from '../../../src/video/prepare.js';
import { shardOfClip } from '../../../src/video/shard.js';
import { egtea } from '../../support/run-cli.js';
import { killPrepareAfter } from '../../support/kill-prepare.js';
import { temporaryFolder } from '../../helpers.js';
import { SMALL_PREPARE_FRAMES, smallSyntheticDataset, type SmallDataset } from '../../synthetic-data.js';

let data: SmallDataset;
/** 12 training and 4 test clips of the small set: enough for three parts, quick to decode. */
let annotations = '';
/** 30 and 10: a part of 2 long enough to be killed part-way. */
let moreAnnotations = '';

/** The first `train` and `test` clips of the small set's annotations. */
function someAnnotations(train: number, test: number): string {
  const dir = path.join(temporaryFolder('egtea-shard-annotations-'), 'annotations');
  fs.cpSync(data.annotations, dir, { recursive: true });
  for (const [file, keep] of [
    ['train_split1.txt', train],
    ['test_split1.txt', test],
  ] as const) {
    const lines = fs.readFileSync(path.join(dir, file), 'utf8').split('\n').filter(Boolean);
    fs.writeFileSync(path.join(dir, file), `${lines.slice(0, keep).join('\n')}\n`);
  }
  return dir;
}

beforeAll(async () => {
  data = await smallSyntheticDataset();
  annotations = someAnnotations(12, 4);
  moreAnnotations = someAnnotations(30, 10);
});

const prepare = (out: string, shard: { index: number; count: number } | null) =>
  prepareFrames({ videos: data.videos, annotations, out, frames: SMALL_PREPARE_FRAMES, jobs: 2, progress: false, shard });

describe('egtea prepare --shard K/N', () => {
  it('splits the clips into disjoint parts that together are the whole set, each with its own manifest part that the loader reads as one', async () => {
    const set = await readAnnotations(annotations);
    const clips = [...new Set([...set.train, ...set.test].map((c) => c.clip))];
    const byClip = new Map([...set.train, ...set.test].map((c) => [c.clip, c]));
    const out = temporaryFolder('egtea-shard-');
    const manifest = path.join(out, 'manifest.jsonl');
    // Every part must hold a clip for this test to say anything.
    expect(new Set(clips.map((clip) => shardOfClip(clip, 3))).size).toBe(3);

    // Leftovers of a killed decode: part 1 may remove its own, never one another machine is writing now.
    const own = clips.find((clip) => shardOfClip(clip, 3) === 1)!;
    const other = clips.find((clip) => shardOfClip(clip, 3) === 2)!;
    const leftover = (clip: string) => path.join(path.dirname(clipFrameDir(out, byClip.get(clip)!)), `.tmp-${clip}-99999`);
    for (const clip of [own, other]) fs.mkdirSync(leftover(clip), { recursive: true });

    const first = await prepare(out, { index: 1, count: 3 });
    expect(fs.existsSync(leftover(own))).toBe(false);
    expect(fs.existsSync(leftover(other))).toBe(true);
    fs.rmSync(leftover(other), { recursive: true });
    expect(first.manifest).toBe(manifestPartFile(manifest, { index: 1, count: 3 }));
    expect(first.shard).toEqual({ index: 1, count: 3, clipsInAll: clips.length, doneInAll: first.clips });
    // Until every part is done the loader lists the other parts' clips as not prepared.
    const partial = await loadFrameDataset({ annotations, frames: out, label: 'verb', validationSubjects: 'P20-P26' });
    expect(partial.missing.map((m) => m.clip).sort()).toEqual(clips.filter((clip) => shardOfClip(clip, 3) !== 1).sort());

    // Two more machines at once, into the same folder.
    const rest = await Promise.all([prepare(out, { index: 2, count: 3 }), prepare(out, { index: 3, count: 3 })]);
    const summaries = [first, ...rest];
    expect(summaries.map((s) => s.failed)).toEqual([[], [], []]);
    expect(summaries.reduce((sum, s) => sum + s.clips, 0)).toBe(clips.length);
    expect(summaries.map((s) => s.done)).toEqual(summaries.map((s) => s.clips));
    // Each part recorded exactly its own clips; nobody wrote the main manifest.
    expect(fs.existsSync(manifest)).toBe(false);
    for (const index of [1, 2, 3]) {
      const part = fs
        .readFileSync(manifestPartFile(manifest, { index, count: 3 }), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { clip: string });
      expect(part.map((r) => r.clip).sort(), `part ${index}`).toEqual(clips.filter((clip) => shardOfClip(clip, 3) === index).sort());
    }
    const whole = await readManifest(manifest);
    expect([...whole.keys()].sort()).toEqual([...clips].sort());
    for (const record of whole.values()) expect(fs.readdirSync(path.join(out, record.session, record.clip)).length, record.clip).toBe(record.frames);
    expect(Math.max(...rest.map((s) => s.shard!.doneInAll))).toBe(clips.length);

    const loaded = await loadFrameDataset({ annotations, frames: out, label: 'verb', validationSubjects: 'P20-P26' });
    expect(loaded.missing).toEqual([]);
    expect(loaded.train.length + loaded.validation.length).toBe(set.train.length);
    // A run without --shard, or with another split, finds nothing left to do.
    expect(await prepare(out, null)).toMatchObject({ clips: clips.length, done: 0, skipped: clips.length });
    expect(await prepare(out, { index: 1, count: 2 })).toMatchObject({ done: 0, failed: [] });
  });

  it('resumes a killed part from its own manifest part, and the command refuses a bad --shard naming the option', async () => {
    const out = temporaryFolder('egtea-shard-kill-');
    const shard = { index: 1, count: 2 };
    const part = manifestPartFile(path.join(out, 'manifest.jsonl'), shard);
    await killPrepareAfter(['--videos', data.videos, '--annotations', moreAnnotations, '--out', out, '--jobs', '1', '--shard', '1/2'], part, 3);
    const recorded = await readManifest(path.join(out, 'manifest.jsonl'));
    const set = await readAnnotations(moreAnnotations);
    const every = [...new Set([...set.train, ...set.test].map((c) => c.clip))];
    const mine = every.filter((clip) => shardOfClip(clip, 2) === 1);
    expect(recorded.size).toBeGreaterThanOrEqual(3);
    expect(recorded.size).toBeLessThan(mine.length);
    for (const clip of recorded.keys()) expect(shardOfClip(clip, 2), clip).toBe(1);

    const resumed = await prepareFrames({
      videos: data.videos,
      annotations: moreAnnotations,
      out,
      frames: SMALL_PREPARE_FRAMES,
      jobs: 2,
      progress: false,
      shard,
    });
    expect(resumed.failed).toEqual([]);
    expect(resumed.skipped).toBe(recorded.size);
    expect(resumed.done + resumed.skipped).toBe(mine.length);
    expect(resumed.shard).toMatchObject({ doneInAll: mine.length, clipsInAll: every.length });
    expect(fs.readdirSync(out).filter((name) => name.startsWith('manifest'))).toEqual(['manifest.shard-1-of-2.jsonl']);

    for (const [value, message] of [
      ['3/2', /^egtea: --shard 3\/2: K must run from 1 to N \(2\)/m],
      ['x', /^egtea: --shard x: expected K\/N/m],
    ] as const) {
      const run = egtea(['prepare', '--videos', data.videos, '--annotations', moreAnnotations, '--out', out, '--shard', value]);
      expect(run.code, value).toBe(1);
      expect(run.stderr).toMatch(message);
    }
  });
});
