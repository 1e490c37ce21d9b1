import * as tf from '@tensorflow/tfjs-core';
import { cdbWeights, type CdbOptions } from './cdb-weights.js';
import { normalizeToClassCount } from './class-weights.js';

/** CDB's options, plus a smoothing of the accuracies over epochs (beyond the paper). */
export interface DifficultyTrackerOptions extends CdbOptions {
  /**
   * Weight in [0, 1) of the past in an exponential moving average of each class's validation
   * accuracy: s_c <- smoothing * s_c + (1 - smoothing) * A_c, the first validation taken as it is.
   * Difficulty (and a dynamic tau) then follow s_c. 0 (default) is the paper's rule: this epoch's
   * accuracy alone. With two classes the paper's weights can jump between [2, 0] and [0, 2] from
   * one epoch to the next; smoothing damps that.
   */
  smoothing?: number;
}

export interface DifficultyUpdate {
  epoch: number;
  tau: number;
  accuracy: (number | null)[];
  /** The accuracies the weights came from: `accuracy` itself without smoothing. */
  smoothedAccuracy: (number | null)[];
  difficulty: (number | null)[];
  weights: number[];
  /** Classes with no validation samples: they keep their previous weight. */
  absent: number[];
  warnings: string[];
}

/**
 * Holds the CDB class weights between validations. Training starts with uniform weights; after
 * each epoch the per-class validation accuracies give new ones. The weights live in a tensor the
 * CDB loss reads, replaced (never mutated) on update, so they carry no gradient.
 */
export class DifficultyTracker {
  private rawWeights: number[];
  private current: number[];
  private smoothed: (number | null)[];
  private tensor: tf.Tensor1D;
  readonly history: DifficultyUpdate[] = [];

  constructor(
    readonly numClasses: number,
    readonly options: DifficultyTrackerOptions,
  ) {
    const smoothing = options.smoothing ?? 0;
    if (!(smoothing >= 0 && smoothing < 1)) throw new Error(`smoothing ${smoothing} must lie in [0, 1)`);
    this.smoothed = new Array<number | null>(numClasses).fill(null);
    this.rawWeights = new Array<number>(numClasses).fill(1);
    this.current = [...this.rawWeights];
    this.tensor = tf.keep(tf.tensor1d(this.current, 'float32'));
  }

  weights(): readonly number[] {
    return this.current;
  }

  weightsTensor(): tf.Tensor1D {
    return this.tensor;
  }

  /** `accuracy[c]` is null when class c had no validation samples. */
  update(accuracy: readonly (number | null)[], epoch: number): DifficultyUpdate {
    if (accuracy.length !== this.numClasses) throw new Error(`expected ${this.numClasses} class accuracies, got ${accuracy.length}`);
    const present = accuracy.flatMap((a, c) => (a === null ? [] : [c]));
    const absent = accuracy.flatMap((a, c) => (a === null ? [c] : []));
    const warnings = absent.length > 0 ? [`classes with no validation samples keep their previous weight: ${absent.join(', ')}`] : [];
    const difficulty: (number | null)[] = accuracy.map(() => null);
    let tau = Number.NaN;
    const smoothing = this.options.smoothing ?? 0;
    for (const c of present) {
      const previous = this.smoothed[c];
      this.smoothed[c] = previous === null || previous === undefined ? accuracy[c]! : smoothing * previous + (1 - smoothing) * accuracy[c]!;
    }
    if (present.length > 0) {
      const { smoothing: _, ...cdbOptions } = this.options;
      const result = cdbWeights(
        present.map((c) => this.smoothed[c]!),
        { ...cdbOptions, normalize: 'none' },
      );
      tau = result.tau;
      warnings.push(...result.warnings);
      const allPerfect = result.warnings.some((w) => w.startsWith('every class'));
      present.forEach((c, i) => {
        difficulty[c] = result.difficulty[i]!;
        this.rawWeights[c] = allPerfect ? 1 : result.weights[i]!;
      });
    }
    const normalized = (this.options.normalize ?? 'classes') === 'classes' ? normalizeToClassCount(this.rawWeights) : [...this.rawWeights];
    this.current = normalized.every(Number.isFinite) ? normalized : normalized.map(() => 1);
    const next = tf.keep(tf.tensor1d(this.current, 'float32'));
    this.tensor.dispose();
    this.tensor = next;
    const update: DifficultyUpdate = {
      epoch,
      tau,
      accuracy: [...accuracy],
      smoothedAccuracy: [...this.smoothed],
      difficulty,
      weights: [...this.current],
      absent,
      warnings,
    };
    this.history.push(update);
    return update;
  }

  /** Restores weights saved with a checkpoint, so a resumed run continues where it stopped. */
  restore(weights: readonly number[], rawWeights: readonly number[], smoothedAccuracy?: readonly (number | null)[]): void {
    this.rawWeights = [...rawWeights];
    if (smoothedAccuracy) this.smoothed = [...smoothedAccuracy];
    this.current = [...weights];
    const next = tf.keep(tf.tensor1d(this.current, 'float32'));
    this.tensor.dispose();
    this.tensor = next;
  }

  state(): { weights: number[]; rawWeights: number[]; smoothedAccuracy: (number | null)[] } {
    return { weights: [...this.current], rawWeights: [...this.rawWeights], smoothedAccuracy: [...this.smoothed] };
  }

  dispose(): void {
    this.tensor.dispose();
  }
}
