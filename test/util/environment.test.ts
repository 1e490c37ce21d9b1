import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENVIRONMENT_VARIABLES, environmentProblems, environmentTable, environmentValue, type EnvironmentVariable } from '../../src/util/environment.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

function filesUnder(dir: string, pattern: RegExp): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true }).flatMap((entry) => {
    const file = path.join(entry.parentPath, entry.name);
    return entry.isFile() && pattern.test(entry.name) && !file.includes(`${path.sep}build${path.sep}`) ? [file] : [];
  });
}

describe('environment variables: one list', () => {
  it('lists every variable the code reads (process.env.X, and EGTEA_* names anywhere in src, bin and bench)', () => {
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

describe('environment variables: checked', () => {
  /** environmentProblems with these variables set (and every other listed one unset). */
  function problemsWith(values: Record<string, string>, install = false): string[] {
    const saved = new Map(ENVIRONMENT_VARIABLES.map((v) => [v.name, process.env[v.name]] as const));
    try {
      for (const v of ENVIRONMENT_VARIABLES) delete process.env[v.name];
      Object.assign(process.env, values);
      return environmentProblems({ install });
    } finally {
      for (const [name, value] of saved) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  }

  it('every listed variable has a check (or names what checks it)', () => {
    const unchecked = (ENVIRONMENT_VARIABLES as readonly EnvironmentVariable[])
      .filter((v) => v.check === undefined && v.checkedBy === undefined)
      .map((v) => v.name);
    expect(unchecked).toEqual([]);
  });

  it('refuses garbage, naming each variable and its value, and takes good values', () => {
    const notExecutable = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'egtea-environment-')), 'plain.txt');
    fs.writeFileSync(notExecutable, 'not a program', { mode: 0o644 });
    const bad: Record<string, string> = {
      EGTEA_KERNELS: 'yes',
      EGTEA_KERNEL_THREADS: '0',
      EGTEA_NATIVE_PACKAGE: 'not a package',
      TF_ENABLE_ONEDNN_OPTS: 'maybe',
      TF_CPP_MIN_LOG_LEVEL: '-2',
      TF_NUM_INTRAOP_THREADS: '-1',
      TF_NUM_INTEROP_THREADS: '1e9',
      FFMPEG_PATH: '/nonexistent',
      FFPROBE_PATH: notExecutable,
      EGTEA_PYTHON: 'no-such-python-here',
      EGTEA_REFERENCE_DIR: notExecutable,
      CUDA_VISIBLE_DEVICES: 'gpu0',
      TMPDIR: '/nonexistent',
    };
    const problems = problemsWith(bad);
    expect(problems.map((p) => p.split('=')[0])).toEqual(
      Object.keys(bad).sort((a, b) => ENVIRONMENT_VARIABLES.findIndex((v) => v.name === a) - ENVIRONMENT_VARIABLES.findIndex((v) => v.name === b)),
    );
    for (const [name, value] of Object.entries(bad)) expect(problems.find((p) => p.startsWith(`${name}=`))).toContain(`${name}=${JSON.stringify(value)}: `);
    fs.rmSync(path.dirname(notExecutable), { recursive: true });
    expect(
      problemsWith({
        EGTEA_KERNELS: '0',
        EGTEA_KERNEL_THREADS: '2',
        TF_ENABLE_ONEDNN_OPTS: 'false',
        TF_CPP_MIN_LOG_LEVEL: '3',
        TF_NUM_INTRAOP_THREADS: '0',
        FFMPEG_PATH: process.execPath,
        EGTEA_PYTHON: 'sh',
        CUDA_VISIBLE_DEVICES: '0,1',
        TMPDIR: os.tmpdir(),
      }),
    ).toEqual([]);
  });

  it('checks the install-only ones only for an install', () => {
    expect(problemsWith({ EGTEA_SKIP_ENGINE: 'yes', CC: 'no-such-compiler' })).toEqual([]);
    expect(problemsWith({ EGTEA_SKIP_ENGINE: 'yes', CC: 'no-such-compiler' }, true).map((p) => p.split('=')[0])).toEqual(['EGTEA_SKIP_ENGINE', 'CC']);
  });
});
