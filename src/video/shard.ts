import { createHash } from 'node:crypto';
import { UserError } from '../util/errors.js';

/** Part `index` (1-based) of `count`: the clips one `egtea prepare --shard index/count` decodes. */
export interface Shard {
  index: number;
  count: number;
}

const SHARD_TEXT = /^\s*(\d+)\s*\/\s*(\d+)\s*$/;

/**
 * Reads `K/N`, or says what is wrong with it (for the option named `option`). K runs from 1 to N,
 * so `1/4` ... `4/4` are the four parts of a 4-way split.
 */
export function parseShard(text: string, option = '--shard'): Shard {
  const match = SHARD_TEXT.exec(text);
  if (!match) throw new UserError(`${option} ${text}: expected K/N, this machine's part K of N parts (e.g. ${option} 1/4 ... ${option} 4/4)`);
  const index = Number(match[1]);
  const count = Number(match[2]);
  if (count < 1) throw new UserError(`${option} ${text}: N (the number of parts) must be at least 1`);
  if (!Number.isSafeInteger(count)) throw new UserError(`${option} ${text}: N (the number of parts) is too large; at most ${Number.MAX_SAFE_INTEGER}`);
  if (!Number.isSafeInteger(index) || index < 1 || index > count)
    throw new UserError(`${option} ${text}: K must run from 1 to N (${count}); the parts are ${option} 1/${count} ... ${option} ${count}/${count}`);
  return { index, count };
}

/**
 * The part a clip belongs to, from its name alone: never from the order of the annotation files
 * or from which clips are done, so every machine computes the same split, the parts are
 * disjoint, and together they are the whole set (a clip added later lands in one part too).
 */
export function shardOfClip(clip: string, count: number): number {
  const digest = createHash('sha256').update(clip).digest();
  return (digest.readUInt32BE(0) % count) + 1;
}

export function inShard(clip: string, shard: Shard | null): boolean {
  return shard === null || shardOfClip(clip, shard.count) === shard.index;
}

export function describeShard(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}
