import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { docBlock, REPO_ROOT } from '../../support/docs.js';

// The library example of docs/library.md, run as a user's module: `import ... from 'egtea'` resolves
// through package.json's exports to the built dist/ (the e2e project builds it first). The
// full install from the packed tarball is `npm run test:package`.
describe("docs/library.md's example", () => {
  it('imports the built package by name, takes a CDB step and prints the weights the accuracies give', () => {
    const example = docBlock('docs/library.md', '## A training step of your own', 'js');
    expect(example).toMatch(/from 'egtea'/);
    // Evaluated code resolves bare names from the working folder, here egtea's own package
    // (a self-reference, as a package's own scripts import it).
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', example], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 100_000 });
    expect(result.status, result.stderr).toBe(0);

    const loss = Number(/^loss (\S+)$/m.exec(result.stdout)?.[1]);
    // 19 classes, uniform weights before the first update, random logits near 0: about ln 19.
    expect(loss).toBeGreaterThan(Math.log(19) - 1);
    expect(loss).toBeLessThan(Math.log(19) + 1);

    // The example's accuracies are 0.5 + c/40; the weights follow from the paper's rule here,
    // written out independently of egtea's code.
    const accuracy = Array.from({ length: 19 }, (_, c) => 0.5 + c / 40);
    const bias = Math.max(...accuracy) / (Math.min(...accuracy) + 1e-4) - 1;
    const tau = 2 / (1 + Math.exp(-bias));
    const raw = accuracy.map((a) => (1 - a) ** tau);
    const total = raw.reduce((s, w) => s + w, 0);
    const weights = raw.map((w) => (w * 19) / total);
    const printed = /^tau (\S+) weights (.+)$/m.exec(result.stdout);
    expect(printed, result.stdout).not.toBeNull();
    expect(printed![1]).toBe(tau.toFixed(3));
    expect(printed![2]).toBe(weights.map((w) => w.toFixed(2)).join(' '));
  });
});
