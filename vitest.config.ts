import { defineConfig } from 'vitest/config';

// Whole runs: training, ffmpeg, the built command and the built package. Everything else is a
// unit test of seconds (`npm run test:unit`).
const END_TO_END = [
  'test/cli/**/*.test.ts',
  'test/video/**/*.test.ts',
  'test/package/**/*.test.ts',
  'test/train/trainer.test.ts',
  'test/train/run-safety.test.ts',
  'test/train/schedule-resume.test.ts',
  'test/train/memory.test.ts',
  'test/config/command-line.test.ts',
  'test/models/resnext3d.test.ts',
  'test/report/report-browser.test.ts',
  'test/report/tensorboard.test.ts',
  'test/data/clip-loader.test.ts',
  'test/data/images.test.ts',
  'test/sweep/sweep.test.ts',
  'test/sweep/sweep-cli.test.ts',
  'test/sweep/sweep-shards.test.ts',
  'test/pack/packed-sweep.test.ts',
  'test/engine/gpu-build.test.ts',
];

export default defineConfig({
  test: {
    // Native TensorFlow already uses every core inside one process; parallel test files
    // would only fight over them.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    setupFiles: ['test/setup.ts'],
    projects: [
      // One process for every unit file (not one each): TensorFlow loads once instead of 45
      // times, which was 30 s of the project's 76. test/setup.ts puts back, before each file,
      // what a file may change (the backend, egtea's kernels on or off).
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: END_TO_END, isolate: false } },
      // dist/ is compiled once first: the CLI tests run bin/egtea, which runs dist/.
      { extends: true, test: { name: 'e2e', include: END_TO_END, globalSetup: ['test/support/build-dist.ts'] } },
    ],
  },
});
