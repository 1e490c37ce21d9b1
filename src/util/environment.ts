// Every environment variable egtea reads, in one place (as transformers.js keeps its `env`):
// what it does, its default, and who reads it. Code reads them through `environmentValue`, so a
// variable cannot be read without being listed; docs/install.md's table is `environmentTable()`.
// bin/install-engine.mjs runs before the build and reads its own variables directly; they are
// listed here all the same.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { nearestName } from './nearest-name.js';

export interface EnvironmentVariable {
  name: string;
  /** One line: what it does. */
  effect: string;
  /** What happens when it is unset. */
  fallback: string;
  /** Where it is read, for maintainers moving code. */
  readBy: readonly string[];
  /** What is wrong with a value (null: nothing); see checkEnvironment. */
  check?: (value: string) => string | null;
  /** Checked elsewhere, and by what. */
  checkedBy?: string;
  /** Read only by `egtea engine install` (bin/install-engine.mjs): checked there, not by every command. */
  installOnly?: boolean;
}

// What a value must be, each as a check returning what is wrong (null: nothing).
const zeroOrOne = (v: string) => (v === '0' || v === '1' ? null : 'must be 0 or 1');
const integerIn = (low: number, high: number) => (v: string) =>
  /^\d+$/.test(v.trim()) && Number(v) >= low && Number(v) <= high ? null : `must be a whole number from ${low} to ${high}`;
/** Threads: from `low` to 8 per core (more only thrash; TensorFlow aborts on negative counts and stalls on huge ones). */
const threadCount = (low: number) => (v: string) => {
  const most = 8 * os.availableParallelism();
  return integerIn(low, most)(v) === null
    ? null
    : `must be a whole number of threads from ${low} to ${most} (8 per core on this machine)${low === 0 ? "; 0 is TensorFlow's own choice" : ''}`;
};
const stat = (v: string) => {
  try {
    return fs.statSync(v);
  } catch {
    return null;
  }
};
// An npm package's name, or the folder of an engine built with `engine install --engine-dir`.
const packageName = (v: string) =>
  /^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*$/.test(v) || stat(v)?.isDirectory() ? null : 'is neither an npm package name nor a folder';
const existingFolder = (v: string) => (stat(v)?.isDirectory() ? null : stat(v) ? 'is not a folder' : 'no such folder');
const folderOrAbsent = (v: string) => (stat(v) === null || stat(v)!.isDirectory() ? null : 'is a file, not a folder');
const existingFile = (v: string) => (stat(v)?.isFile() ? null : stat(v) ? 'is not a file' : 'no such file');
const executableFile = (v: string) => {
  const problem = existingFile(v);
  if (problem !== null) return problem;
  try {
    fs.accessSync(v, fs.constants.X_OK);
    return null;
  } catch {
    return 'is not executable';
  }
};
/** A program: a path to an executable, or a name found on PATH (its first word: CC may carry flags). */
const command = (v: string) => {
  const program = v.trim().split(/\s+/)[0] ?? '';
  if (program.includes('/')) return executableFile(program);
  // The shell's own lookup: finds it as a spawn would, without running it.
  const found = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', program], { stdio: 'ignore' }).status === 0;
  return found ? null : `no program '${program}' on PATH`;
};

