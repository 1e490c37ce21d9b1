import fs from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../util/errors.js';
import { writeFileAtomic } from '../../util/files.js';
import { SeededRandom } from '../../util/random.js';
import { cifarClasses, readCifar, type CifarKind } from './cifar-binary.js';
import { IMBALANCED_MNIST, imbalancedMnistSplits, longTailedSplits, type ImageSplits, type ImbalancedMnistOptions } from './imbalanced-splits.js';
import { imagenetLtClips } from './imagenet-lt.js';
import type { LabelledSet } from './image-set.js';
import { readMnist, readMnistLabels } from './mnist-idx.js';
import { MNIST_PACKAGE_SIZES, MNIST_PACKAGE_SOURCE, readMnistPackage } from './mnist-package.js';
import { pixelClips, writeImageClips, type ImageClip, type ImageClipSummary } from './write-image-clips.js';

export const IMAGE_DATASETS = ['mnist-imbalanced', 'cifar10-lt', 'cifar100-lt', 'imagenet-lt'] as const;
export type ImageDataset = (typeof IMAGE_DATASETS)[number];

export interface ImportImagesOptions {
  dataset: ImageDataset;
  /** Folder with the source files: MNIST's IDX files, CIFAR's binary version, or the ImageNet root; or 'mnist-package' (the mnist package's digits, a scaled protocol). */
  source: string;
  /** imagenet-lt: the folder with ImageNet-LT's three list files (default: source). */
  lists?: string;
  /** Dataset root to write (annotations/, frames/, dataset.json). */
  out: string;
  seed: number;
  /** mnist-imbalanced: the majority class's share of the training images. */
  majorityRatio?: number;
  /** mnist-imbalanced: the source labels of the minority and the majority class (default 4 and 9, as the paper). */
  classes?: { minority: number; majority: number };
  /** cifar*-lt: largest class over smallest. */
  imbalance?: number;
  /** mnist-imbalanced only, for small tests: images instead of the paper's 5000 / 500 / 800. */
  sizes?: { trainingImages: number; validationPerClass: number; testPerClass: number };
  /** cifar*-lt only, for small tests: validation images per class instead of the paper's 50. */
  validationPerClass?: number;
  log?: (line: string) => void;
  /** Told after each image: written, or already there (a progress bar). */
  onImage?: (written: boolean, total: number) => void;
}

export interface ImportImagesResult extends ImageClipSummary {
  dataset: ImageDataset;
  seed: number;
  settings: Record<string, number>;
}

/** A source folder as an absolute path; the mnist package by its name. */
export function sourceId(source: string): string {
  return source === MNIST_PACKAGE_SOURCE ? source : path.resolve(source);
}

/** CIFAR's class names from the file its binary version ships, else class_<i>. */
async function cifarNames(dir: string, kind: CifarKind): Promise<string[]> {
  const file = path.join(dir, kind === 'cifar10' ? 'batches.meta.txt' : 'fine_label_names.txt');
  const count = cifarClasses(kind);
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  const names = text
    .split('\n')
    .map((l) => l.trim().replace(/\s+/g, '_'))
    .filter((l) => l !== '');
  return names.length === count ? names : Array.from({ length: count }, (_, i) => `class_${i}`);
}

/**
 * Builds one of the paper's image datasets from its public files and writes it as one-frame
 * clips. Every choice of images comes from the seed, which dataset.json records with the settings.
 */
export async function importImages(options: ImportImagesOptions): Promise<ImportImagesResult> {
  await refuseOtherSource(options);
  const { recipe, classes, clips, settings } = await buildDataset(options);
  const summary = await writeImageClips(options.out, recipe, classes, clips, options.log, options.onImage);
  const result: ImportImagesResult = { ...summary, dataset: options.dataset, seed: options.seed, settings };
  await writeFileAtomic(
    path.join(options.out, 'dataset.json'),
    `${JSON.stringify({ dataset: options.dataset, seed: options.seed, settings, source: sourceId(options.source), classes: summary.classes, counts: summary.counts }, null, 2)}\n`,
  );
  return result;
}

