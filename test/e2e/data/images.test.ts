import fsSync from 'node:fs';
import { createRequire } from 'node:module';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fashionMnist from '../../../pipelines/fashion-mnist.js';
import mnistImbalanced from '../../../pipelines/mnist-imbalanced.js';
import { frameFile } from '../../../src/data/clip-loader.js';
import { loadFrameDataset } from '../../../src/data/frame-dataset.js';
import { readCifar } from '../../../src/data/images/cifar-binary.js';
import { importImages, type ImportImagesResult } from '../../../src/data/images/import-images.js';
import { readMnist, readMnistLabels } from '../../../src/data/images/mnist-idx.js';
import { MNIST_PACKAGE_SIZES, MNIST_PACKAGE_SOURCE, readMnistPackage } from '../../../src/data/images/mnist-package.js';
import { validatePipeline } from '../../../src/config/pipeline.js';
import { train } from '../../../src/train/trainer.js';
import { ClipLoader } from '../../../src/data/clip-loader.js';
import { cifarRecord, writeCifar10Source, writeImagenetLtSource, writeMnistSource } from '../../image-sources.js';

let work: string;
let mnist: string;
let cifar: string;
const sizes = { trainingImages: 40, validationPerClass: 5, testPerClass: 8 };

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'egtea-images-'));
  mnist = path.join(work, 'mnist-source');
  cifar = path.join(work, 'cifar-source');
  await writeMnistSource(mnist, { train: 50, test: 10 });
  await writeCifar10Source(cifar, { train: 20, test: 3 });
});

afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