export const ENVIRONMENT_VARIABLES = [
  {
    name: 'EGTEA_BACKEND',
    effect: 'the default of the global `--backend`: `auto`, `tensorflow` or `cpu`; any other value is refused naming the variable',
    fallback: '`auto`: native GPU, then native CPU, then pure JS with a loud warning',
    readBy: ['src/cli/main.ts', 'src/engine/backend.ts', 'src/bench/model-worker.ts'],
    checkedBy: 'commander', // --backend's choices refuse a bogus value naming the variable (exit 2)
  },
  {
    name: 'EGTEA_KERNELS',
    effect: "`0`: do not use egtea's kernels (pure tfjs ops instead)",
    fallback: 'kernels used when built',
    readBy: ['src/engine/kernels.ts'],
    check: zeroOrOne,
  },
  {
    name: 'EGTEA_KERNEL_THREADS',
    effect: "threads for egtea's kernels",
    fallback: 'all cores',
    readBy: ['src/distributed/launcher.ts', 'src/engine/kernels.ts'],
    check: threadCount(1),
  },
  {
    name: 'EGTEA_NATIVE_PACKAGE',
    effect: 'the package giving the native backend: a package name, or the folder of an engine built with `engine install --engine-dir`',
    fallback: '`@tensorflow/tfjs-node-gpu`',
    readBy: ['src/engine/backend.ts'],
    check: packageName,
  },
  {
    name: 'EGTEA_GPU_BUILD_ON_CPU',
    effect:
      '`1`: let a GPU build (`engine install --gpu`) run on its CPU device where no GPU is usable, instead of stopping (to test the build); `0` or unset: stop',
    fallback: 'a GPU build without a usable GPU stops with a message naming what did not load',
    readBy: ['src/engine/backend.ts'],
    check: zeroOrOne,
  },
  {
    name: 'TF_ENABLE_ONEDNN_OPTS',
    effect: "TensorFlow's oneDNN CPU kernels; egtea sets it to `1` unless you set it (its convolutions run about twice as fast)",
    fallback: 'set to `1`',
    readBy: ['src/engine/backend.ts', 'TensorFlow'],
    check: (v) => (/^(0|1|true|false)$/i.test(v) ? null : 'must be 0 or 1 (or true, false)'),
  },
  {
    name: 'TF_CPP_MIN_LOG_LEVEL',
    effect: "TensorFlow's log level (0 shows everything, 3 errors only)",
    fallback: 'set to `2` (`3` in the install probe)',
    readBy: ['src/engine/backend.ts', 'bin/install-engine.mjs', 'TensorFlow'],
    check: integerIn(0, 3),
  },
  {
    name: 'TF_NUM_INTRAOP_THREADS',
    effect: 'threads inside one TensorFlow op; `egtea engine` reports it',
    fallback: 'all cores',
    readBy: ['src/distributed/launcher.ts', 'src/engine/backend.ts', 'TensorFlow'],
    check: threadCount(0),
  },
  {
    name: 'TF_NUM_INTEROP_THREADS',
    effect: 'TensorFlow ops run side by side; `egtea engine` reports it',
    fallback: 'all cores',
    readBy: ['src/engine/backend.ts', 'TensorFlow'],
    check: threadCount(0),
  },
  {
    name: 'FFMPEG_PATH',
    effect: 'the ffmpeg that `synth` and `prepare` run',
    fallback: 'the build that comes from npm (`@ffmpeg-installer`)',
    readBy: ['src/video/ffmpeg-binaries.ts'],
    check: executableFile,
  },
  {
    name: 'FFPROBE_PATH',
    effect: 'the ffprobe that `prepare` runs',
    fallback: 'the build that comes from npm (`@ffprobe-installer`)',
    readBy: ['src/video/ffmpeg-binaries.ts'],
    check: executableFile,
  },
  {
    name: 'EGTEA_PYTHON',
    effect: "the Python (with PyTorch, PIL) that runs the benchmarks' references and the reference-parity tests",
    fallback: '`python3`',
    readBy: ['src/bench/reference.ts', 'src/bench/loader-bench.ts', 'test/reference.ts'],
    check: command,
  },
  {
    name: 'EGTEA_REFERENCE_DIR',
    effect: 'folder of the PyTorch 3D-ResNeXt reference for `bench model`',
    fallback: '`../shared/reference`',
    readBy: ['bench/model/reference.py'],
    check: existingFolder,
  },
  {
    name: 'EGTEA_TF_WHEEL',
    effect: 'install: the pip requirement of the TensorFlow wheel (`tensorflow==2.21.0` for the CUDA 12 build)',
    fallback: '`tensorflow-cpu==2.21.0`',
    readBy: ['bin/install-engine.mjs'],
    check: (v) =>
      /^[A-Za-z0-9][\w.-]*(\[[\w,.-]+\])?\s*((==|>=|<=|~=|!=|<|>)\s*[\w.*+!-]+\s*,?\s*)*$/.test(v)
        ? null
        : 'is not a pip requirement such as tensorflow==2.21.0',
    installOnly: true,
  },
  {
    name: 'EGTEA_TF_WHEEL_FILE',
    effect: 'install: a wheel already on disk (skips pip)',
    fallback: 'downloaded with pip',
    readBy: ['bin/install-engine.mjs'],
    check: (v) => existingFile(v) ?? (v.endsWith('.whl') ? null : 'is not a wheel (a .whl file)'),
    installOnly: true,
  },
  {
    name: 'EGTEA_CACHE',
    effect: 'install: cache folder of the wheel and libtensorflow',
    fallback: '`~/.cache/egtea`',
    readBy: ['bin/install-engine.mjs'],
    check: folderOrAbsent,
    installOnly: true,
  },
  {
    name: 'EGTEA_SKIP_ENGINE',
    effect: 'install: `1` skips native TensorFlow (pure-JS backend only)',
    fallback: 'built',
    readBy: ['bin/install-engine.mjs'],
    check: zeroOrOne,
    installOnly: true,
  },
  {
    name: 'EGTEA_SKIP_KERNELS',
    effect: "install: `1` skips egtea's own CPU kernels (`src/engine/native`)",
    fallback: 'built',
    readBy: ['bin/install-engine.mjs', 'test/engine/backend.test.ts'],
    check: zeroOrOne,
    installOnly: true,
  },
  {
    name: 'EGTEA_REQUIRE_ENGINE',
    effect: 'install: `1` fails (exit 1) instead of warning when the engine or kernels cannot be built (CI sets it)',
    fallback: 'a warning',
    readBy: ['bin/install-engine.mjs'],
    check: zeroOrOne,
    installOnly: true,
  },
  {
    name: 'PYTHON',
    effect: 'install: the Python whose pip downloads the wheel',
    fallback: '`python3`',
    readBy: ['bin/install-engine.mjs'],
    check: command,
    installOnly: true,
  },
  {
    name: 'CC',
    effect: 'install: the C compiler that checks for the libjpeg headers',
    fallback: '`cc`',
    readBy: ['bin/install-engine.mjs'],
    check: command,
    installOnly: true,
  },
  {
    name: 'npm_config_nodedir',
    effect: "install: Node's headers for compiling the binding and the kernels (npm sets it from `--nodedir`)",
    fallback: "Node's install prefix, `/usr`, `/usr/local`",
    readBy: ['bin/install-engine.mjs'],
    check: existingFolder,
    installOnly: true,
  },
  {
    name: 'CUDA_VISIBLE_DEVICES',
    effect: "the GPUs TensorFlow may use (CUDA's own); named in the message when a GPU was asked for and none was usable",
    fallback: 'every GPU',
    readBy: ['src/distributed/launcher.ts', 'src/engine/backend.ts'],
    check: (v) =>
      /^(-1|\s*(\d+|GPU-[0-9a-fA-F-]+|MIG-[\w/-]+)(\s*,\s*(\d+|GPU-[0-9a-fA-F-]+|MIG-[\w/-]+))*\s*)$/.test(v)
        ? null
        : 'is not a list of GPU indices or UUIDs such as 0,1 (or -1 for none)',
  },
  {
    name: 'TMPDIR',
    effect: "install: where `engine install --gpu` writes pip's resolution report",
    fallback: '`/tmp`',
    readBy: ['bin/gpu-wheels.mjs'],
    check: existingFolder,
  },
] as const satisfies readonly EnvironmentVariable[];

