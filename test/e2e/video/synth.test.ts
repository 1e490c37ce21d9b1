import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import synthPipeline from '../../../pipelines/synth.js';
import { readAnnotations } from '../../../src/data/annotations.js';
import { EGTEA_VERBS } from '../../../src/data/egtea-profile.js';
import { summarizeDataset } from '../../../src/data/dataset-summary.js';
import { ffmpegBinaries } from '../../../src/video/ffmpeg-binaries.js';
import { CLASS_PATTERNS, type ClassPattern } from '../../../src/video/synth/patterns.js';
import { planSyntheticDataset } from '../../../src/video/synth/plan.js';
import { renderClip } from '../../../src/video/synth/render.js';
import { SeededRandom } from '../../../src/util/random.js';
import { synthesize } from '../../../src/video/synth/synthesize.js';
import { temporaryFolder } from '../../helpers.js';
import { SMALL_SYNTH, smallSyntheticDataset } from '../../synthetic-data.js';

describe('egtea synth', () => {
  it('writes real H.264 clips in the EGTEA layout, with every class in every split', async () => {
    const data = await smallSyntheticDataset();
    const set = await readAnnotations(data.annotations);
    expect(set.train.length + set.test.length).toBe(SMALL_SYNTH.clips);
    const clip = set.train[0]!;
    const video = path.join(data.videos, clip.session, `${clip.clip}.mp4`);
    const probe = spawnSync(ffmpegBinaries().ffprobe, ['-v', 'error', '-show_entries', 'stream=codec_name,width,height,avg_frame_rate', '-of', 'json', video], {
      encoding: 'utf8',
    });
    const stream = JSON.parse(probe.stdout).streams[0];
    expect(stream).toMatchObject({ codec_name: 'h264', width: 160, height: 120, avg_frame_rate: '12/1' });
    const summary = await summarizeDataset(data.annotations, { label: 'verb', validationSubjects: 'P20-P26', majorityCount: 5 });
    for (const split of summary.splits) expect(Math.min(...split.perClass), split.split).toBeGreaterThan(0);
    // The frequent classes stay the frequent ones.
    expect(summary.groups.majorityNames).toEqual(['Inspect/Read', 'Open', 'Take', 'Cut', 'Put']);
  });

  it('is deterministic for a seed: the same annotation files and video bytes', async () => {
    const one = temporaryFolder('egtea-synth-a-');
    const two = temporaryFolder('egtea-synth-b-');
    const options = { ...SMALL_SYNTH, clips: 57, seconds: [0.3, 0.5] as [number, number] };
    await synthesize({ ...options, out: one });
    await synthesize({ ...options, out: two, jobs: 1 });
    const read = (root: string, file: string) => fs.readFileSync(path.join(root, file));
    // 57 clips: exactly 3 per class (2 in the training file, 1 in test).
    expect(read(one, 'annotations/train_split1.txt').equals(read(two, 'annotations/train_split1.txt'))).toBe(true);
    const set = await readAnnotations(path.join(one, 'annotations'));
    const video = `videos/${set.test[0]!.session}/${set.test[0]!.clip}.mp4`;
    expect(read(one, video).equals(read(two, video))).toBe(true);
    // A rerun keeps what is there.
    const again = await synthesize({ ...options, out: one });
    expect(again.skipped).toBe(57);
    expect(again.written).toBe(0);
  });

  it('refuses at once, writing nothing, a set too large to make or to fit on the disk', async () => {
    const out = path.join(temporaryFolder('egtea-synth-huge-'), 'set');
    await expect(synthesize({ ...SMALL_SYNTH, clips: 100_000_000, out })).rejects.toThrow(/--clips 100000000: synth makes at most 1000000 clips/);
    // 1,000,000 clips of 4000x4000 at 60 fps for 100-200 s: petabytes.
    await expect(synthesize({ ...SMALL_SYNTH, clips: 1_000_000, width: 4000, height: 4000, fps: 60, seconds: [100, 200], out })).rejects.toThrow(
      new RegExp(`--clips 1000000: 4000x4000 at 60 fps needs about [\\d.]+ GB, but ${out} has [\\d.]+ [MG]B free`),
    );
    expect(fs.existsSync(out)).toBe(false);
  });

  it('replays the same plan, clip by clip, each time it is read', () => {
    const plan = planSyntheticDataset(400, 3, [1.5, 3.5]);
    const first = [...plan.clips()];
    expect(first).toHaveLength(400);
    expect([...plan.clips()]).toEqual(first);
    expect(first.map((c) => c.index)).toEqual(first.map((_, i) => i));
  });

  it('refuses fewer clips than three per class', async () => {
    await expect(synthesize({ ...SMALL_SYNTH, clips: 20, out: os.tmpdir() })).rejects.toThrow(/at least 57 clips/);
  });
});

