import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKernels, setKernelsEnabled } from '../../src/engine/kernels.js';
import type { ImageSet } from '../../src/data/images/image-set.js';
import type { ImageSplits } from '../../src/data/images/imbalanced-splits.js';
import { pixelClips, writeImageClips } from '../../src/data/images/write-image-clips.js';
import { IN_CI } from '../helpers.js';

// The native writer is what building an image set uses; where it is missing the test says so,
// and CI, which builds it, fails instead of comparing sharp with itself.
const nativeWriter = Boolean(loadKernels()?.writeJpegFrames);
if (!nativeWriter) console.warn(`write-image-clips.test: egtea's native JPEG writer is absent; its test is ${IN_CI ? 'failing (CI)' : 'skipped'}`);

let work: string;
beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'egtea-write-clips-'));
});
afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

/** Noise (the hardest case for a JPEG encoder) and smooth ramps, in grey or colour. */
function imageSet(width: number, height: number, channels: 1 | 3, count: number): ImageSet {
  const pixels = new Uint8Array(width * height * channels * count).map((_, i) => (i % 2 === 0 ? (i * 2654435761) >>> 24 : i % 251));
  return { source: 'made', width, height, channels, count, pixels, labels: Int32Array.from({ length: count }, (_, i) => i % 2) };
}

async function build(root: string, set: ImageSet, native: boolean) {
  const splits: ImageSplits = {
    classes: ['a', 'b'],
    train: Array.from({ length: set.count - 4 }, (_, index) => ({ index, label: index % 2 })),
    validation: [],
    test: Array.from({ length: 4 }, (_, i) => ({ index: set.count - 4 + i, label: i % 2 })),
  };
  setKernelsEnabled(native);
  try {
    return await writeImageClips(root, 'made', splits.classes, pixelClips({ train: set, test: set }, splits));
  } finally {
    setKernelsEnabled(true);
  }
}

async function frames(root: string): Promise<Map<string, Buffer>> {
  const names = (await fs.readdir(path.join(root, 'frames'), { recursive: true })).map(String).filter((name) => name.endsWith('.jpg'));
  const decoded = new Map<string, Buffer>();
  for (const name of names.sort())
    decoded.set(
      name,
      await sharp(path.join(root, 'frames', name))
        .raw()
        .toBuffer(),
    );
  return decoded;
}

describe('writing pixel images as one-frame clips', () => {
  it.skipIf(!nativeWriter && !IN_CI)("egtea's native JPEG writer gives the frames, split files and manifest of the sharp path, pixel for pixel", async () => {
    expect(nativeWriter, 'the native JPEG writer: install the libjpeg headers and run egtea engine install').toBe(true);
    for (const set of [imageSet(28, 28, 1, 40), imageSet(33, 17, 3, 24)]) {
      const native = path.join(work, `native-${set.channels}`);
      const bySharp = path.join(work, `sharp-${set.channels}`);
      const summary = await build(native, set, true);
      expect(await build(bySharp, set, false)).toEqual({ ...summary, root: bySharp });
      expect(summary.written).toBe(set.count);
      const [a, b] = [await frames(native), await frames(bySharp)];
      expect([...a.keys()]).toEqual([...b.keys()]);
      expect(a.size).toBe(set.count);
      for (const [name, pixels] of a) expect(pixels.equals(b.get(name)!), name).toBe(true);
      for (const file of ['annotations/train_split1.txt', 'annotations/test_split1.txt', 'annotations/verb_idx.txt']) {
        expect(await fs.readFile(path.join(native, file), 'utf8')).toBe(await fs.readFile(path.join(bySharp, file), 'utf8'));
      }
      const manifest = async (root: string) =>
        (await fs.readFile(path.join(root, 'frames', 'manifest.jsonl'), 'utf8'))
          .trim()
          .split('\n')
          .map((line) => ({ ...JSON.parse(line), at: null, annotation: path.relative(root, JSON.parse(line).annotation) }));
      expect(await manifest(native)).toEqual(await manifest(bySharp));
      // A rerun keeps every frame.
      expect(await build(native, set, true)).toMatchObject({ written: 0, skipped: set.count });
    }
  });

  it.each([true, false])('names the path and the code when a file stands where a folder goes (native writer: %s)', async (native) => {
    if (native && !nativeWriter) return;
    const root = path.join(work, `blocked-${native}`);
    await fs.mkdir(path.join(root, 'frames'), { recursive: true });
    await fs.writeFile(path.join(root, 'frames', 'T01-R01-made'), 'a file, not a folder');
    const error = (await build(root, imageSet(8, 8, 1, 6), native).catch((e: unknown) => e)) as NodeJS.ErrnoException;
    expect(error.code).toBe('ENOTDIR');
    expect(error.path).toContain(path.join(root, 'frames', 'T01-R01-made'));
  });
});
