import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageSet } from '../../../src/data/images/image-set.js';
import type { ImageSplits } from '../../../src/data/images/imbalanced-splits.js';
import { pixelClips, writeImageClips } from '../../../src/data/images/write-image-clips.js';
import { train } from '../../../src/train/trainer.js';
import { canMountTmpfs, FIXTURES, fillDisk, mountTmpfs } from '../../helpers.js';
import { smallPipeline, smallSyntheticDataset } from '../../synthetic-data.js';
import { egtea } from '../../support/run-cli.js';

// Disks that refuse writes, files where folders belong, and programs that are not what their
// variable says: each is one message naming the path (or variable), never "internal error".

let work: string;
let run: string;
beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'egtea-file-system-'));
  run = path.join(work, 'run');
  await train({ pipeline: smallPipeline({ epochs: 1 }), dataRoot: (await smallSyntheticDataset()).root, out: run });
});
afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

/** The one line egtea printed to stderr (its message), checked to be one line and not an internal error. */
function message(result: { code: number | null; stderr: string }): string {
  const lines = result.stderr.trim().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).not.toContain('internal error');
  return lines[0]!;
}

describe('files where folders belong', () => {
  it('report --png <file> and report --out in a folder that is a file name the path', () => {
    expect(egtea(['eval', '--run', run]).code).toBe(0);
    const file = path.join(work, 'a-file');
    fs.writeFileSync(file, 'x');
    const png = egtea(['report', run, '--out', path.join(work, 'r.html'), '--png', file]);
    expect(png.code).toBe(1);
    expect(message(png)).toBe(`egtea: ${file}: already exists, and is not a folder (EEXIST in mkdir)`);
    const out = egtea(['report', run, '--out', path.join(file, 'r.html')]);
    expect(out.code).toBe(1);
    expect(message(out)).toMatch(
      new RegExp(`^egtea: ${file.replace(/[.]/g, '\\.')}(/r\\.html)?: (a part of this path is a file, not a folder|already exists, and is not a folder) \\(`),
    );
  });

  it('model convert --out into a file names it', () => {
    const file = path.join(work, 'another-file');
    fs.writeFileSync(file, 'x');
    const result = egtea(['model', 'convert', path.join(FIXTURES, 'pth_lenet5.pth'), '--arch', 'lenet5', '--out', path.join(file, 'm.safetensors')]);
    expect(result.code).toBe(1);
    expect(message(result)).toMatch(
      new RegExp(
        `^egtea: ${file.replace(/[.]/g, '\\.')}(/m\\.safetensors)?: (a part of this path is a file, not a folder|already exists, and is not a folder) \\(`,
      ),
    );
  });
});