/** Chooses the images as importImages would, writing nothing: a source that cannot give them is named. */
export async function checkImages(options: ImportImagesOptions): Promise<void> {
  // ImageNet-LT's split is fixed by its lists, and probing every image would cost as much as importing.
  if (options.dataset === 'imagenet-lt') return;
  // MNIST's labels choose its images: its pixels stay zipped until the build.
  if (options.dataset === 'mnist-imbalanced' && options.source !== MNIST_PACKAGE_SOURCE) {
    chooseMnist(options, { train: await readMnistLabels(options.source, 'train'), test: await readMnistLabels(options.source, 'test') });
    return;
  }
  await buildDataset(options);
}

/** The imbalanced-MNIST images a seed chooses from a source's labels, with the settings that chose them. */
function chooseMnist(
  options: ImportImagesOptions,
  sources: { train: LabelledSet; test: LabelledSet },
): { splits: ImageSplits; settings: ImbalancedMnistOptions } {
  const pair = options.classes ? { minorityDigit: options.classes.minority, majorityDigit: options.classes.majority } : {};
  const settings = {
    ...IMBALANCED_MNIST,
    ...(options.source === MNIST_PACKAGE_SOURCE ? MNIST_PACKAGE_SIZES : {}),
    ...options.sizes,
    ...pair,
    majorityRatio: options.majorityRatio ?? IMBALANCED_MNIST.majorityRatio,
  };
  return { splits: imbalancedMnistSplits(sources.train, sources.test, settings, new SeededRandom(options.seed).fork(options.dataset)), settings };
}

/** The chosen images of one dataset, as clips to write, with the settings that chose them. */
async function buildDataset(
  options: ImportImagesOptions,
): Promise<{ recipe: string; classes: string[]; clips: ImageClip[]; settings: Record<string, number> }> {
  if (options.dataset === 'imagenet-lt') {
    // The split is Liu et al.'s lists, so no choice is made here and the seed is unused.
    return { recipe: 'imagenet', ...(await imagenetLtClips(options.source, options.lists ?? options.source)), settings: {} };
  }
  if (options.dataset === 'mnist-imbalanced') {
    const sources =
      options.source === MNIST_PACKAGE_SOURCE
        ? readMnistPackage()
        : { train: await readMnist(options.source, 'train'), test: await readMnist(options.source, 'test') };
    const { splits, settings } = chooseMnist(options, sources);
    return { recipe: 'mnist', classes: splits.classes, clips: pixelClips(sources, splits), settings: { ...settings } };
  }
  const random = new SeededRandom(options.seed).fork(options.dataset);
  const kind: CifarKind = options.dataset === 'cifar10-lt' ? 'cifar10' : 'cifar100';
  const sources = { train: await readCifar(options.source, kind, 'train'), test: await readCifar(options.source, kind, 'test') };
  const settings = { imbalance: options.imbalance ?? 100, validationPerClass: options.validationPerClass ?? 50 };
  const splits = longTailedSplits(sources.train, sources.test, await cifarNames(options.source, kind), settings, random);
  return { recipe: kind, classes: splits.classes, clips: pixelClips(sources, splits), settings };
}

/**
 * Frames are named by their index in the source and a rerun keeps those already written, so a
 * folder made from other files (or another dataset) must not be reused.
 */
async function refuseOtherSource(options: ImportImagesOptions): Promise<void> {
  const file = path.join(options.out, 'dataset.json');
  const text = await fs.readFile(file, 'utf8').catch(() => null);
  if (text === null) return;
  const previous = JSON.parse(text) as { dataset?: string; source?: string };
  if (previous.dataset !== options.dataset || previous.source !== sourceId(options.source)) {
    throw new UserError(`${file}: ${options.out} holds ${previous.dataset} built from ${previous.source}; choose another --out, or delete it first`);
  }
}
