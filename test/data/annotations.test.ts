import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { labelOf, readAnnotations, readClassIndex, readSplitFile } from '../../src/data/annotations.js';
import { classGroups, countPerClass, meanCount } from '../../src/data/class-groups.js';
import { parseClipName } from '../../src/data/clip-name.js';
import { EGTEA_TEST_COUNTS, EGTEA_TRAIN_COUNTS, EGTEA_TRAIN_SUBJECTS, EGTEA_VERBS } from '../../src/data/egtea-profile.js';
import { parseSubjects, splitBySubject } from '../../src/data/splits.js';
import { SHARED, skipWithoutShared, temporaryFolder } from '../helpers.js';

const EGTEA = path.join(SHARED, 'egtea');

function folder(files: Record<string, string>): string {
  const dir = temporaryFolder('egtea-annotations-');
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

const VERBS = 'Take 1\nPut 2\nTurn on 3\n';
const GOOD = 'P01-R01-PastaSalad-1000-2000-F000024-F000048 1 1 1\n';

describe.skipIf(skipWithoutShared('egtea'))('EGTEA annotations (the real split-1 files)', () => {
  it('reads 8299 training and 2022 test clips, 19 verb classes with their names, lines with several nouns', async () => {
    const set = await readAnnotations(EGTEA);
    expect(set.train).toHaveLength(8299);
    expect(set.test).toHaveLength(2022);
    expect(set.indices.verb!.names).toEqual([...EGTEA_VERBS]);
    expect(set.indices.verb!.names[4]).toBe('Turn on');
    expect(set.train.some((c) => c.nouns.length > 1)).toBe(true);
    const first = set.train[0]!;
    expect(first).toMatchObject({ subject: 'OP01', session: 'OP01-R01-PastaSalad', recipe: 'PastaSalad', startFrame: 24539, endFrame: 24581, verb: 5 });
    expect(set.warnings).toEqual([]);
  });

  it("matches the profile synth uses, and the paper's group sizes: 1216.0 and 158.5 clips per class", async () => {
    const set = await readAnnotations(EGTEA);
    const train = countPerClass(
      set.train.map((c) => labelOf(c, 'verb')),
      19,
    );
    expect(train).toEqual(EGTEA_TRAIN_COUNTS);
    expect(
      countPerClass(
        set.test.map((c) => labelOf(c, 'verb')),
        19,
      ),
    ).toEqual(EGTEA_TEST_COUNTS);
    const subjects: Record<string, number> = {};
    for (const c of set.train) subjects[c.subject] = (subjects[c.subject] ?? 0) + 1;
    expect(subjects).toEqual(EGTEA_TRAIN_SUBJECTS);
    const groups = classGroups(train, 5);
    expect(groups.majority.map((c) => EGTEA_VERBS[c])).toEqual(['Inspect/Read', 'Open', 'Take', 'Cut', 'Put']);
    expect(meanCount(train, groups.majority)).toBeCloseTo(1216.0, 10);
    expect(meanCount(train, groups.minority)).toBeCloseTo(158.5, 10);
  });

  it('splits validation off by subject: P20-P26 by default', async () => {
    const set = await readAnnotations(EGTEA);
    const { train, validation } = splitBySubject(set.train, parseSubjects('P20-P26'));
    expect(validation).toHaveLength(1927);
    expect(train).toHaveLength(6372);
    expect(new Set(validation.map((c) => c.subject))).toEqual(new Set(['P20', 'P21', 'P22', 'P23', 'P24', 'P25', 'P26']));
  });
});

describe('annotation input checks', () => {
  it('parses clip names and refuses ones that could leave the data folder', () => {
    expect(parseClipName('OP03-R04-ContinentalBreakfast-147341-148935-F003533-F003578')).toMatchObject({ subject: 'OP03', startMs: 147341, endFrame: 3578 });
    expect(parseClipName('../P01-R01-x-1-2-F1-F2')).toMatch(/characters a file name cannot have/);
    expect(parseClipName('P01/R01-PastaSalad-1-2-F1-F2-F3')).toMatch(/characters a file name cannot have/);
    // Letters beyond ASCII are refused, and the message says so and shows the first one.
    expect(parseClipName('P01-R01-Crêpes-1-2-F1-F2')).toBe(
      "clip name 'P01-R01-Crêpes-1-2-F1-F2' has characters a file name cannot have: it holds 'ê'; only ASCII letters (A-Z, a-z), digits, '-', '_' and '.' are allowed, starting with a letter or digit, and no '..'",
    );
    expect(parseClipName('../P01-R01-x-1-2-F1-F2')).toMatch(/: it starts with '\.'; only ASCII letters/);
    expect(parseClipName('P01-R01-PastaSalad-1-2')).toMatch(/does not have the form/);
  });

  it.each([
    [
      'a line with too few fields',
      'P01-R01-PastaSalad-1000-2000-F000024-F000048 1 1\n',
      /train_split1\.txt:1: expected '<clip> <action id> <verb id> <noun id> \[\.\.\.\]', got 3 field/,
    ],
    [
      'an unknown verb id',
      `${GOOD}P01-R01-PastaSalad-3000-4000-F000072-F000096 1 7 1\n`,
      /train_split1\.txt:2: unknown verb id 7 \(verb_idx\.txt lists 3 classes\)/,
    ],
    ['an id that is not a number', 'P01-R01-PastaSalad-1000-2000-F000024-F000048 1 x 1\n', /train_split1\.txt:1: verb id 'x' is not a whole number/],
    ['a clip name with a path in it', 'P01/../../etc-R01-x-1-2-F1-F2 1 1 1\n', /train_split1\.txt:1: clip name .* has characters a file name cannot have/],
    ['an empty split file', '\n\n', /train_split1\.txt: no clips/],
  ])('refuses %s, naming the file and line', async (_, train, message) => {
    const dir = folder({ 'verb_idx.txt': VERBS, 'train_split1.txt': train, 'test_split1.txt': GOOD });
    await expect(readAnnotations(dir)).rejects.toThrow(message);
  });

  it('keeps the first of two lines for the same clip and warns with both line numbers', async () => {
    const warnings: string[] = [];
    const dir = folder({ 'verb_idx.txt': VERBS, 'train_split1.txt': `${GOOD}${GOOD}` });
    const index = await readClassIndex(path.join(dir, 'verb_idx.txt'));
    const clips = await readSplitFile(path.join(dir, 'train_split1.txt'), { verb: index }, warnings);
    expect(clips).toHaveLength(1);
    expect(warnings[0]).toMatch(/train_split1\.txt:2: clip P01-R01-PastaSalad-1000-2000-F000024-F000048 repeats line 1/);
  });

  it('refuses a class index with a gap or a repeated id, and a missing file', async () => {
    await expect(readClassIndex(path.join(folder({ 'verb_idx.txt': 'Take 1\nPut 3\n' }), 'verb_idx.txt'))).rejects.toThrow(/class id 2 is missing/);
    await expect(readClassIndex(path.join(folder({ 'verb_idx.txt': 'Take 1\nPut 1\n' }), 'verb_idx.txt'))).rejects.toThrow(
      /verb_idx\.txt:2: class id 1 is listed twice/,
    );
    await expect(readAnnotations(folder({ 'train_split1.txt': GOOD }))).rejects.toThrow(/verb_idx\.txt: missing/);
    await expect(readAnnotations(folder({ 'verb_idx.txt': VERBS }))).rejects.toThrow(/train_split1\.txt: cannot read \(ENOENT\)/);
  });

  it('expands subject lists and ranges, and refuses nonsense', () => {
    expect([...parseSubjects('P20-P22,OP01')]).toEqual(['P20', 'P21', 'P22', 'OP01']);
    expect([...parseSubjects('P08-P10')]).toEqual(['P08', 'P09', 'P10']);
    expect(() => parseSubjects('P20-OP22')).toThrow(/mixes prefixes/);
    expect(() => parseSubjects('P22-P20')).toThrow(/runs backwards/);
    expect(() => parseSubjects('twenty')).toThrow(/neither a subject/);
  });
});
