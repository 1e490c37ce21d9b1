import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { egtea } from '../../support/run-cli.js';

let work: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'egtea-sweep-cli-'));
});

afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

describe('egtea sweep and egtea paper on bad input', () => {
  it('names an unknown --set key, a bad loss, a bad seed list and a folder of another command, running nothing', () => {
    const out = path.join(work, 'grid');
    const unknown = egtea(['sweep', '--pipeline', 'mnist-imbalanced', '--loss', 'ce', '--set', 'schedule.momentun=0.5', '--out', out]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("egtea: --set schedule.momentun=0.5: 'schedule.momentun' is not a pipeline setting; did you mean 'schedule.momentum'?");
    const badLoss = egtea(['sweep', '--loss', 'ce,hinge', '--out', out]);
    expect(badLoss.code).toBe(2);
    expect(badLoss.stderr).toContain("'hinge' is not one of");
    const seeds = egtea(['sweep', '--seeds', '1,x', '--out', out]);
    expect(seeds.code).toBe(1);
    expect(seeds.stderr).toContain("--seeds: expected a count (3) or a list of positive seeds (1,2,5), got '1,x'");
    const baseline = egtea(['sweep', '--loss', 'ifw,cdb', '--baseline', 'ce', '--out', out]);
    expect(baseline.stderr).toContain('--baseline ce: not among the losses of the grid (ifw, cdb(tau=dynamic))');
    expect(fs.existsSync(out)).toBe(false);
    const other = path.join(work, 'runs-folder');
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(other, 'run.json'), '{}');
    const refused = egtea(['sweep', '--pipeline', 'mnist-imbalanced', '--loss', 'ce', '--out', other]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`egtea: ${other}: not empty and not a sweep folder (no sweep.json); choose another --out`);
  });

  it('paper: names an unknown table and a class pair', () => {
    const table = egtea(['paper', 'table3', '--source', work]);
    expect(table.code).toBe(1);
    expect(table.stderr).toContain('egtea paper table3: no such table; choose table1 (losses by majority ratio) or table2 (CDB by tau)');
    const synthOut = path.join(work, 'paper-synth');
    const synth = egtea(['paper', 'table1', '--source', work, '--pipeline', 'synth', '--out', synthOut]);
    expect(synth.code).toBe(1);
    expect(synth.stderr).toContain(
      'egtea: pipeline synth takes clips of 8 frames; the images --source builds are one-frame clips: choose a pipeline made for images (mnist-imbalanced, fashion-mnist, cifar100-lt, ...)',
    );
    expect(fs.existsSync(synthOut)).toBe(false);
    const pair = egtea(['paper', 'table1', '--source', work, '--classes', '4,4']);
    expect(pair.code).toBe(1);
    expect(pair.stderr).toContain('--classes: the minority and majority class are both 4; give two different labels');
  });
});
