import type { Pipeline } from '../src/train/pipeline.js';
import egtea from './egtea.js';
import synth from './synth.js';

/** The built-in recipes, by name (`egtea train --pipeline NAME`). */
export const PIPELINES: Readonly<Record<string, Pipeline>> = { egtea, synth };
