import seedrandom from 'seedrandom';

/** A seeded generator: every random choice in egtea comes from one of these. */
export class SeededRandom {
  private readonly prng: seedrandom.PRNG;

  constructor(readonly seed: number | string) {
    this.prng = seedrandom.alea(String(seed));
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.prng();
  }

  /** Integer in [low, high). */
  int(low: number, high: number): number {
    return low + Math.floor(this.prng() * (high - low));
  }

  uniform(low: number, high: number): number {
    return low + this.prng() * (high - low);
  }

  bernoulli(p: number): boolean {
    return this.prng() < p;
  }

  /** A 32-bit seed for a derived generator or a tfjs op that takes a seed. */
  nextSeed(): number {
    return this.prng.int32() >>> 0;
  }

  /** A generator for a named sub-task, independent of how much this one has been used. */
  fork(label: string): SeededRandom {
    return new SeededRandom(`${this.seed}/${label}`);
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i + 1);
      [items[i], items[j]] = [items[j] as T, items[i] as T];
    }
    return items;
  }
}

/** A stable 32-bit hash of a string (FNV-1a), to derive seeds from names. */
export function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
