import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { egtea } from '../../support/run-cli.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'egtea-weights-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('egtea weights', () => {
  it('prints exactly one JSON document with --json: tau, difficulty and weight per class', () => {
    const run = egtea(['weights', '--accuracy', '0.9,0.7,0.5,0.3,0.6', '--json']);
    expect(run.code).toBe(0);
    const document = JSON.parse(run.stdout);
    expect(document.tau).toBeCloseTo(1.76138, 5);
    expect(document.classes).toHaveLength(5);
    expect(document.classes[3].difficulty).toBeCloseTo(0.7, 10);
  });

  it('reads per-class accuracies from a saved report, with names and an absent class', () => {
    const report = path.join(work, 'report.json');
    fs.writeFileSync(
      report,
      JSON.stringify({
        perClass: [
          { index: 0, name: 'Take', support: 10, accuracy: 0.4, precision: 0.5 },
          { index: 1, name: 'Clean', support: 0, accuracy: null, precision: null },
          { index: 2, name: 'Put', support: 8, accuracy: 0.8, precision: 0.7 },
        ],
      }),
    );
    const run = egtea(['weights', '--from', report, '--tau', '1', '--normalize', 'none']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Take\s+0\.4000\s+0\.6000\s+0\.6000/);
    expect(run.stdout).toMatch(/Clean\s+-\s+-\s+1\.0000/);
    expect(run.stderr).toMatch(/no validation samples keep their previous weight/);
  });

  it('exits 1 with one clear line for bad input, 2 for bad usage', () => {
    const bad = egtea(['weights', '--accuracy', '0.5,1.5']);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe('egtea: accuracy of class 1 is 1.5; accuracies lie in [0, 1]');
    const missing = egtea(['weights', '--from', '/nonexistent/report.json']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/\/nonexistent\/report\.json: cannot read an evaluation report \(ENOENT\)/);
    const usage = egtea(['weights', '--accuracy', '0.5,x']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/'x' in '0.5,x' is not a number/);
    expect(egtea(['weights', '--tau-rule', 'magic', '--accuracy', '0.5']).code).toBe(2);
  });

  it('refuses a report whose accuracies are all null instead of printing tau NaN', () => {
    const report = path.join(work, 'empty.json');
    fs.writeFileSync(report, JSON.stringify({ perClass: [0, 1].map((index) => ({ index, name: `c${index}`, support: 0, accuracy: null, precision: null })) }));
    const run = egtea(['weights', '--from', report, '--json']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim()).toBe(`egtea: ${report}: no class has an accuracy (every class had no samples); evaluate on a split with samples`);
  });
});
