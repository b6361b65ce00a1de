'use strict';
// npm "install" script: node-gyp-build loads a matching prebuilt binary from prebuilds/
// or compiles the addon with node-gyp. On Linux, the supported platform, a failure fails
// the install. Elsewhere the library cannot do its job anyway, so a missing compiler must
// not break the install of an application that merely depends on it: warn and go on;
// the library then throws a clear "not supported" error when it is called.
const { spawnSync } = require('node:child_process');

const result = spawnSync(process.execPath, [require.resolve('node-gyp-build/bin.js')], {
  stdio: 'inherit',
});
if (result.status !== 0) {
  if (process.platform === 'linux') process.exit(result.status ?? 1);
  console.warn(
    `socket-keepalive: the native addon could not be built on ${process.platform}-${process.arch}; ` +
      'the package is installed, but only Linux is supported and its functions will throw.',
  );
}