describe('imbalanced MNIST as one-frame clips', () => {
  // Built once here, so each test below stands on its own whatever runs first.
  let result: ImportImagesResult;
  beforeAll(async () => {
    result = await importImages({ dataset: 'mnist-imbalanced', source: mnist, out: path.join(work, 'mnist-imbalanced'), seed: 7, majorityRatio: 0.9, sizes });
  });

  it("builds the paper's construction (scaled down), readable as a frame dataset split by subject", async () => {
    const root = path.join(work, 'mnist-imbalanced');
    expect(result.classes).toEqual(['4', '9']);
    expect(result.counts).toEqual({ train: [4, 36], validation: [5, 5], test: [8, 8] });
    expect(result.written).toBe(66);
    const dataset = await loadFrameDataset({
      annotations: path.join(root, 'annotations'),
      frames: path.join(root, 'frames'),
      label: 'verb',
      validationSubjects: 'V01',
    });
    expect([dataset.train.length, dataset.validation.length, dataset.test.length]).toEqual([40, 10, 16]);
    expect(dataset.missing).toEqual([]);
    // Validation images are not training images (both come from MNIST's training file).
    const sourceIndex = (clip: string) => Number(clip.split('-').at(-1)!.slice(1));
    const trainingIndices = new Set(dataset.train.map((r) => sourceIndex(r.clip)));
    expect(dataset.validation.filter((r) => trainingIndices.has(sourceIndex(r.clip)))).toEqual([]);
    // A frame is the source image, grey as RGB, through JPEG at quality 95.
    const source = await readMnist(mnist, 'train');
    const record = dataset.train.find((r) => r.label === 1)!;
    const index = Number(record.clip.split('-').at(-1)!.slice(1));
    const { data, info } = await sharp(frameFile(record.frameDir, 0)).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([28, 28, 3]);
    expect(source.labels[index]).toBe(9);
    let worst = 0;
    for (let p = 0; p < 784; p++) for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(data[p * 3 + c]! - source.pixels[index * 784 + p]!));
    expect(worst).toBeLessThan(24);
    const recorded = JSON.parse(await fs.readFile(path.join(root, 'dataset.json'), 'utf8'));
    expect(recorded.seed).toBe(7);
    expect(recorded.settings.majorityRatio).toBe(0.9);
  });

  it('a rerun writes nothing again, and the same seed picks the same images', async () => {
    const root = path.join(work, 'mnist-imbalanced');
    const before = await fs.readFile(path.join(root, 'annotations', 'train_split1.txt'), 'utf8');
    const again = await importImages({ dataset: 'mnist-imbalanced', source: mnist, out: root, seed: 7, majorityRatio: 0.9, sizes });
    expect([again.written, again.skipped]).toEqual([0, 66]);
    expect(await fs.readFile(path.join(root, 'annotations', 'train_split1.txt'), 'utf8')).toBe(before);
    // Frames are named by source index, so another source must not reuse the folder.
    await expect(importImages({ dataset: 'mnist-imbalanced', source: path.join(work, 'elsewhere'), out: root, seed: 7, sizes })).rejects.toThrow(
      `${path.join(root, 'dataset.json')}: ${root} holds mnist-imbalanced built from ${mnist}`,
    );
  });

  it('trains through the mnist-imbalanced pipeline (LeNet-5 on one-frame clips) and validates on both digits', async () => {
    const pipeline = validatePipeline(
      {
        ...mnistImbalanced,
        dataset: { ...mnistImbalanced.dataset, annotations: 'annotations', frames: 'frames' },
        schedule: { ...mnistImbalanced.schedule, epochs: 2, batchSize: 10, milestones: [] },
      },
      'test pipeline',
    );
    const result = await train({ pipeline, dataRoot: path.join(work, 'mnist-imbalanced'), out: path.join(work, 'mnist-run') });
    expect(result.epochs).toHaveLength(2);
    expect(result.groups).toEqual({ majority: [1], minority: [0] });
    const last = result.epochs.at(-1)!;
    expect(last.validation.samples).toBe(10);
    expect(last.cdb!.weights).toHaveLength(2);
  });

  it('names the file when an IDX file is cut short, is not IDX, or is missing', async () => {
    const broken = path.join(work, 'mnist-broken');
    await fs.cp(mnist, broken, { recursive: true });
    const images = path.join(broken, 't10k-images-idx3-ubyte');
    const bytes = await fs.readFile(images);
    // Read whole once (and kept for later calls): a file changed since is read again.
    expect((await readMnist(broken, 'test')).count).toBe(bytes.readUInt32BE(4));
    await fs.writeFile(images, bytes.subarray(0, bytes.length - 100));
    await expect(readMnist(broken, 'test')).rejects.toThrow(`${images}: ${bytes.length - 100} bytes, the header promises ${bytes.length}`);
    await fs.writeFile(images, Buffer.from('not an idx file at all'));
    await expect(readMnist(broken, 'test')).rejects.toThrow(`${images}: not an IDX file of images`);
    await fs.rm(images);
    await expect(readMnist(broken, 'test')).rejects.toThrow(`${images}: missing (nor t10k-images-idx3-ubyte.gz)`);
    await expect(readMnist(broken, 'test')).rejects.toThrow(
      "or use Fashion-MNIST's: Debian's package dataset-fashion-mnist installs them in /usr/share/datasets/fashion-mnist (--source /usr/share/datasets/fashion-mnist)",
    );
  });

  it('reads the labels alone from a gzipped file whose header holds a long comment, as a whole read does', async () => {
    const zipped = path.join(work, 'mnist-zipped');
    await fs.mkdir(zipped, { recursive: true });
    for (const name of ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
      const bytes = await fs.readFile(path.join(mnist, name));
      // A gzip member with FCOMMENT set: 10 KB of comment before the compressed bytes.
      const header = Buffer.from([0x1f, 0x8b, 8, 0x10, 0, 0, 0, 0, 0, 3]);
      const comment = Buffer.concat([Buffer.alloc(10_000, 'c'), Buffer.from([0])]);
      const trailer = Buffer.alloc(8);
      trailer.writeUInt32LE(zlib.crc32(bytes), 0);
      trailer.writeUInt32LE(bytes.length, 4);
      await fs.writeFile(path.join(zipped, `${name}.gz`), Buffer.concat([header, comment, zlib.deflateRawSync(bytes), trailer]));
    }
    const { pixels, ...labelled } = await readMnist(zipped, 'test');
    expect(pixels).toEqual((await readMnist(mnist, 'test')).pixels);
    expect(await readMnistLabels(zipped, 'test')).toEqual(labelled);
  });

  it('builds any pair of classes, minority first, and names a class the source lacks', async () => {
    const pair = await importImages({
      dataset: 'mnist-imbalanced',
      source: mnist,
      out: path.join(work, 'pair-8-2'),
      seed: 7,
      majorityRatio: 0.9,
      classes: { minority: 8, majority: 2 },
      sizes,
    });
    // Classes are listed by label; the majority (2) comes first here.
    expect(pair.classes).toEqual(['2', '8']);
    expect(pair.counts).toEqual({ train: [36, 4], validation: [5, 5], test: [8, 8] });
    const partial = path.join(work, 'mnist-0-to-5');
    await writeMnistSource(partial, { train: 50, test: 10 }, 3, [0, 1, 2, 3, 4, 5]);
    await expect(importImages({ dataset: 'mnist-imbalanced', source: partial, out: path.join(work, 'no-9'), seed: 1, sizes })).rejects.toThrow(
      `${path.join(partial, 'train-images-idx3-ubyte.gz')}: has no images of class 9 (its labels: 0, 1, 2, 3, 4, 5); choose --classes among those`,
    );
    await expect(
      importImages({ dataset: 'mnist-imbalanced', source: mnist, out: path.join(work, 'same'), seed: 1, classes: { minority: 3, majority: 3 }, sizes }),
    ).rejects.toThrow('the minority and majority classes are both 3');
  });

  it('refuses a construction the source cannot fill, naming the file', async () => {
    await expect(
      importImages({ dataset: 'mnist-imbalanced', source: mnist, out: path.join(work, 'too-big'), seed: 1, sizes: { ...sizes, testPerClass: 11 } }),
    ).rejects.toThrow(/t10k-images-idx3-ubyte: digit 4's test set needs 11 images, the file has 10/);
  });
});

