import type { Pipeline } from '../config/pipeline.js';

/**
 * What cells must share to step in lockstep as one graph: the model and its input shape, the batch
 * (and its micro-batches) and the number of epochs. Seeds, losses, learning rates and images may
 * differ: every cell keeps its own. (Equal batches per epoch, from equal training sets, and
 * an equal resume point are checked when the pack starts: packed-trainer.ts.)
 */
export function packKey(p: Pipeline): string {
  return JSON.stringify([p.model.arch, p.clips.frames, p.clips.transform.size, p.schedule.batchSize, p.schedule.accumulation, p.schedule.epochs]);
}

/**
 * Cuts items (in their order) into packs of at most `size` that share a key; each key's last
 * pack takes the remainder. Size 1: every item alone.
 */
export function packsOf<T>(items: readonly T[], size: number, key: (item: T) => string): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new Error(`pack size ${size} must be a whole number >= 1`);
  const open = new Map<string, T[]>();
  const packs: T[][] = [];
  for (const item of items) {
    const k = key(item);
    let pack = open.get(k);
    if (pack === undefined || pack.length === size) {
      pack = [];
      open.set(k, pack);
      packs.push(pack);
    }
    pack.push(item);
  }
  return packs;
}
