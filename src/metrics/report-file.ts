import fs from 'node:fs/promises';
import type { ClassResult } from './metrics.js';
import { UserError } from '../util/errors.js';

/** The part of a saved evaluation report (`egtea eval --json`) that other commands read. */
export interface SavedClassResults {
  perClass: ClassResult[];
}

/** Reads the per-class results of a saved report, checking what it reads. */
export async function readClassResults(file: string): Promise<ClassResult[]> {
  let document: unknown;
  try {
    document = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new UserError(`${file}: cannot read an evaluation report (${reason})`);
  }
  return checkPerClass((document as Partial<SavedClassResults> | null)?.perClass, file);
}

/** Checks a per-class list: accuracies (recalls) in [0, 1] or null, and at least one class with one. */
export function checkPerClass(perClass: unknown, file: string): ClassResult[] {
  if (!Array.isArray(perClass) || perClass.length === 0) throw new UserError(`${file}: no 'perClass' list; is this a report from egtea eval --json?`);
  const results = perClass.map((entry: Partial<ClassResult> | null, i) => {
    const accuracy = entry?.accuracy ?? null;
    if (accuracy !== null && !(typeof accuracy === 'number' && accuracy >= 0 && accuracy <= 1)) {
      throw new UserError(`${file}: perClass[${i}].accuracy is ${JSON.stringify(accuracy)}, not a number in [0, 1] or null`);
    }
    return { index: entry?.index ?? i, name: entry?.name ?? `class ${i}`, support: entry?.support ?? 0, accuracy, precision: entry?.precision ?? null };
  });
  // No accuracy at all gives no difficulty to weigh by (tau would be NaN).
  if (results.every((r) => r.accuracy === null))
    throw new UserError(`${file}: no class has an accuracy (every class had no samples); evaluate on a split with samples`);
  return results;
}
