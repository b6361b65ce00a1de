import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Builds dist/ and the addon first when their sources changed: tests run what they test.
    globalSetup: ['./test/vitest/global-setup.ts'],
    reporters: ['default', './test/vitest/summary-reporter.ts'],
    // The lab tests measure timing between network namespaces; running test files one
    // at a time keeps them from competing for this machine's two cores.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [
      // test/library: the library against the kernel; test/cli: the command-line tool;
      // test/integration: real database, cache and HTTP clients; test/build: packaging,
      // prebuilds, sanitizers.
      { extends: true, test: { name: 'default', include: ['test/**/*.test.ts'] } },
    ],
  },
});
