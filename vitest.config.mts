import { defineConfig } from 'vitest/config';

// The library's core tests and the property test, run again on each of the addon's two
// kernel paths, forced: plain syscalls, and io_uring wherever the kernel takes setsockopt
// through it (Linux 6.7+). The default project runs everything on the path the addon
// picks by itself.
const BOTH_KERNEL_PATHS = ['test/**/core-*.test.ts', 'test/**/property.test.ts', 'test/**/kernel-path.test.ts'];

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
      // prebuilds, sanitizers. (A project's include replaces none at the root: extends
      // would add the root's to it.)
      { extends: true, test: { name: 'default', include: ['test/**/*.test.ts'] } },
      {
        extends: true,
        test: { name: 'syscalls', include: BOTH_KERNEL_PATHS, env: { SOCKET_KEEPALIVE_IO_URING: '0' } },
      },
      {
        extends: true,
        test: { name: 'io_uring', include: BOTH_KERNEL_PATHS, env: { SOCKET_KEEPALIVE_IO_URING: '1' } },
      },
    ],
  },
});
