/** One class in a saved evaluation report. Accuracy of a class = its recall; null when it had no samples. */
export interface ClassResult {
  index: number;
  name: string;
  support: number;
  accuracy: number | null;
  precision: number | null;
}

/** Accuracy and macro recall/precision over a set of classes (null when nothing was measured). */
export interface SummaryMetrics {
  samples: number;
  top1: number | null;
  top5: number | null;
  /** Mean over classes with samples of per-class recall (= per-class accuracy). */
  macroRecall: number | null;
  /** Mean of per-class precision over classes that have samples or predictions; a class with samples that is never predicted counts 0 (as scikit-learn does). */
  macroPrecision: number | null;
}

export interface ClassificationMetrics extends SummaryMetrics {
  perClass: ClassResult[];
  /** confusion[true][predicted] */
  confusion: number[][];
}

const mean = (values: number[]): number | null => (values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length);

/**
 * Accumulates predictions batch by batch: the confusion matrix and top-5 hits. Per-class
 * accuracy A_c (what CDB weights come from) is the recall of class c.
 */
export class MetricsAccumulator {
  private readonly confusion: number[][];
  private readonly top5Hits: number[];
  /** Samples per true class whose scores held NaN or Inf: counted as misses, never as a prediction. */
  private readonly unscored: number[];

  constructor(readonly classNames: readonly string[]) {
    const n = classNames.length;
    this.confusion = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    this.top5Hits = new Array<number>(n).fill(0);
    this.unscored = new Array<number>(n).fill(0);
  }

  /** How many samples had non-finite scores (each counted as wrong, top-1 and top-5). */
  get unscoredSamples(): number {
    return this.unscored.reduce((a, b) => a + b, 0);
  }

  /** `scores` is [N * classes] row-major (logits or probabilities); `labels` has N entries. */
  add(scores: ArrayLike<number>, labels: ArrayLike<number>): void {
    const classes = this.classNames.length;
    if (scores.length !== labels.length * classes) throw new Error(`${scores.length} scores for ${labels.length} samples of ${classes} classes`);
    for (let i = 0; i < labels.length; i++) {
      const label = labels[i]!;
      if (!(label >= 0 && label < classes)) throw new Error(`label ${label} outside [0, ${classes})`);
      const row = Array.from({ length: classes }, (_, c) => scores[i * classes + c]!);
      // NaN compares false with everything, so it would pass every test below as a hit.
      if (!row.every(Number.isFinite)) {
        this.unscored[label]! += 1;
        continue;
      }
      let predicted = 0;
      for (let c = 1; c < classes; c++) if (row[c]! > row[predicted]!) predicted = c;
      this.confusion[label]![predicted]! += 1;
      // Top-5: the label is among the five highest scores (ties counted against it).
      const above = row.filter((s, c) => c !== label && s >= row[label]!).length;
      if (above < 5) this.top5Hits[label]! += 1;
    }
  }

  /** Metrics over every class, or over a subset of classes (a class group): samples whose true class is in it. */
  result(classes?: readonly number[]): ClassificationMetrics {
    const n = this.classNames.length;
    const chosen = classes ?? Array.from({ length: n }, (_, c) => c);
    const support = (c: number) => this.confusion[c]!.reduce((a, b) => a + b, 0) + this.unscored[c]!;
    const predictedAs = (c: number) => this.confusion.reduce((sum, row) => sum + row[c]!, 0);
    const perClass: ClassResult[] = this.classNames.map((name, c) => ({
      index: c,
      name,
      support: support(c),
      accuracy: support(c) > 0 ? this.confusion[c]![c]! / support(c) : null,
      precision: predictedAs(c) > 0 ? this.confusion[c]![c]! / predictedAs(c) : null,
    }));
    const samples = chosen.reduce((sum, c) => sum + support(c), 0);
    const correct = chosen.reduce((sum, c) => sum + this.confusion[c]![c]!, 0);
    const top5 = chosen.reduce((sum, c) => sum + this.top5Hits[c]!, 0);
    return {
      samples,
      top1: samples > 0 ? correct / samples : null,
      top5: samples > 0 ? top5 / samples : null,
      macroRecall: mean(chosen.flatMap((c) => (perClass[c]!.accuracy === null ? [] : [perClass[c]!.accuracy!]))),
      macroPrecision: mean(chosen.flatMap((c) => (support(c) === 0 && predictedAs(c) === 0 ? [] : [perClass[c]!.precision ?? 0]))),
      perClass,
      confusion: this.confusion.map((row) => [...row]),
    };
  }
}

/** Summary metrics only (no per-class list), for group tables. */
export function summarize(metrics: ClassificationMetrics): SummaryMetrics {
  const { samples, top1, top5, macroRecall, macroPrecision } = metrics;
  return { samples, top1, top5, macroRecall, macroPrecision };
}
