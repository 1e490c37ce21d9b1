import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { UserError } from '../../util/errors.js';
import type { ImageSet, LabelledSet } from './image-set.js';

// MNIST's IDX files: a big-endian header (magic 0x0803 for images, 0x0801 for labels, then the
// sizes) and unsigned bytes. Read plain or gzipped, under the names the MNIST site gives them.

const FILES = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
} as const;

/** Where Fashion-MNIST's IDX files come from on Debian (apt-get install dataset-fashion-mnist). */
const FASHION_MNIST_PACKAGE = { name: 'dataset-fashion-mnist', dir: '/usr/share/datasets/fashion-mnist' } as const;

const gunzip = promisify(zlib.gunzip);

/** An IDX file found under one of its two names, with what identifies its contents for the cache. */
interface IdxFile {
  file: string;
  gzipped: boolean;
  /** Size and modification time: a file rewritten since it was read is read again. */
  version: string;
}

async function findIdxFile(dir: string, name: string): Promise<IdxFile> {
  for (const file of [path.join(dir, name), path.join(dir, `${name}.gz`)]) {
    try {
      const stat = await fs.stat(file);
      return { file, gzipped: file.endsWith('.gz'), version: `${stat.size}:${stat.mtimeMs}` };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new UserError(`${file}: cannot read (${(error as Error).message})`);
    }
  }
  throw new UserError(
    `${path.join(dir, name)}: missing (nor ${name}.gz); put MNIST's four IDX files in ${dir}, or use Fashion-MNIST's: Debian's package ${FASHION_MNIST_PACKAGE.name} installs them in ${FASHION_MNIST_PACKAGE.dir} (--source ${FASHION_MNIST_PACKAGE.dir})`,
  );
}

/** The file's bytes, unzipped (on libuv's threads, so files unzip side by side); only the first `head` bytes when given. */
async function readIdxBytes(idx: IdxFile, head?: number): Promise<Buffer> {
  let data: Buffer;
  try {
    data = await fs.readFile(idx.file);
  } catch (error) {
    throw new UserError(`${idx.file}: cannot read (${(error as Error).message})`);
  }
  if (!idx.gzipped) return head === undefined ? data : data.subarray(0, head);
  try {
    if (head === undefined) return await gunzip(data);
    // A sync flush unzips what the first compressed bytes hold and stops there, without an error
    // for the rest; more of them only when those held less (a long name or comment in the header).
    for (let take = 4096; ; take *= 8) {
      const bytes = zlib.gunzipSync(data.subarray(0, take), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
      if (bytes.length >= head || take >= data.length) return bytes.subarray(0, head);
    }
  } catch (error) {
    throw new UserError(`${idx.file}: not a readable gzip file (${(error as Error).message})`);
  }
}

function header(file: string, bytes: Buffer, magic: number, dims: number): number[] {
  if (bytes.length < 4 + 4 * dims || bytes.readUInt32BE(0) !== magic) {
    throw new UserError(`${file}: not an IDX file of ${dims === 1 ? 'labels' : 'images'} (magic 0x${magic.toString(16).padStart(8, '0')} expected)`);
  }
  return Array.from({ length: dims }, (_, i) => bytes.readUInt32BE(4 + 4 * i));
}

/** One split's labels (read whole) and its images' header: what choosing images needs. */
async function readSplit(images: IdxFile, imageBytes: Buffer, labelsFile: IdxFile): Promise<LabelledSet> {
  const labels = await readIdxBytes(labelsFile);
  const [count, height, width] = header(images.file, imageBytes, 0x803, 3) as [number, number, number];
  const [labelCount] = header(labelsFile.file, labels, 0x801, 1) as [number];
  if (labels.length !== 8 + labelCount)
    throw new UserError(`${labelsFile.file}: ${labels.length} bytes, the header promises ${8 + labelCount}; the file is cut short or damaged`);
  if (labelCount !== count) throw new UserError(`${labelsFile.file}: ${labelCount} labels for ${count} images in ${images.file}`);
  const labelBytes = labels.subarray(8);
  const bad = labelBytes.findIndex((l) => l > 9);
  if (bad >= 0) throw new UserError(`${labelsFile.file}: label ${labelBytes[bad]} of image ${bad} is not a digit`);
  return { source: images.file, count, height, width, channels: 1, labels: Int32Array.from(labelBytes) };
}

/**
 * One MNIST split's labels and sizes from a folder holding the IDX files, without unzipping the
 * images: enough to choose images (a check before anything is built), at a tenth of the cost.
 */
export async function readMnistLabels(dir: string, split: 'train' | 'test'): Promise<LabelledSet> {
  const images = await findIdxFile(dir, FILES[split].images);
  return readSplit(images, await readIdxBytes(images, 16), await findIdxFile(dir, FILES[split].labels));
}

/** Splits read whole, by file and version: a grid builds a dataset per seed from the same files (the last few kept). */
const splitsRead = new Map<string, Promise<ImageSet>>();
const SPLITS_KEPT = 4;

/** One MNIST split from a folder holding the IDX files; its pixels are shared with later calls, so read-only. */
export async function readMnist(dir: string, split: 'train' | 'test'): Promise<ImageSet> {
  const images = await findIdxFile(dir, FILES[split].images);
  const labels = await findIdxFile(dir, FILES[split].labels);
  const key = `${images.file}:${images.version} ${labels.file}:${labels.version}`;
  let read = splitsRead.get(key);
  if (read === undefined) {
    read = (async () => {
      const bytes = await readIdxBytes(images);
      const set = await readSplit(images, bytes, labels);
      const expected = 16 + set.count * set.height * set.width;
      if (bytes.length !== expected)
        throw new UserError(
          `${images.file}: ${bytes.length} bytes, the header promises ${expected} (${set.count} images of ${set.height}x${set.width}); the file is cut short or damaged`,
        );
      return { ...set, pixels: new Uint8Array(bytes.buffer, bytes.byteOffset + 16, bytes.length - 16) };
    })();
    splitsRead.set(key, read);
    // A failed read is not kept: the file may be fixed and the same call made again.
    read.catch(() => splitsRead.delete(key));
    for (const old of splitsRead.keys()) if (splitsRead.size > SPLITS_KEPT) splitsRead.delete(old);
  }
  return read;
}