export type EnvironmentName = (typeof ENVIRONMENT_VARIABLES)[number]['name'];

/**
 * Every listed variable that is set, checked: one line for each bad one, naming it, its value
 * and what it must be (empty when all are fine). Install-only variables are checked with
 * `install`. Run before TensorFlow loads: it aborts or stalls on some values of its own.
 */
export function environmentProblems(options: { install?: boolean } = {}): string[] {
  const problems: string[] = [];
  for (const variable of ENVIRONMENT_VARIABLES as readonly EnvironmentVariable[]) {
    if (variable.installOnly && !options.install) continue;
    const value = process.env[variable.name];
    if (value === undefined || value === '' || variable.check === undefined) continue;
    const problem = variable.check(value);
    if (problem !== null) problems.push(`${variable.name}=${JSON.stringify(value)}: ${problem} (${variable.effect}); fix or unset it`);
  }
  return problems;
}

/** EGTEA_* variables egtea does not read: most likely a misspelling of one it does. */
export function unknownEgteaVariables(): string[] {
  const known = ENVIRONMENT_VARIABLES.map((v) => v.name as string);
  return Object.keys(process.env)
    .filter((name) => name.startsWith('EGTEA_') && !known.includes(name))
    .map((name) => {
      const near = nearestName(
        name,
        known.filter((k) => k.startsWith('EGTEA_')),
      );
      return `${name} is not a variable egtea reads${near !== null ? ` (did you mean ${near}?)` : ''}; it has no effect`;
    });
}

/** A listed variable's value; empty counts as unset. */
export function environmentValue(name: EnvironmentName): string | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
}

/** The Python that runs references (benchmarks, parity tests). */
export function referencePython(): string {
  return environmentValue('EGTEA_PYTHON') ?? 'python3';
}

/** docs/install.md's table of environment variables. */
export function environmentTable(): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  return [
    '| variable | effect | unset |',
    '| --- | --- | --- |',
    ...ENVIRONMENT_VARIABLES.map((v: EnvironmentVariable) => `| \`${v.name}\` | ${cell(v.effect)} | ${cell(v.fallback)} |`),
  ].join('\n');
}
