import fs from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { SeededRandom } from '../src/util/random.js';

// Small image sources in the public formats (MNIST IDX, CIFAR binary), made by the tests.

/** A digit-like 28x28 image: a bright bar whose place depends on the label, on seeded noise. */
function digitImage(label: number, random: SeededRandom): Uint8Array {
  const image = new Uint8Array(28 * 28);
  for (let i = 0; i < image.length; i++) image[i] = random.int(0, 40);
  const column = 3 + label * 2;
  for (let y = 4; y < 24; y++) for (let x = column; x < column + 3; x++) image[y * 28 + x] = 200 + random.int(0, 55);
  return image;
}

function idx(magic: number, dims: number[], body: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(body)]);
}

/** MNIST's four IDX files with `perDigit` images of each of `digits` (default all ten) per split; training files gzipped, test files plain. */
export async function writeMnistSource(
  dir: string,
  perDigit: { train: number; test: number },
  seed = 3,
  digits: readonly number[] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  const random = new SeededRandom(seed);
  for (const split of ['train', 'test'] as const) {
    const labels: number[] = [];
    for (let n = 0; n < perDigit[split]; n++) for (const d of digits) labels.push(d);
    const pixels = new Uint8Array(labels.length * 784);
    labels.forEach((label, i) => pixels.set(digitImage(label, random), i * 784));
    const images = idx(0x803, [labels.length, 28, 28], pixels);
    const labelFile = idx(0x801, [labels.length], Uint8Array.from(labels));
    const prefix = split === 'train' ? 'train' : 't10k';
    if (split === 'train') {
      await fs.writeFile(path.join(dir, `${prefix}-images-idx3-ubyte.gz`), zlib.gzipSync(images));
      await fs.writeFile(path.join(dir, `${prefix}-labels-idx1-ubyte.gz`), zlib.gzipSync(labelFile));
    } else {
      await fs.writeFile(path.join(dir, `${prefix}-images-idx3-ubyte`), images);
      await fs.writeFile(path.join(dir, `${prefix}-labels-idx1-ubyte`), labelFile);
    }
  }
}

/** One CIFAR-10 binary record: the label, then flat red, green and blue planes. */
export function cifarRecord(label: number, rgb: [number, number, number]): Buffer {
  const record = Buffer.alloc(1 + 3072);
  record[0] = label;
  for (let c = 0; c < 3; c++) record.fill(rgb[c]!, 1 + c * 1024, 1 + (c + 1) * 1024);
  return record;
}

/** CIFAR-10's binary version with `perClass` training images per class (over the five batches) and `test` per class; class c is the colour (10c, 20 + c, 200 - 10c). */
export async function writeCifar10Source(dir: string, perClass: { train: number; test: number }): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  const colour = (c: number): [number, number, number] => [10 * c, 20 + c, 200 - 10 * c];
  const train: Buffer[] = [];
  for (let n = 0; n < perClass.train; n++) for (let c = 0; c < 10; c++) train.push(cifarRecord(c, colour(c)));
  for (let b = 0; b < 5; b++) await fs.writeFile(path.join(dir, `data_batch_${b + 1}.bin`), Buffer.concat(train.filter((_, i) => i % 5 === b)));
  const test: Buffer[] = [];
  for (let n = 0; n < perClass.test; n++) for (let c = 0; c < 10; c++) test.push(cifarRecord(c, colour(c)));
  await fs.writeFile(path.join(dir, 'test_batch.bin'), Buffer.concat(test));
  await fs.writeFile(
    path.join(dir, 'batches.meta.txt'),
    `${['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'].join('\n')}\n`,
  );
}

/**
 * A small ImageNet-like root (train/<wnid>/*.JPEG, val/<wnid>/*.JPEG, 48x40 colour JPEGs, one
 * grey JPEG and one PNG under a .JPEG name, as ImageNet has) and ImageNet-LT-style lists.
 */
export async function writeImagenetLtSource(root: string, perClass: { train: number[]; validation: number; test: number }): Promise<void> {
  const wnids = perClass.train.map((_, c) => `n0000000${c + 1}`);
  const lists: Record<'train' | 'val' | 'test', string[]> = { train: [], val: [], test: [] };
  const image = (c: number) => sharp({ create: { width: 48, height: 40, channels: 3, background: { r: 40 * c, g: 100, b: 200 - 40 * c } } });
  for (const [c, wnid] of wnids.entries()) {
    for (const [part, folder, count] of [
      ['train', 'train', perClass.train[c]!],
      ['val', 'val', perClass.validation],
      ['test', 'val', perClass.test],
    ] as const) {
      await fs.mkdir(path.join(root, folder, wnid), { recursive: true });
      for (let i = 0; i < count; i++) {
        const relative = `${folder}/${wnid}/${wnid}_${part}_${i}.JPEG`;
        const file = path.join(root, relative);
        if (c === 0 && part === 'train' && i === 0) await image(c).png().toFile(file);
        else if (c === 1 && part === 'train' && i === 0) await image(c).toColourspace('b-w').jpeg().toFile(file);
        else await image(c).jpeg().toFile(file);
        lists[part].push(`${relative} ${c}`);
      }
    }
  }
  await fs.writeFile(path.join(root, 'ImageNet_LT_train.txt'), `${lists.train.join('\n')}\n`);
  await fs.writeFile(path.join(root, 'ImageNet_LT_val.txt'), `${lists.val.join('\n')}\n`);
  await fs.writeFile(path.join(root, 'ImageNet_LT_test.txt'), `${lists.test.join('\n')}\n`);
}