describe('a program that is not what its variable says', () => {
  it('a missing FFMPEG_PATH is refused before anything runs, naming the variable', () => {
    const result = egtea(['synth', '--out', path.join(work, 'synth-missing'), '--clips', '60'], { FFMPEG_PATH: '/nonexistent/ffmpeg' });
    expect(result.code).toBe(2);
    expect(message(result)).toMatch(/^egtea: FFMPEG_PATH="\/nonexistent\/ffmpeg": no such file \(.*\); fix or unset it$/);
  });

  it('an FFMPEG_PATH that runs but is not ffmpeg is one message naming the variable, not one per clip', () => {
    const out = path.join(work, 'synth-false');
    const result = egtea(['synth', '--out', out, '--clips', '60'], { FFMPEG_PATH: '/bin/false' });
    expect(result.code).toBe(1);
    expect(message(result)).toMatch(
      /^egtea: FFMPEG_PATH=\/bin\/false does not run as ffmpeg; set FFMPEG_PATH to an ffmpeg executable, or unset it to use the build that comes from npm \(/,
    );
  });
});

describe.skipIf(!canMountTmpfs())('read-only and full disks (skipped unless root may mount a tmpfs)', () => {
  it('a read-only --out is named by report, eval and train', () => {
    const readOnly = path.join(work, 'read-only');
    const unmount = mountTmpfs(readOnly, '1m', true);
    try {
      const report = egtea(['report', run, '--out', path.join(readOnly, 'r.html')]);
      expect(report.code).toBe(1);
      expect(message(report)).toBe(`egtea: ${path.join(readOnly, 'r.html')}: the file system is read-only; choose a folder on a writable one (EROFS in open)`);
      const out = path.join(readOnly, 'run');
      const trained = egtea(['train', '--pipeline', 'synth', '--data', path.join(work, 'no-data'), '--out', out]);
      expect(trained.code).toBe(1);
      expect(trained.stderr).not.toContain('internal error');
    } finally {
      unmount();
    }
  });

  it('a full disk in eval, report and model convert names the file, and leaves no temporary behind', () => {
    const disk = path.join(work, 'full');
    const unmount = mountTmpfs(disk, '2m');
    try {
      const copy = path.join(disk, 'run');
      fs.mkdirSync(copy);
      for (const name of ['run.json', 'history.jsonl', 'model.safetensors']) fs.copyFileSync(path.join(run, name), path.join(copy, name));
      fillDisk(disk);
      const evaluated = egtea(['eval', '--run', copy]);
      expect(evaluated.code).toBe(1);
      expect(
        message(
          evaluated.stderr.includes('evaluating')
            ? {
                ...evaluated,
                stderr: evaluated.stderr
                  .split('\n')
                  .filter((l) => l.startsWith('egtea:'))
                  .join('\n'),
              }
            : evaluated,
        ),
      ).toBe(
        `egtea: ${path.join(copy, 'eval-test.json')}: the disk is full; free some space and run the same command again (finished work is kept) (ENOSPC in write)`,
      );
      const report = egtea(['report', run, '--out', path.join(disk, 'r.html')]);
      expect(report.code).toBe(1);
      expect(message(report)).toBe(
        `egtea: ${path.join(disk, 'r.html')}: the disk is full; free some space and run the same command again (finished work is kept) (ENOSPC in write)`,
      );
      const converted = egtea(['model', 'convert', path.join(FIXTURES, 'pth_lenet5.pth'), '--arch', 'lenet5', '--out', path.join(disk, 'm.safetensors')]);
      expect(converted.code).toBe(1);
      expect(message(converted)).toBe(
        `egtea: ${path.join(disk, 'm.safetensors')}: the disk is full; free some space and run the same command again (finished work is kept) (ENOSPC in write)`,
      );
      expect(fs.readdirSync(disk).filter((name) => name.includes('.tmp-'))).toEqual([]);
      expect(fs.readdirSync(copy).filter((name) => name.includes('.tmp-'))).toEqual([]);
    } finally {
      unmount();
    }
  });

  it("image building on a full disk stops at the first refused write and leaves no empty temporaries; a rerun with room finishes and removes a killed writer's", async () => {
    const disk = path.join(work, 'images');
    const unmount = mountTmpfs(disk, '2m');
    try {
      // Noise compresses badly: 300 images of 32 x 32 (a page each) fill 2 MB less the filler, not 2 MB.
      const count = 300;
      const pixels = new Uint8Array(count * 32 * 32 * 3).map((_, i) => (i * 2654435761) >>> 24);
      const set: ImageSet = { source: 'noise', width: 32, height: 32, channels: 3, count, pixels, labels: Int32Array.from({ length: count }, (_, i) => i % 3) };
      const splits: ImageSplits = {
        classes: ['a', 'b', 'c'],
        train: Array.from({ length: count }, (_, index) => ({ index, label: index % 3 })),
        validation: [],
        test: [],
      };
      const clips = pixelClips({ train: set, test: set }, splits);
      const root = path.join(disk, 'set');
      fs.mkdirSync(root);
      fs.writeFileSync(path.join(disk, 'filler'), Buffer.alloc(1536 * 1024));
      const error = (await writeImageClips(root, 'noise', ['a', 'b', 'c'], clips).catch((e: unknown) => e)) as NodeJS.ErrnoException;
      expect(error.code).toBe('ENOSPC');
      const temporaries = () =>
        fs
          .readdirSync(root, { recursive: true })
          .map(String)
          .filter((name) => name.includes('.tmp-'));
      expect(temporaries()).toEqual([]);
      // A killed writer's temporary, then room again: the rerun writes the rest and removes it.
      const someClip = fs
        .readdirSync(path.join(root, 'frames'), { recursive: true })
        .map(String)
        .find((name) => name.endsWith('img_00001.jpg'))!;
      fs.rmSync(path.join(root, 'frames', someClip));
      fs.writeFileSync(path.join(root, 'frames', `${someClip}.tmp-99999`), '');
      fs.rmSync(path.join(disk, 'filler'));
      const summary = await writeImageClips(root, 'noise', ['a', 'b', 'c'], clips);
      expect(summary.written + summary.skipped).toBe(count);
      expect(temporaries()).toEqual([]);
    } finally {
      unmount();
    }
  });
});
