import {
  EGTEA_RECIPES,
  EGTEA_TEST_COUNTS,
  EGTEA_TEST_SUBJECTS,
  EGTEA_TRAIN_COUNTS,
  EGTEA_TRAIN_SUBJECTS,
  EGTEA_VERBS,
  EGTEA_FRAME_RATE,
} from '../../data/egtea-profile.js';
import { parseSubjects, DEFAULT_VALIDATION_SUBJECTS } from '../../data/splits.js';
import { UserError } from '../../util/errors.js';
import { SeededRandom } from '../../util/random.js';

export interface PlannedClip {
  index: number;
  clip: string;
  session: string;
  subject: string;
  verb: number;
  split: 'train' | 'test';
  durationMs: number;
}

export interface SynthPlan {
  /** Number of clips. */
  total: number;
  classes: readonly string[];
  /**
   * The clips in order, made as they are asked for (a plan of millions of clips never sits in
   * memory as objects); each call replays the same clips.
   */
  clips(): Generator<PlannedClip>;
}

function weightedPick(random: SeededRandom, weights: Record<string, number>, allowed?: (key: string) => boolean): string {
  const entries = Object.entries(weights).filter(([k]) => !allowed || allowed(k));
  const total = entries.reduce((s, [, w]) => s + w, 0);
  let r = random.next() * total;
  for (const [key, w] of entries) {
    r -= w;
    if (r < 0) return key;
  }
  return entries[entries.length - 1]![0];
}

/**
 * Clips per class and split: EGTEA's counts scaled to exactly `total`, at least 2 training-file
 * and 1 test clip per class, rounding settled by largest remainders.
 */
function allocate(total: number, realTotal: number): { train: number; test: number }[] {
  const cells = EGTEA_VERBS.flatMap((_, verb) => [
    { verb, split: 'train' as const, target: (EGTEA_TRAIN_COUNTS[verb]! * total) / realTotal, minimum: 2 },
    { verb, split: 'test' as const, target: (EGTEA_TEST_COUNTS[verb]! * total) / realTotal, minimum: 1 },
  ]).map((cell) => ({ ...cell, count: Math.max(cell.minimum, Math.round(cell.target)) }));
  let sum = cells.reduce((s, c) => s + c.count, 0);
  while (sum > total) {
    const cell = cells.filter((c) => c.count > c.minimum).sort((a, b) => b.count - b.target - (a.count - a.target))[0]!;
    cell.count -= 1;
    sum -= 1;
  }
  while (sum < total) {
    const cell = [...cells].sort((a, b) => b.target - b.count - (a.target - a.count))[0]!;
    cell.count += 1;
    sum += 1;
  }
  return EGTEA_VERBS.map((_, verb) => ({
    train: cells.find((c) => c.verb === verb && c.split === 'train')!.count,
    test: cells.find((c) => c.verb === verb && c.split === 'test')!.count,
  }));
}

/**
 * Scales EGTEA's class imbalance and subjects to `total` clips. Every class gets at least one
 * clip in the training subjects, one in the validation subjects (P20-P26) and one in the test
 * file, so every split can be evaluated per class.
 */
export function planSyntheticDataset(total: number, seed: number, durationSeconds: [number, number]): SynthPlan {
  const minimum = EGTEA_VERBS.length * 3;
  if (!Number.isSafeInteger(total) || total < minimum) throw new UserError(`synth needs at least ${minimum} clips (3 per class), not ${total}`);
  const counts = allocate(
    total,
    [...EGTEA_TRAIN_COUNTS, ...EGTEA_TEST_COUNTS].reduce((a, b) => a + b, 0),
  );
  return { total, classes: EGTEA_VERBS, clips: () => replay(total, seed, counts, durationSeconds) };
}

function* replay(total: number, seed: number, counts: { train: number; test: number }[], durationSeconds: [number, number]): Generator<PlannedClip> {
  const random = new SeededRandom(seed).fork('plan');
  const validation = parseSubjects(DEFAULT_VALIDATION_SUBJECTS);
  const isValidation = (s: string) => validation.has(s);
  // Subject, verb and split of each clip in compact arrays: 4 bytes a clip.
  const subjects: string[] = [];
  const subjectIndex = new Map<string, number>();
  const subjectOf = new Uint16Array(total);
  const verbOf = new Uint8Array(total);
  const testOf = new Uint8Array(total);
  let n = 0;
  const add = (subject: string, verb: number, test: boolean) => {
    if (!subjectIndex.has(subject)) subjectIndex.set(subject, subjects.push(subject) - 1);
    subjectOf[n] = subjectIndex.get(subject)!;
    verbOf[n] = verb;
    testOf[n] = test ? 1 : 0;
    n += 1;
  };
  EGTEA_VERBS.forEach((_, verb) => {
    const { train: trainCount, test: testCount } = counts[verb]!;
    for (let i = 0; i < trainCount; i++) {
      const subject =
        i === 0
          ? weightedPick(random, EGTEA_TRAIN_SUBJECTS, isValidation)
          : i === 1
            ? weightedPick(random, EGTEA_TRAIN_SUBJECTS, (s) => !isValidation(s))
            : weightedPick(random, EGTEA_TRAIN_SUBJECTS);
      add(subject, verb, false);
    }
    for (let i = 0; i < testCount; i++) add(weightedPick(random, EGTEA_TEST_SUBJECTS), verb, true);
  });
  // The same Fisher-Yates draws as SeededRandom.shuffle, on an index (plans stay as they were).
  const order = new Uint32Array(total);
  for (let i = 0; i < total; i++) order[i] = i;
  for (let i = total - 1; i > 0; i--) {
    const j = random.int(0, i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  // Clips of one recording follow each other in time, as in the real names.
  const clock = new Map<string, number>();
  const frame = (ms: number) => `F${String(Math.round((ms * EGTEA_FRAME_RATE) / 1000)).padStart(6, '0')}`;
  for (let index = 0; index < total; index++) {
    const p = order[index]!;
    const subject = subjects[subjectOf[p]!]!;
    const recipe = weightedPick(random, EGTEA_RECIPES);
    const session = `${subject}-${recipe}`;
    const start = (clock.get(session) ?? random.int(10_000, 60_000)) + random.int(500, 5_000);
    const durationMs = Math.round(random.uniform(durationSeconds[0], durationSeconds[1]) * 1000);
    clock.set(session, start + durationMs);
    const clip = `${session}-${start}-${start + durationMs}-${frame(start)}-${frame(start + durationMs)}`;
    yield { subject, verb: verbOf[p]!, split: testOf[p] ? 'test' : 'train', index, clip, session, durationMs };
  }
}
