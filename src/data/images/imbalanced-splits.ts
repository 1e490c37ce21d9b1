import { UserError } from '../../util/errors.js';
import type { SeededRandom } from '../../util/random.js';
import type { LabelledSet } from './image-set.js';

/** One chosen image: its index in the source split and its class in the new dataset. */
export interface Pick {
  index: number;
  label: number;
}

export interface ImageSplits {
  classes: string[];
  /** From the source's training split. */
  train: Pick[];
  /** From the source's training split, disjoint from train. */
  validation: Pick[];
  /** From the source's test split. */
  test: Pick[];
}

/** Image indices by label, ascending, in one pass over the labels. */
function byLabel(set: LabelledSet): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  set.labels.forEach((label, i) => {
    const group = groups.get(label);
    if (group) group.push(i);
    else groups.set(label, [i]);
  });
  return groups;
}

function take(set: LabelledSet, indices: number[], count: number, what: string): number[] {
  if (indices.length < count)
    throw new UserError(`${set.source}: ${what} needs ${count} images, the file has ${indices.length}; lower the ratio or the sizes, or use a larger source`);
  return indices.slice(0, count);
}

export interface ImbalancedMnistOptions {
  /** Majority-class share of the training images (the paper: 0.9 to 0.995). */
  majorityRatio: number;
  majorityDigit: number;
  minorityDigit: number;
  trainingImages: number;
  validationPerClass: number;
  testPerClass: number;
}

/** The CDB paper's (after L2RW) imbalanced MNIST: 5000 training images of 4 and 9, 9 the majority; 500 per class for validation; 800 per class from the test set. */
export const IMBALANCED_MNIST: ImbalancedMnistOptions = {
  majorityRatio: 0.99,
  majorityDigit: 9,
  minorityDigit: 4,
  trainingImages: 5000,
  validationPerClass: 500,
  testPerClass: 800,
};

export function imbalancedMnistSplits(train: LabelledSet, test: LabelledSet, options: ImbalancedMnistOptions, random: SeededRandom): ImageSplits {
  const { majorityRatio, majorityDigit, minorityDigit, trainingImages } = options;
  if (!(majorityRatio >= 0.5 && majorityRatio < 1)) throw new UserError(`majority ratio ${majorityRatio} must be in [0.5, 1)`);
  const majority = Math.round(trainingImages * majorityRatio);
  const digits = [minorityDigit, majorityDigit].sort((a, b) => a - b);
  const wanted = new Map([
    [majorityDigit, majority],
    [minorityDigit, trainingImages - majority],
  ]);
  if (majorityDigit === minorityDigit) throw new UserError(`the minority and majority classes are both ${majorityDigit}; give two different classes`);
  const splits: ImageSplits = { classes: digits.map(String), train: [], validation: [], test: [] };
  const [trainByLabel, testByLabel] = [byLabel(train), byLabel(test)];
  for (const [set, groups] of [
    [train, trainByLabel],
    [test, testByLabel],
  ] as const) {
    const missing = digits.filter((d) => !groups.has(d));
    if (missing.length > 0)
      throw new UserError(
        `${set.source}: has no images of class ${missing.join(' or ')} (its labels: ${[...groups.keys()].sort((a, b) => a - b).join(', ')}); choose --classes among those`,
      );
  }
  digits.forEach((digit, label) => {
    const pool = random.fork(`train/${digit}`).shuffle(trainByLabel.get(digit) ?? []);
    const validation = take(train, pool, options.validationPerClass, `digit ${digit}'s validation`);
    const rest = pool.slice(validation.length);
    const training = take(train, rest, wanted.get(digit)!, `digit ${digit}'s training set (plus ${validation.length} for validation)`);
    const testing = take(test, random.fork(`test/${digit}`).shuffle(testByLabel.get(digit) ?? []), options.testPerClass, `digit ${digit}'s test set`);
    splits.train.push(...training.map((index) => ({ index, label })));
    splits.validation.push(...validation.map((index) => ({ index, label })));
    splits.test.push(...testing.map((index) => ({ index, label })));
  });
  return splits;
}

export interface LongTailedOptions {
  /** Largest class size over the smallest (the paper: 10 to 200). */
  imbalance: number;
  validationPerClass: number;
}

/**
 * Long-tailed CIFAR as the CDB paper builds it: a validation set of `validationPerClass` per
 * class first, then class c keeps n_c * mu^c of its remaining n_c images, mu chosen so the first
 * class is `imbalance` times the last. The test split stays whole and balanced.
 */
export function longTailedSplits(train: LabelledSet, test: LabelledSet, classes: string[], options: LongTailedOptions, random: SeededRandom): ImageSplits {
  const { imbalance, validationPerClass } = options;
  if (!(imbalance >= 1)) throw new UserError(`imbalance ${imbalance} must be at least 1`);
  // mu^c as (1 / imbalance)^(c / (C - 1)), as Cui et al.'s code computes it: the last class gets
  // exactly n / imbalance, where a power of a rounded mu can land just under a whole number.
  const share = (c: number) => (classes.length > 1 ? (1 / imbalance) ** (c / (classes.length - 1)) : 1);
  const splits: ImageSplits = { classes, train: [], validation: [], test: [] };
  const trainByLabel = byLabel(train);
  classes.forEach((name, label) => {
    const pool = random.fork(`train/${label}`).shuffle(trainByLabel.get(label) ?? []);
    const validation = take(train, pool, validationPerClass, `class ${name}'s validation`);
    const rest = pool.slice(validation.length);
    const keep = Math.max(1, Math.floor(rest.length * share(label)));
    splits.train.push(...rest.slice(0, keep).map((index) => ({ index, label })));
    splits.validation.push(...validation.map((index) => ({ index, label })));
  });
  test.labels.forEach((label, index) => splits.test.push({ index, label }));
  return splits;
}
