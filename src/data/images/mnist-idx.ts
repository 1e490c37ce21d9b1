import fs from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import { UserError } from '../../util/errors.js';
import type { ImageSet } from './image-set.js';

// MNIST's IDX files: a big-endian header (magic 0x0803 for images, 0x0801 for labels, then the
// sizes) and unsigned bytes. Read plain or gzipped, under the names the MNIST site gives them.

const FILES = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
} as const;

/** Where Fashion-MNIST's IDX files come from on Debian (apt-get install dataset-fashion-mnist). */
const FASHION_MNIST_PACKAGE = { name: 'dataset-fashion-mnist', dir: '/usr/share/datasets/fashion-mnist' } as const;

async function readMaybeGzipped(dir: string, name: string): Promise<{ file: string; bytes: Buffer }> {
  for (const file of [path.join(dir, name), path.join(dir, `${name}.gz`)]) {
    let data: Buffer;
    try {
      data = await fs.readFile(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new UserError(`${file}: cannot read (${(error as Error).message})`);
    }
    if (!file.endsWith('.gz')) return { file, bytes: data };
    try {
      return { file, bytes: zlib.gunzipSync(data) };
    } catch (error) {
      throw new UserError(`${file}: not a readable gzip file (${(error as Error).message})`);
    }
  }
  throw new UserError(
    `${path.join(dir, name)}: missing (nor ${name}.gz); put MNIST's four IDX files in ${dir}, or use Fashion-MNIST's: Debian's package ${FASHION_MNIST_PACKAGE.name} installs them in ${FASHION_MNIST_PACKAGE.dir} (--source ${FASHION_MNIST_PACKAGE.dir})`,
  );
}

function header(file: string, bytes: Buffer, magic: number, dims: number): number[] {
  if (bytes.length < 4 + 4 * dims || bytes.readUInt32BE(0) !== magic) {
    throw new UserError(`${file}: not an IDX file of ${dims === 1 ? 'labels' : 'images'} (magic 0x${magic.toString(16).padStart(8, '0')} expected)`);
  }
  return Array.from({ length: dims }, (_, i) => bytes.readUInt32BE(4 + 4 * i));
}

/** One MNIST split from a folder holding the IDX files. */
export async function readMnist(dir: string, split: 'train' | 'test'): Promise<ImageSet> {
  const images = await readMaybeGzipped(dir, FILES[split].images);
  const labels = await readMaybeGzipped(dir, FILES[split].labels);
  const [count, height, width] = header(images.file, images.bytes, 0x803, 3) as [number, number, number];
  const [labelCount] = header(labels.file, labels.bytes, 0x801, 1) as [number];
  const expected = 16 + count * height * width;
  if (images.bytes.length !== expected)
    throw new UserError(
      `${images.file}: ${images.bytes.length} bytes, the header promises ${expected} (${count} images of ${height}x${width}); the file is cut short or damaged`,
    );
  if (labels.bytes.length !== 8 + labelCount)
    throw new UserError(`${labels.file}: ${labels.bytes.length} bytes, the header promises ${8 + labelCount}; the file is cut short or damaged`);
  if (labelCount !== count) throw new UserError(`${labels.file}: ${labelCount} labels for ${count} images in ${images.file}`);
  const labelBytes = labels.bytes.subarray(8);
  const bad = labelBytes.findIndex((l) => l > 9);
  if (bad >= 0) throw new UserError(`${labels.file}: label ${labelBytes[bad]} of image ${bad} is not a digit`);
  return { source: images.file, count, height, width, channels: 1, pixels: new Uint8Array(images.bytes.subarray(16)), labels: Int32Array.from(labelBytes) };
}
