import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Native TensorFlow already uses every core inside one process; parallel test files
    // would only fight over them.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    setupFiles: ['test/setup.ts'],
  },
});