describe("the mnist package's digits (a scaled protocol)", () => {
  it('splits each digit 70 / 30 into training and test files, pixels as bytes, and builds the scaled construction', async () => {
    const { train, test } = readMnistPackage();
    const fours = (createRequire(import.meta.url)('mnist/src/digits/4.json') as { data: number[] }).data;
    expect(fours.length / 784).toBe(980);
    expect(train.labels.filter((l) => l === 4).length).toBe(686);
    expect(test.labels.filter((l) => l === 4).length).toBe(294);
    const first4 = train.labels.indexOf(4);
    expect(Array.from(train.pixels.subarray(first4 * 784, first4 * 784 + 784))).toEqual(fours.slice(0, 784).map((v) => Math.round(v * 255)));
    const out = path.join(work, 'mnist-package');
    const result = await importImages({
      dataset: 'mnist-imbalanced',
      source: MNIST_PACKAGE_SOURCE,
      out,
      seed: 2,
      majorityRatio: 0.9,
      sizes: { trainingImages: 20, validationPerClass: 2, testPerClass: 3 },
    });
    expect(result.counts).toEqual({ train: [2, 18], validation: [2, 2], test: [3, 3] });
    const recorded = JSON.parse(await fs.readFile(path.join(out, 'dataset.json'), 'utf8'));
    expect(recorded.source).toBe('mnist-package');
    expect(MNIST_PACKAGE_SIZES).toEqual({ trainingImages: 500, validationPerClass: 100, testPerClass: 200 });
  });
});

describe("Debian's Fashion-MNIST (dataset-fashion-mnist)", () => {
  const dir = '/usr/share/datasets/fashion-mnist';
  const installed = fsSync.existsSync(path.join(dir, 'train-images-idx3-ubyte.gz'));
  if (!installed) {
    // CI installs the package: there, its absence is a failure, not a skip.
    if (process.env.CI) it('is installed', () => expect.fail(`${dir}: missing; install Debian's dataset-fashion-mnist`));
    else console.warn(`${dir}: missing (apt-get install dataset-fashion-mnist); skipping the Fashion-MNIST tests`);
  }
  it.runIf(installed)("is read as IDX, and the fashion-mnist pipeline normalises with its training images' own mean and deviation", async () => {
    const train = await readMnist(dir, 'train');
    expect(train.count).toBe(60000);
    expect(Array.from({ length: 10 }, (_, c) => train.labels.filter((l) => l === c).length)).toEqual(new Array(10).fill(6000));
    const histogram = new Float64Array(256);
    for (let i = 0; i < train.pixels.length; i++) histogram[train.pixels[i]!]! += 1;
    let sum = 0;
    let squares = 0;
    histogram.forEach((count, v) => {
      sum += (count * v) / 255;
      squares += count * (v / 255) ** 2;
    });
    const mean = sum / train.pixels.length;
    const std = Math.sqrt(squares / train.pixels.length - mean * mean);
    expect(fashionMnist.clips.transform.mean[0]).toBeCloseTo(mean, 3);
    expect(fashionMnist.clips.transform.std[0]).toBeCloseTo(std, 3);
    expect((await readMnist(dir, 'test')).count).toBe(10000);
    // The same files again: the split read before, not unzipped a second time.
    expect(await readMnist(dir, 'train')).toBe(train);
    // The labels alone (what choosing images needs) are the whole read's, from the zipped images' header.
    const { pixels, ...labelled } = train;
    expect(pixels.length).toBe(60000 * 28 * 28);
    expect(await readMnistLabels(dir, 'train')).toEqual(labelled);
  });
});

