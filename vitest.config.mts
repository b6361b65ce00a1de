import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // test/library: the library against the kernel; test/cli: the command-line tool;
    // test/build: packaging, prebuilds, sanitizers.
    include: ['test/**/*.test.ts'],
    // Builds dist/ and the addon first when their sources changed: tests run what they test.
    globalSetup: ['./test/vitest/global-setup.ts'],
    reporters: ['default', './test/vitest/summary-reporter.ts'],
    // The lab tests measure timing between network namespaces; running test files one
    // at a time keeps them from competing for this machine's two cores.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
