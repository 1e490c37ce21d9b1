import { distance } from 'fastest-levenshtein';

/**
 * The known name closest to a mistyped one (case ignored, so `learningrate` finds
 * `learningRate`), or null when none is close enough to be a likely typo.
 */
export function nearestName(word: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = distance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  // A third of the word (at least 2 edits) is what a slip of the keyboard changes.
  return best !== null && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : null;
}
