import { UserError } from '../../util/errors.js';

/** The two source labels of an imbalanced pair: the rare class and the frequent one. */
export interface ClassPair {
  minority: number;
  majority: number;
}

/** Parses `--classes MINORITY,MAJORITY` (two different labels 0-9, as MNIST and Fashion-MNIST have). */
export function parseClassPair(value: string): ClassPair {
  const parts = value.split(',').map((v) => v.trim());
  const labels = parts.map(Number);
  if (parts.length !== 2 || !labels.every((l) => Number.isInteger(l) && l >= 0 && l <= 9) || parts.some((p) => p === '')) {
    throw new UserError(`--classes: expected MINORITY,MAJORITY, two labels from 0 to 9 (e.g. 4,9), got '${value}'`);
  }
  if (labels[0] === labels[1]) throw new UserError(`--classes: the minority and majority class are both ${labels[0]}; give two different labels`);
  return { minority: labels[0]!, majority: labels[1]! };
}
