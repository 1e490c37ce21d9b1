import { defineConfig } from 'vitest/config';

// test/e2e/: whole runs (training, ffmpeg, the built command and the built package). Everything
// else is a unit test of seconds (`npm run test:unit`).
const END_TO_END = ['test/e2e/**/*.test.ts'];

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
