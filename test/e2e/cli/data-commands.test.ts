import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHARED, skipWithoutShared, temporaryFolder } from '../../helpers.js';
import { egtea } from '../../support/run-cli.js';

describe.skipIf(skipWithoutShared('egtea'))('egtea info', () => {
  it('reports the four splits and the class groups of the real annotations as JSON', () => {
    const run = egtea(['info', '--annotations', path.join(SHARED, 'egtea'), '--json']);
    expect(run.code).toBe(0);
    const info = JSON.parse(run.stdout);
    expect(info.splits.map((s: { split: string; clips: number }) => [s.split, s.clips])).toEqual([
      ['train file', 8299],
      ['train', 6372],
      ['validation', 1927],
      ['test', 2022],
    ]);
    expect(info.groups.majorityNames).toEqual(['Inspect/Read', 'Open', 'Take', 'Cut', 'Put']);
    expect(info.splits[0].groupMeans.majority).toBeCloseTo(1216, 6);
  });

  it('takes other validation subjects and group sizes, and names a missing folder', () => {
    const run = egtea(['info', '--annotations', path.join(SHARED, 'egtea'), '--val-subjects', 'P01-P03,OP06', '--majority', '3', '--json']);
    const info = JSON.parse(run.stdout);
    expect(info.validationSubjects).toEqual(['P01', 'P02', 'P03', 'OP06']);
    expect(info.groups.majority).toHaveLength(3);
    const missing = egtea(['info', '--annotations', '/nonexistent']);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe('egtea: /nonexistent/verb_idx.txt: missing (an annotation folder needs the verb class names)');
  });
});

describe('egtea synth', () => {
  it('refuses a bad size or duration as a usage error', () => {
    expect(egtea(['synth', '--size', '641x480']).code).toBe(2);
    expect(egtea(['synth', '--seconds', '3-1']).code).toBe(2);
  });

  it('refuses a set too large to make at once, with the limit, and writes nothing', () => {
    const out = path.join(temporaryFolder('egtea-cli-synth-huge-'), 'set');
    const started = Date.now();
    const run = egtea(['synth', '--out', out, '--clips', '100000000']);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe("egtea: --clips 100000000: synth makes at most 1000000 clips (about 100 times EGTEA's 10321; each clip is one ffmpeg run)");
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('makes a dataset that info reads, printing one JSON document', () => {
    const out = temporaryFolder('egtea-cli-synth-');
    const run = egtea(['synth', '--out', out, '--clips', '57', '--size', '96x72', '--fps', '8', '--seconds', '0.3-0.5', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ clips: 57, written: 57, seed: 1 });
    const info = JSON.parse(egtea(['info', '--annotations', path.join(out, 'annotations'), '--json']).stdout);
    expect(info.classes).toHaveLength(19);
  });
});
