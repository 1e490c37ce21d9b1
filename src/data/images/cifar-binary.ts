import fs from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../util/errors.js';
import type { ImageSet } from './image-set.js';

// CIFAR's "binary version": records of label byte(s) then 3072 bytes, the red, green and blue
// 32x32 planes. CIFAR-10 has one label byte; CIFAR-100 a coarse and a fine one (we use fine).

export type CifarKind = 'cifar10' | 'cifar100';

const FILES: Record<CifarKind, { train: string[]; test: string[]; labelBytes: number; classes: number }> = {
  cifar10: { train: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`), test: ['test_batch.bin'], labelBytes: 1, classes: 10 },
  cifar100: { train: ['train.bin'], test: ['test.bin'], labelBytes: 2, classes: 100 },
};

const SIDE = 32;
const PLANE = SIDE * SIDE;

/** One CIFAR split from the folder of its binary version (cifar-10-batches-bin or cifar-100-binary). */
export async function readCifar(dir: string, kind: CifarKind, split: 'train' | 'test'): Promise<ImageSet> {
  const { labelBytes, classes } = FILES[kind];
  const record = labelBytes + 3 * PLANE;
  const chunks: { file: string; bytes: Buffer }[] = [];
  for (const name of FILES[kind][split]) {
    const file = path.join(dir, name);
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new UserError(
        code === 'ENOENT'
          ? `${file}: missing; ${dir} should hold ${kind}'s binary version (${[...FILES[kind].train, ...FILES[kind].test].join(', ')})`
          : `${file}: cannot read (${(error as Error).message})`,
      );
    }
    if (bytes.length === 0 || bytes.length % record !== 0)
      throw new UserError(`${file}: ${bytes.length} bytes is not a whole number of ${record}-byte ${kind} records; the file is cut short or not ${kind}`);
    chunks.push({ file, bytes });
  }
  const count = chunks.reduce((n, c) => n + c.bytes.length / record, 0);
  const pixels = new Uint8Array(count * 3 * PLANE);
  const labels = new Int32Array(count);
  let i = 0;
  for (const { file, bytes } of chunks) {
    for (let offset = 0; offset < bytes.length; offset += record, i++) {
      const label = bytes[offset + labelBytes - 1]!;
      if (label >= classes) throw new UserError(`${file}: record ${offset / record} has label ${label}; ${kind} has ${classes} classes`);
      labels[i] = label;
      // Planes to channels-last.
      const out = i * 3 * PLANE;
      for (let p = 0; p < PLANE; p++) {
        for (let c = 0; c < 3; c++) pixels[out + p * 3 + c] = bytes[offset + labelBytes + c * PLANE + p]!;
      }
    }
  }
  return { source: chunks[0]!.file, count, height: SIDE, width: SIDE, channels: 3, pixels, labels };
}

export function cifarClasses(kind: CifarKind): number {
  return FILES[kind].classes;
}
