import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ffmpegBinaries } from '../../../src/video/ffmpeg-binaries.js';
import { DEFAULT_FRAME_OPTIONS } from '../../../src/video/extract-frames.js';
import { clipFrameDir } from '../../../src/data/frame-layout.js';
import { readManifest } from '../../../src/data/manifest.js';
import { prepareFrames } from '../../../src/video/prepare.js';
import { encodeH264 } from '../../../src/video/synth/encode.js';
import { CLASS_PATTERNS } from '../../../src/video/synth/patterns.js';
import { renderClip } from '../../../src/video/synth/render.js';
import { SeededRandom } from '../../../src/util/random.js';
import { egtea } from '../../support/run-cli.js';
import { killPrepareAfter } from '../../support/kill-prepare.js';
import { temporaryFolder } from '../../helpers.js';
import { smallSyntheticDataset } from '../../synthetic-data.js';

const SESSION = 'P01-R01-PastaSalad';
const name = (start: number) => `${SESSION}-${start}-${start + 1000}-F${String(start).padStart(6, '0')}-F${String(start + 24).padStart(6, '0')}`;
const CLIPS = {
  good: name(1000),
  empty: name(3000),
  truncated: name(5000),
  text: name(7000),
  audioOnly: name(9000),
  short: name(11000),
  missing: name(13000),
};

let root = '';
let videos = '';
let annotations = '';

beforeAll(async () => {
  const data = await smallSyntheticDataset();
  root = temporaryFolder('egtea-bad-inputs-');
  videos = path.join(root, 'videos');
  annotations = path.join(root, 'annotations');
  fs.mkdirSync(path.join(videos, SESSION), { recursive: true });
  fs.mkdirSync(annotations);
  const at = (clip: string) => path.join(videos, SESSION, `${clip}.mp4`);
  const someVideo = fs
    .readdirSync(data.videos, { recursive: true })
    .map(String)
    .find((f) => f.endsWith('.mp4'))!;
  const real = fs.readFileSync(path.join(data.videos, someVideo));
  fs.writeFileSync(at(CLIPS.good), real);
  fs.writeFileSync(at(CLIPS.empty), '');
  fs.writeFileSync(at(CLIPS.truncated), real.subarray(0, Math.floor(real.length * 0.4)));
  fs.writeFileSync(at(CLIPS.text), 'this is not a video\n');
  const audio = spawnSync(ffmpegBinaries().ffmpeg, [
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:duration=1',
    '-c:a',
    'aac',
    '-y',
    at(CLIPS.audioOnly),
  ]);
  expect(audio.status).toBe(0);
  const size = { width: 64, height: 48 };
  await encodeH264(renderClip(CLASS_PATTERNS[0]!, new SeededRandom(1), size, 12, 3), size, 12, at(CLIPS.short));
  fs.writeFileSync(path.join(annotations, 'verb_idx.txt'), 'Take 1\nPut 2\n');
  const lines = Object.values(CLIPS).map((clip, i) => `${clip} ${1 + (i % 2)} ${1 + (i % 2)} 1`);
  fs.writeFileSync(path.join(annotations, 'train_split1.txt'), `${lines.join('\n')}\n`);
  fs.writeFileSync(path.join(annotations, 'test_split1.txt'), `${CLIPS.good} 1 1 1\n`);
});

describe('egtea prepare on bad input', () => {
  it('lists every bad video with its reason, keeps the good ones, and can run again', async () => {
    const out = path.join(root, 'frames');
    const summary = await prepareFrames({ videos, annotations, out, frames: DEFAULT_FRAME_OPTIONS, jobs: 2, progress: false });
    const reasons = Object.fromEntries(summary.failed.map((f) => [f.clip, f.reason]));
    expect(Object.keys(reasons).sort()).toEqual([CLIPS.empty, CLIPS.truncated, CLIPS.text, CLIPS.audioOnly, CLIPS.missing].sort());
    expect(reasons[CLIPS.empty]).toMatch(/is empty \(0 bytes\)/);
    expect(reasons[CLIPS.missing]).toMatch(/missing video .*P01-R01-PastaSalad-13000/);
    expect(reasons[CLIPS.text]).toMatch(/Invalid data found when processing input/);
    expect(reasons[CLIPS.truncated]).toMatch(/partial file|moov atom not found|Invalid data found/);
    expect(reasons[CLIPS.audioOnly]).toMatch(/does not contain any stream|no frames|Output file/i);
    expect(summary.failed.find((f) => f.clip === CLIPS.missing)!.annotation).toMatch(/train_split1\.txt:7$/);
    // The 3-frame clip is fine: the sampler repeats its frames.
    const manifest = await readManifest(summary.manifest);
    expect(manifest.get(CLIPS.short)).toMatchObject({ status: 'done', frames: 3 });
    expect(manifest.get(CLIPS.good)).toMatchObject({ status: 'done', height: 256 });
    // No temporary folders are left behind.
    expect(fs.readdirSync(path.join(out, SESSION)).filter((f) => f.startsWith('.tmp-'))).toEqual([]);

    // Again: finished clips are skipped; a deleted frame folder and a changed video are redone.
    fs.rmSync(clipFrameDir(out, { session: SESSION, clip: CLIPS.short }), { recursive: true });
    const goodVideo = path.join(videos, SESSION, `${CLIPS.good}.mp4`);
    fs.utimesSync(goodVideo, new Date(), new Date(Date.now() + 5000));
    const again = await prepareFrames({ videos, annotations, out, frames: DEFAULT_FRAME_OPTIONS, jobs: 2, progress: false });
    expect(again.done).toBe(2);
    expect(again.skipped).toBe(0);
    expect(again.failed).toHaveLength(5);
  });

  it('exits 1 from the command, naming each failure, with the finished clips kept', () => {
    const out = path.join(root, 'frames-cli');
    const run = egtea(['prepare', '--videos', videos, '--annotations', annotations, '--out', out, '--json']);
    expect(run.code).toBe(1);
    const summary = JSON.parse(run.stdout);
    expect(summary.done).toBe(2);
    expect(summary.failed).toHaveLength(5);
    expect(run.stderr).toMatch(/egtea: 5 clip\(s\) failed; finished clips are kept and recorded in .*manifest\.jsonl/);
  });
});

describe('egtea prepare after a kill', () => {
  it('never counts a half clip, and a rerun finishes the rest', async () => {
    const data = await smallSyntheticDataset();
    const out = temporaryFolder('egtea-kill-');
    const manifestFile = path.join(out, 'manifest.jsonl');
    await killPrepareAfter(['--videos', data.videos, '--annotations', data.annotations, '--out', out, '--jobs', '1'], manifestFile, 5);
    const recorded = await readManifest(manifestFile);
    expect(recorded.size).toBeGreaterThanOrEqual(5);
    expect(recorded.size).toBeLessThan(90);
    for (const record of recorded.values()) {
      const dir = path.join(out, record.session, record.clip);
      expect(fs.readdirSync(dir).length, record.clip).toBe(record.frames);
    }
    const rest = await prepareFrames({ videos: data.videos, annotations: data.annotations, out, frames: DEFAULT_FRAME_OPTIONS, jobs: 2, progress: false });
    expect(rest.failed).toEqual([]);
    expect(rest.skipped).toBe(recorded.size);
    expect(rest.done + rest.skipped).toBe(90);
  });
});
