'use strict';
// npm "install" script: node-gyp-build loads a matching prebuilt binary from prebuilds/
// or compiles the addon with node-gyp. On Linux, the supported platform, a failure fails
// the install, with a short note of what to install (a production image that silently
// lost TCP_USER_TIMEOUT would be worse), unless SOCKET_KEEPALIVE_NO_ADDON is set, which
// rules the addon out. Elsewhere (no platform file in native/ yet) the build fails by
// design: warn and go on. Without the addon the library does what Node's own
// socket.setKeepAlive can (docs/platforms.md#without-the-native-addon).
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
  'Alpine: apk add g++ make python3 linux-headers). Install them and run npm install again, ' +
  'or set SOCKET_KEEPALIVE_NO_ADDON=1 to install without the addon and use what Node can set ' +
  '(idle; interval and count on Node.js 24.19+ and 26.4+; no userTimeout, no read-back).';

/** What the library gives without the addon, for the notes below. */
const FLOOR =
  "the library then uses Node.js's own socket.setKeepAlive: idle (and interval and count on Node.js 24.19+ " +
  'and 26.4+), on sockets, agents, the default and the sockets tuned servers accept; an explicit userTimeout, ' +
  'getKeepAlive, getTcpInfo and inspectProcess throw ERR_SOCKET_KEEPALIVE_UNSUPPORTED.';

function fail(reason) {
  if (process.platform !== 'linux') {
    console.warn(
      `socket-keepalive: the native addon is not built for ${platform} (only Linux has one); the package is installed, and ${FLOOR}`,
    );
    return;
  }
  console.error(`${HINT}\n${reason}`);
  process.exit(1);
}

const ruledOut = process.env.SOCKET_KEEPALIVE_NO_ADDON;
if (ruledOut !== undefined && ruledOut !== '' && ruledOut !== '0') {
  console.warn(`socket-keepalive: SOCKET_KEEPALIVE_NO_ADDON=${ruledOut} rules the native addon out; ${FLOOR}`);
} else if (!addonFound()) {
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
