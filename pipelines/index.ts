import type { Pipeline } from '../src/config/pipeline.js';
import cifar10Lt from './cifar10-lt.js';
import cifar100Lt from './cifar100-lt.js';
import egtea from './egtea.js';
import fashionMnist from './fashion-mnist.js';
import imagenetLt from './imagenet-lt.js';
import mnistImbalanced from './mnist-imbalanced.js';
import synth from './synth.js';

/** The built-in recipes, by name (`egtea train --pipeline NAME`). */
export const PIPELINES: Readonly<Record<string, Pipeline>> = {
  egtea,
  synth,
  'mnist-imbalanced': mnistImbalanced,
  'cifar10-lt': cifar10Lt,
  'cifar100-lt': cifar100Lt,
  'imagenet-lt': imagenetLt,
  'fashion-mnist': fashionMnist,
};
