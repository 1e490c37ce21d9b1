import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENVIRONMENT_VARIABLES, environmentTable, environmentValue } from '../../src/util/environment.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

function filesUnder(dir: string, pattern: RegExp): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true }).flatMap((entry) => {
    const file = path.join(entry.parentPath, entry.name);
    return entry.isFile() && pattern.test(entry.name) && !file.includes(`${path.sep}build${path.sep}`) ? [file] : [];
  });
}

describe('environment variables: one list', () => {
  it("lists every variable the code reads (process.env.X, and EGTEA_* names anywhere in src, bin and bench)", () => {
    const listed = new Set<string>(ENVIRONMENT_VARIABLES.map((v) => v.name));
    const read = new Map<string, string>();
    for (const file of [...filesUnder('src', /\.ts$/), ...filesUnder('bin', /^(egtea|.*\.mjs)$/), ...filesUnder('bench', /\.(ts|py)$/)]) {
      const text = fs.readFileSync(file, 'utf8');
      for (const match of text.matchAll(/process\.env\.([A-Za-z_][A-Za-z0-9_]*)|os\.environ\.get\('([A-Z_]+)'|'(EGTEA_[A-Z_]+)'/g)) {
        const name = match[1] ?? match[2] ?? match[3]!;
        // JOBS is one the install step sets for node-gyp, not one it reads.
        if (name !== 'JOBS') read.set(name, path.relative(ROOT, file));
      }
    }
    const unlisted = [...read].filter(([name]) => !listed.has(name));
    expect(unlisted, 'variables read but missing from src/util/environment.ts').toEqual([]);
    expect(read.size).toBeGreaterThan(10);
  });

  it("docs/install.md's table is environmentTable()", () => {
    const page = fs.readFileSync(path.join(ROOT, 'docs', 'install.md'), 'utf8');
    const start = page.indexOf('| variable | effect | unset |');
    expect(start, 'docs/install.md has no table of environment variables').toBeGreaterThanOrEqual(0);
    const end = page.indexOf('\n\n', start);
    expect(page.slice(start, end)).toBe(environmentTable());
  });

  it('reads a listed variable, an empty one as unset', () => {
    const saved = process.env.EGTEA_KERNEL_THREADS;
    try {
      process.env.EGTEA_KERNEL_THREADS = '3';
      expect(environmentValue('EGTEA_KERNEL_THREADS')).toBe('3');
      process.env.EGTEA_KERNEL_THREADS = '';
      expect(environmentValue('EGTEA_KERNEL_THREADS')).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env.EGTEA_KERNEL_THREADS;
      else process.env.EGTEA_KERNEL_THREADS = saved;
    }
  });
});