describe('long-tailed CIFAR as one-frame clips', () => {
  it('keeps n_c * mu^c of each class after the validation images, the test set whole, colours channel by channel', async () => {
    const root = path.join(work, 'cifar10-lt');
    const result = await importImages({ dataset: 'cifar10-lt', source: cifar, out: root, seed: 2, imbalance: 4, validationPerClass: 2 });
    expect(result.classes[0]).toBe('airplane');
    expect(result.counts.train).toEqual([18, 15, 13, 11, 9, 8, 7, 6, 5, 4]);
    expect(result.counts.train[0]! / result.counts.train[9]!).toBeCloseTo(18 / 4, 5);
    expect(result.counts.validation).toEqual(new Array(10).fill(2));
    expect(result.counts.test).toEqual(new Array(10).fill(3));
    const dataset = await loadFrameDataset({
      annotations: path.join(root, 'annotations'),
      frames: path.join(root, 'frames'),
      label: 'verb',
      validationSubjects: 'V01',
    });
    const record = dataset.test.find((r) => r.label === 3)!;
    const { data } = await sharp(frameFile(record.frameDir, 0)).raw().toBuffer({ resolveWithObject: true });
    expect(Math.abs(data[0]! - 30)).toBeLessThanOrEqual(3);
    expect(Math.abs(data[1]! - 23)).toBeLessThanOrEqual(3);
    expect(Math.abs(data[2]! - 170)).toBeLessThanOrEqual(3);
  });

  it('names the file and record for a cut batch or a label outside the classes', async () => {
    const broken = path.join(work, 'cifar-broken');
    await fs.cp(cifar, broken, { recursive: true });
    const file = path.join(broken, 'test_batch.bin');
    await fs.writeFile(file, Buffer.concat([cifarRecord(1, [0, 0, 0]), Buffer.alloc(10)]));
    await expect(readCifar(broken, 'cifar10', 'test')).rejects.toThrow(`${file}: 3083 bytes is not a whole number of 3073-byte cifar10 records`);
    await fs.writeFile(file, Buffer.concat([cifarRecord(1, [0, 0, 0]), cifarRecord(12, [0, 0, 0])]));
    await expect(readCifar(broken, 'cifar10', 'test')).rejects.toThrow(`${file}: record 1 has label 12; cifar10 has 10 classes`);
  });
});

describe('ImageNet-LT as one-frame clips', () => {
  it("follows Liu et al.'s lists: frames link to the ImageNet JPEGs, odd files are re-encoded, the loader reads them all", async () => {
    const source = path.join(work, 'imagenet');
    await writeImagenetLtSource(source, { train: [6, 3, 1], validation: 2, test: 2 });
    const root = path.join(work, 'imagenet-lt');
    const result = await importImages({ dataset: 'imagenet-lt', source, out: root, seed: 1 });
    expect(result.classes).toEqual(['n00000001', 'n00000002', 'n00000003']);
    expect(result.counts).toEqual({ train: [6, 3, 1], validation: [2, 2, 2], test: [2, 2, 2] });
    const dataset = await loadFrameDataset({
      annotations: path.join(root, 'annotations'),
      frames: path.join(root, 'frames'),
      label: 'verb',
      validationSubjects: 'V01',
    });
    const frames = [...dataset.train, ...dataset.validation, ...dataset.test].map((r) => frameFile(r.frameDir, 0));
    const links = await Promise.all(frames.map(async (f) => (await fs.lstat(f)).isSymbolicLink()));
    // The PNG and the grey JPEG are re-encoded; the other 26 are links.
    expect(links.filter((l) => !l)).toHaveLength(2);
    const loader = new ClipLoader(dataset.train, {
      batchSize: 10,
      segments: 1,
      training: true,
      transform: { ...mnistImbalanced.clips.transform, size: 32 },
      seed: 1,
      concurrency: 4,
      prefetch: 1,
    });
    for await (const batch of loader.batches(1)) {
      expect(batch.clips.shape).toEqual([10, 1, 32, 32, 3]);
      expect(Array.from(batch.labels.dataSync()).sort()).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 2]);
    }
  });

  it('names the list file and line for a malformed line, a path out of the root, or a missing image', async () => {
    const source = path.join(work, 'imagenet-broken');
    await writeImagenetLtSource(source, { train: [2, 1], validation: 1, test: 1 });
    const list = path.join(source, 'ImageNet_LT_val.txt');
    const good = await fs.readFile(list, 'utf8');
    const out = path.join(work, 'imagenet-lt-broken');
    await fs.writeFile(list, `${good}val/n00000001/x.JPEG\n`);
    await expect(importImages({ dataset: 'imagenet-lt', source, out, seed: 1 })).rejects.toThrow(
      `${list}:3: expected '<image path> <label>', got 'val/n00000001/x.JPEG'`,
    );
    await fs.writeFile(list, `${good}../etc/passwd 0\n`);
    await expect(importImages({ dataset: 'imagenet-lt', source, out, seed: 1 })).rejects.toThrow(
      `${list}:3: image path '../etc/passwd' leaves the ImageNet root`,
    );
    await fs.writeFile(list, `${good}val/n00000001/gone.JPEG 0\n`);
    await expect(importImages({ dataset: 'imagenet-lt', source, out, seed: 1 })).rejects.toThrow(
      `${list}:3: ${path.join(source, 'val/n00000001/gone.JPEG')}: not a readable image`,
    );
  });
});
