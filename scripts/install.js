'use strict';
// npm "install" script: node-gyp-build loads a matching prebuilt binary from prebuilds/
// or compiles the addon with node-gyp. On Linux, the supported platform, a failure fails
// the install, with a short note of what to install. Elsewhere the library cannot do its
// job anyway, so a missing compiler must not break the install of an application that
// merely depends on it: warn and go on; the library then throws a clear "not supported"
// error when it is called.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
const platform = `${process.platform}-${process.arch}`;

/** Whether node-gyp-build finds an addon (build/ or a matching prebuild) to load. */
function addonFound() {
  try {
    require('node-gyp-build').path(root);
    return true;
  } catch {
    return false;
  }
}

/** The build tools node-gyp needs that are not on PATH. */
function missingBuildTools() {
  const onPath = (tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
  return [
    ['a C++ compiler (c++ or g++)', ['c++', 'g++']],
    ['make', ['make']],
    ['python3', ['python3']],
  ]
    .filter(([, tools]) => !tools.some(onPath))
    .map(([name]) => name);
}

const HINT =
  `socket-keepalive: there is no prebuilt addon for ${platform} in this package, so it must be compiled, ` +
  'which needs a C++17 compiler, make and python3 (Debian/Ubuntu: apt-get install g++ make python3; ' +
  'Alpine: apk add g++ make python3). Install them and run npm install again.';

function fail(reason) {
  if (process.platform !== 'linux') {
    console.warn(
      `socket-keepalive: the native addon could not be built on ${platform}; ` +
        'the package is installed, but only Linux is supported and its functions will throw.',
    );
    return;
  }
  console.error(`${HINT}\n${reason}`);
  process.exit(1);
}

if (!addonFound()) {
  const missing = process.platform === 'linux' ? missingBuildTools() : [];
  if (missing.length > 0) fail(`Missing here: ${missing.join(', ')}.`);
  else {
    const result = spawnSync(process.execPath, [require.resolve('node-gyp-build/bin.js')], {
      stdio: 'inherit',
      cwd: root,
    });
    if (result.status !== 0) fail(`The build (node-gyp rebuild, output above) failed with exit code ${result.status}.`);
  }
}