describe('the synthetic classes', () => {
  const frequent = ['Inspect/Read', 'Open', 'Take', 'Cut', 'Put'].map((name) => CLASS_PATTERNS[EGTEA_VERBS.indexOf(name as (typeof EGTEA_VERBS)[number])]!);
  const rare = CLASS_PATTERNS.filter((p) => !frequent.includes(p));
  const look = (p: ClassPattern) => `${p.shape} ${p.hue} ${p.texture}`;
  /** Degrees between two directions, 0 to 180. */
  const apart = (a: number, b: number) => Math.abs(((((a - b) % 360) + 540) % 360) - 180);

  it('makes the frequent classes one look that differs in direction only, neighbours overlapping at their edges', () => {
    expect(new Set(frequent.map(look)).size).toBe(1);
    for (const p of frequent) {
      const nearest = Math.min(...frequent.filter((q) => q !== p).map((q) => apart(p.direction, q.direction)));
      // Learnable (no class reaches another's centre) but confusable (neighbouring ranges meet).
      expect(nearest).toBeGreaterThan(p.directionJitter);
      expect(nearest).toBeLessThan(2 * p.directionJitter);
    }
  });

  it('gives every rare class a look no frequent class has, shared only by a pair moving at least 90 degrees apart', () => {
    for (const p of rare) {
      expect(look(p)).not.toBe(look(frequent[0]!));
      for (const q of rare.filter((q) => q !== p && look(q) === look(p))) expect(apart(p.direction, q.direction)).toBeGreaterThanOrEqual(90);
    }
    // Spread and Clean/Wipe: a look of their own and nothing else moving.
    for (const name of ['Spread', 'Clean/Wipe'] as const) {
      const p = CLASS_PATTERNS[EGTEA_VERBS.indexOf(name)]!;
      expect(CLASS_PATTERNS.filter((q) => look(q) === look(p))).toHaveLength(1);
      expect(p.distractors).toBe(0);
    }
  });

  it('is trained without a horizontal flip, which would turn one frequent class into another', () => {
    // A mirror sends direction d to 180 - d: inside another frequent class's range.
    for (const p of frequent) {
      const mirrored = 180 - p.direction;
      expect(frequent.some((q) => q !== p && apart(mirrored, q.direction) <= q.directionJitter)).toBe(true);
    }
    expect(synthPipeline.clips.transform.flipProbability).toBe(0);
  });

  it('draws textures in proportion to the object, so they read the same at any frame size', () => {
    const compress = { ...CLASS_PATTERNS[EGTEA_VERBS.indexOf('Compress')]!, distractors: 0 };
    /** Light-dark changes of the striped box along its middle row (object pixels: saturated; background: greyish). */
    const stripes = (width: number, height: number) => {
      const [frame] = [...renderClip(compress, new SeededRandom(7), { width, height }, 12, 1)];
      const at = (x: number, y: number) => [frame![(y * width + x) * 3]!, frame![(y * width + x) * 3 + 1]!, frame![(y * width + x) * 3 + 2]!];
      const isObject = (x: number, y: number) => Math.max(...at(x, y)) - Math.min(...at(x, y)) > 0.5 * Math.max(...at(x, y));
      const rows = Array.from({ length: height }, (_, y) => Array.from({ length: width }, (_, x) => isObject(x, y)).filter(Boolean).length);
      const row = rows.indexOf(Math.max(...rows));
      const light = Array.from({ length: width }, (_, x) => x)
        .filter((x) => isObject(x, row))
        .map((x) => Math.max(...at(x, row)) > 180);
      return light.filter((l, i) => i > 0 && l !== light[i - 1]).length;
    };
    const small = stripes(160, 120);
    expect(small).toBeGreaterThanOrEqual(3);
    expect(Math.abs(stripes(640, 480) - small)).toBeLessThanOrEqual(2);
  });
});
