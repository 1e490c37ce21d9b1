import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { clipFrameDir, frameFile, MANIFEST_FILE } from '../../../src/data/frame-layout.js';
import { readManifest } from '../../../src/data/manifest.js';
import { UserError } from '../../../src/util/errors.js';
import { DEFAULT_FRAME_OPTIONS } from '../../../src/video/extract-frames.js';
import { prepareFrames } from '../../../src/video/prepare.js';
import { IN_CI, temporaryFolder } from '../../helpers.js';
import { SMALL_PREPARE_FRAMES, smallSyntheticDataset } from '../../synthetic-data.js';

let data: Awaited<ReturnType<typeof smallSyntheticDataset>>;

beforeAll(async () => {
  data = await smallSyntheticDataset();
});

/** Every frame of every finished clip decodes whole (libvips refuses a truncated JPEG), and nothing temporary is left. */
async function expectFinishedClipsWhole(frames: string): Promise<number> {
  const manifest = await readManifest(path.join(frames, MANIFEST_FILE));
  let done = 0;
  for (const record of manifest.values()) {
    if (record.status !== 'done') continue;
    done += 1;
    const dir = clipFrameDir(frames, record);
    expect(fs.readdirSync(dir).length, dir).toBe(record.frames);
    for (let i = 0; i < record.frames!; i++)
      await expect(sharp(frameFile(dir, i), { failOn: 'truncated' }).raw().toBuffer(), frameFile(dir, i)).resolves.toBeInstanceOf(Buffer);
  }
  const leftovers = fs
    .readdirSync(frames, { recursive: true })
    .map(String)
    .filter((f) => path.basename(f).startsWith('.tmp-'));
  expect(leftovers).toEqual([]);
  return done;
}

describe('egtea prepare on damaged earlier work', () => {
  it('redoes a finished clip whose frame was emptied or cut, and one whose manifest line was cut', async () => {
    const frames = path.join(temporaryFolder('egtea-damaged-'), 'frames');
    fs.cpSync(data.frames, frames, { recursive: true });
    const manifestFile = path.join(frames, MANIFEST_FILE);
    const records = [...(await readManifest(manifestFile)).values()];
    const [emptied, cut, unrecorded] = records;
    fs.truncateSync(frameFile(clipFrameDir(frames, emptied!), 1), 0);
    const cutFrame = frameFile(clipFrameDir(frames, cut!), 0);
    fs.truncateSync(cutFrame, fs.statSync(cutFrame).size - 100);
    // The clip's record is the last line, cut short by a kill or a full disk.
    const lines = fs
      .readFileSync(manifestFile, 'utf8')
      .split('\n')
      .filter((l) => l !== '' && JSON.parse(l).clip !== unrecorded!.clip);
    const cutLine = JSON.stringify(unrecorded).slice(0, 60);
    fs.writeFileSync(manifestFile, `${lines.join('\n')}\n${cutLine}`);

    const summary = await prepareFrames({
      videos: data.videos,
      annotations: data.annotations,
      out: frames,
      frames: SMALL_PREPARE_FRAMES,
      jobs: 2,
      progress: false,
    });
    expect(summary.failed).toEqual([]);
    expect(summary.done).toBe(3);
    expect(summary.skipped).toBe(records.length - 3);
    const after = await readManifest(manifestFile);
    for (const clip of [emptied!, cut!, unrecorded!]) expect(after.get(clip.clip)).toMatchObject({ status: 'done', frames: clip.frames });
    expect(await expectFinishedClipsWhole(frames)).toBe(records.length);
    // The cut line stays, closed by a newline, so the record after it was not glued to it.
    expect(fs.readFileSync(manifestFile, 'utf8')).toContain(`${cutLine}\n{`);
  });
});

// A real full disk is a small tmpfs, which only root can mount; CI runs as root, so there a
// missing permission is a failure, elsewhere a stated skip.
const isRoot = process.getuid?.() === 0;
const inCi = IN_CI;
if (!isRoot && !inCi) console.warn('prepare-full-disk: skipping the full-disk test: mounting a tmpfs needs root');

describe('egtea prepare on a full disk', () => {
  it.skipIf(!isRoot && !inCi)('stops with the folder named, keeps only whole clips, leaves no temporaries, and resumes once there is room', async (context) => {
    // 24 of the clips: their 256-pixel frames need about 5 MB.
    const annotations = temporaryFolder('egtea-full-disk-annotations-');
    fs.copyFileSync(path.join(data.annotations, 'verb_idx.txt'), path.join(annotations, 'verb_idx.txt'));
    for (const [file, count] of [
      ['train_split1.txt', 18],
      ['test_split1.txt', 6],
    ] as const) {
      const lines = fs.readFileSync(path.join(data.annotations, file), 'utf8').split('\n').slice(0, count);
      fs.writeFileSync(path.join(annotations, file), `${lines.join('\n')}\n`);
    }
    const disk = temporaryFolder('egtea-full-disk-');
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', disk], { encoding: 'utf8' });
    if (mount.status !== 0 && !inCi) {
      console.warn(`prepare-full-disk: skipping the full-disk test: cannot mount a tmpfs here (${mount.stderr.trim() || mount.error?.message})`);
      context.skip();
    }
    expect(mount.status, `mount a 1 MB tmpfs: ${mount.stderr}`).toBe(0);
    try {
      const frames = path.join(disk, 'frames');
      const options = { videos: data.videos, annotations, out: frames, frames: DEFAULT_FRAME_OPTIONS, jobs: 2, progress: false };
      const full = await prepareFrames(options).then(
        () => null,
        (error: unknown) => error,
      );
      expect(full).toBeInstanceOf(UserError);
      expect((full as Error).message).toContain(`cannot write frames to ${frames}`);
      expect((full as Error).message).toMatch(/Free space there and run egtea prepare again/);
      const finished = await expectFinishedClipsWhole(frames);
      expect(finished).toBeGreaterThan(0);
      expect(finished).toBeLessThan(24);

      expect(spawnSync('mount', ['-o', 'remount,size=64m', disk]).status).toBe(0);
      const resumed = await prepareFrames(options);
      expect(resumed.failed).toEqual([]);
      expect(resumed.skipped).toBe(finished);
      expect(resumed.done + resumed.skipped).toBe(24);
      expect(await expectFinishedClipsWhole(frames)).toBe(24);
    } finally {
      spawnSync('umount', [disk]);
    }
  });
});
