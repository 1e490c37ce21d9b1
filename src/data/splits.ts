import { UserError } from '../util/errors.js';
import type { ClipAnnotation } from './annotations.js';

/** The CDB paper's validation subjects for EGTEA: P20 to P26. */
export const DEFAULT_VALIDATION_SUBJECTS = 'P20-P26';

/**
 * Expands a subject list such as 'P20-P26,OP01' into subject names; a range keeps the prefix
 * and the digit count of its ends (P01-P03 -> P01, P02, P03).
 */
export function parseSubjects(spec: string): Set<string> {
  const subjects = new Set<string>();
  for (const raw of spec.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    const range = /^([A-Za-z]+)(\d+)-([A-Za-z]+)(\d+)$/.exec(part);
    if (range) {
      const [, prefix, from, prefixTo, to] = range as unknown as [string, string, string, string, string];
      if (prefix !== prefixTo) throw new UserError(`subject range '${part}' mixes prefixes ${prefix} and ${prefixTo}`);
      const start = Number(from);
      const end = Number(to);
      if (end < start) throw new UserError(`subject range '${part}' runs backwards`);
      for (let n = start; n <= end; n++) subjects.add(`${prefix}${String(n).padStart(from.length, '0')}`);
    } else if (/^[A-Za-z]+\d+$/.test(part)) {
      subjects.add(part);
    } else {
      throw new UserError(`'${part}' is neither a subject (like P20) nor a range (like P20-P26)`);
    }
  }
  if (subjects.size === 0) throw new UserError(`no subjects in '${spec}'`);
  return subjects;
}

/** Splits the training file by subject: the validation subjects' clips leave the training set. */
export function splitBySubject(train: readonly ClipAnnotation[], validationSubjects: Set<string>): { train: ClipAnnotation[]; validation: ClipAnnotation[] } {
  const validation = train.filter((c) => validationSubjects.has(c.subject));
  if (validation.length === 0) {
    throw new UserError(`no training clip belongs to the validation subjects ${[...validationSubjects].join(', ')}`);
  }
  return { train: train.filter((c) => !validationSubjects.has(c.subject)), validation };
}
