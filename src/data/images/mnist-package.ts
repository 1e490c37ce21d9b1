import { createRequire } from 'node:module';
import { UserError } from '../../util/errors.js';
import type { ImageSet } from './image-set.js';

/**
 * The `mnist` package's real digits (about 1000 per digit, stored as 28x28 grey values in [0, 1]
 * with three decimals) as MNIST-like training and test sets: the first TRAIN_SHARE of each
 * digit's samples are the training file, the rest the test file. Too few for the paper's 5000 /
 * 500 / 800 protocol, so it runs scaled down (MNIST_PACKAGE_SIZES), stated in every output.
 */
export const MNIST_PACKAGE_SOURCE = 'mnist-package';
export const MNIST_PACKAGE_SIZES = { trainingImages: 500, validationPerClass: 100, testPerClass: 200 };
const TRAIN_SHARE = 0.7;
const SIDE = 28;

export function readMnistPackage(): { train: ImageSet; test: ImageSet } {
  const require = createRequire(import.meta.url);
  const size = SIDE * SIDE;
  const digits: { data: number[]; count: number; cut: number }[] = [];
  for (let digit = 0; digit < 10; digit++) {
    let data: number[];
    try {
      data = (require(`mnist/src/digits/${digit}.json`) as { data: number[] }).data;
    } catch (error) {
      throw new UserError(
        `--source ${MNIST_PACKAGE_SOURCE}: cannot read the mnist package's digit ${digit} (${(error as Error).message}); is the mnist package installed?`,
      );
    }
    const count = Math.floor(data.length / size);
    digits.push({ data, count, cut: Math.round(count * TRAIN_SHARE) });
  }
  const set = (part: 'train' | 'test', name: string): ImageSet => {
    const total = digits.reduce((n, d) => n + (part === 'train' ? d.cut : d.count - d.cut), 0);
    const pixels = new Uint8Array(total * size);
    const labels = new Int32Array(total);
    let i = 0;
    digits.forEach((d, digit) => {
      const [from, to] = part === 'train' ? [0, d.cut] : [d.cut, d.count];
      for (let k = from; k < to; k++, i++) {
        labels[i] = digit;
        for (let p = 0; p < size; p++) pixels[i * size + p] = Math.round(d.data[k * size + p]! * 255);
      }
    });
    return { source: `${MNIST_PACKAGE_SOURCE} (${name})`, count: total, height: SIDE, width: SIDE, channels: 1, pixels, labels };
  };
  return { train: set('train', `first ${TRAIN_SHARE * 100}% of each digit`), test: set('test', `last ${100 - TRAIN_SHARE * 100}% of each digit`) };
}
