import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readAnnotations } from '../../../src/data/annotations.js';
import { summarizeDataset } from '../../../src/data/dataset-summary.js';
import { ffmpegBinaries } from '../../../src/video/ffmpeg-binaries.js';
import { planSyntheticDataset } from '../../../src/video/synth/plan.js';
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
    const probe = spawnSync(ffmpegBinaries().ffprobe, ['-v', 'error', '-show_entries', 'stream=codec_name,width,height,avg_frame_rate', '-of', 'json', video], { encoding: 'utf8' });
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
