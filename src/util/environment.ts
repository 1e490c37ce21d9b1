// Every environment variable egtea reads, in one place (as transformers.js keeps its `env`):
// what it does, its default, and who reads it. Code reads them through `environmentValue`, so a
// variable cannot be read without being listed; docs/install.md's table is `environmentTable()`.
// bin/install-engine.mjs runs before the build and reads its own variables directly; they are
// listed here all the same.

export interface EnvironmentVariable {
  name: string;
  /** One line: what it does. */
  effect: string;
  /** What happens when it is unset. */
  fallback: string;
  /** Where it is read, for maintainers moving code. */
  readBy: readonly string[];
}

export const ENVIRONMENT_VARIABLES = [
  {
    name: 'EGTEA_BACKEND',
    effect: 'the default of the global `--backend`: `auto`, `tensorflow` or `cpu`; any other value is refused naming the variable',
    fallback: '`auto`: native GPU, then native CPU, then pure JS with a loud warning',
    readBy: ['src/cli/main.ts', 'src/engine/backend.ts', 'src/bench/model-worker.ts'],
  },
  {
    name: 'EGTEA_KERNELS',
    effect: "`0`: do not use egtea's kernels (pure tfjs ops instead)",
    fallback: 'kernels used when built',
    readBy: ['src/engine/kernels.ts'],
  },
  {
    name: 'EGTEA_KERNEL_THREADS',
    effect: "threads for egtea's kernels",
    fallback: 'all cores',
    readBy: ['src/distributed/launcher.ts', 'src/engine/kernels.ts'],
  },
  {
    name: 'EGTEA_NATIVE_PACKAGE',
    effect: 'the package giving the native backend',
    fallback: '`@tensorflow/tfjs-node-gpu`',
    readBy: ['src/engine/backend.ts'],
  },
  {
    name: 'TF_ENABLE_ONEDNN_OPTS',
    effect: "TensorFlow's oneDNN CPU kernels; egtea sets it to `1` unless you set it (its convolutions run about twice as fast)",
    fallback: 'set to `1`',
    readBy: ['src/engine/backend.ts', 'TensorFlow'],
  },
  {
    name: 'TF_CPP_MIN_LOG_LEVEL',
    effect: "TensorFlow's log level (0 shows everything, 3 errors only)",
    fallback: 'set to `2` (`3` in the install probe)',
    readBy: ['src/engine/backend.ts', 'bin/install-engine.mjs', 'TensorFlow'],
  },
  {
    name: 'TF_NUM_INTRAOP_THREADS',
    effect: "threads inside one TensorFlow op; `egtea engine` reports it",
    fallback: 'all cores',
    readBy: ['src/distributed/launcher.ts', 'src/engine/backend.ts', 'TensorFlow'],
  },
  {
    name: 'TF_NUM_INTEROP_THREADS',
    effect: "TensorFlow ops run side by side; `egtea engine` reports it",
    fallback: 'all cores',
    readBy: ['src/engine/backend.ts', 'TensorFlow'],
  },
  {
    name: 'FFMPEG_PATH',
    effect: 'the ffmpeg that `synth` and `prepare` run',
    fallback: 'the build that comes from npm (`@ffmpeg-installer`)',
    readBy: ['src/video/ffmpeg-binaries.ts'],
  },
  {
    name: 'FFPROBE_PATH',
    effect: 'the ffprobe that `prepare` runs',
    fallback: 'the build that comes from npm (`@ffprobe-installer`)',
    readBy: ['src/video/ffmpeg-binaries.ts'],
  },
  {
    name: 'EGTEA_PYTHON',
    effect: 'the Python (with PyTorch, PIL) that runs the benchmarks\' references and the reference-parity tests',
    fallback: '`python3`',
    readBy: ['src/bench/reference.ts', 'src/bench/loader-bench.ts', 'test/reference.ts'],
  },
  {
    name: 'EGTEA_REFERENCE_DIR',
    effect: "folder of the PyTorch 3D-ResNeXt reference for `bench model`",
    fallback: '`../shared/reference`',
    readBy: ['bench/model/reference.py'],
  },
  {
    name: 'EGTEA_TF_WHEEL',
    effect: 'install: the pip requirement of the TensorFlow wheel (`tensorflow==2.21.0` for the CUDA 12 build)',
    fallback: '`tensorflow-cpu==2.21.0`',
    readBy: ['bin/install-engine.mjs'],
  },
  {
    name: 'EGTEA_TF_WHEEL_FILE',
    effect: 'install: a wheel already on disk (skips pip)',
    fallback: 'downloaded with pip',
    readBy: ['bin/install-engine.mjs'],
  },
  {
    name: 'EGTEA_CACHE',
    effect: 'install: cache folder of the wheel and libtensorflow',
    fallback: '`~/.cache/egtea`',
    readBy: ['bin/install-engine.mjs'],
  },
  {
    name: 'EGTEA_SKIP_ENGINE',
    effect: 'install: `1` skips native TensorFlow (pure-JS backend only)',
    fallback: 'built',
    readBy: ['bin/install-engine.mjs'],
  },
  {
    name: 'EGTEA_SKIP_KERNELS',
    effect: "install: `1` skips egtea's own CPU kernels (`src/engine/native`)",
    fallback: 'built',
    readBy: ['bin/install-engine.mjs', 'test/engine/backend.test.ts'],
  },
  {
    name: 'EGTEA_REQUIRE_ENGINE',
    effect: 'install: `1` fails (exit 1) instead of warning when the engine or kernels cannot be built (CI sets it)',
    fallback: 'a warning',
    readBy: ['bin/install-engine.mjs'],
  },
  {
    name: 'PYTHON',
    effect: 'install: the Python whose pip downloads the wheel',
    fallback: '`python3`',
    readBy: ['bin/install-engine.mjs'],
  },
  {
    name: 'CC',
    effect: 'install: the C compiler that checks for the libjpeg headers',
    fallback: '`cc`',
    readBy: ['bin/install-engine.mjs'],
  },
  {
    name: 'npm_config_nodedir',
    effect: "install: Node's headers for compiling the binding and the kernels (npm sets it from `--nodedir`)",
    fallback: "Node's install prefix, `/usr`, `/usr/local`",
    readBy: ['bin/install-engine.mjs'],
  },
  {
    name: 'CUDA_VISIBLE_DEVICES',
    effect: "the GPUs TensorFlow may use (CUDA's own); named in the message when a GPU was asked for and none was usable",
    fallback: 'every GPU',
    readBy: ['src/distributed/launcher.ts', 'src/engine/backend.ts'],
  },
  {
    name: 'TMPDIR',
    effect: "install: where `engine install --gpu` writes pip's resolution report",
    fallback: '`/tmp`',
    readBy: ['bin/gpu-wheels.mjs'],
  },
] as const satisfies readonly EnvironmentVariable[];

export type EnvironmentName = (typeof ENVIRONMENT_VARIABLES)[number]['name'];

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
