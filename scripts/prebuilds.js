'use strict';
// npm "prepack": every prebuilt addon the package promises, built when missing or older
// than the native sources (so a second `npm pack`, or `npm pack --dry-run`, rebuilds
// nothing), then checked to be an ELF shared object for its machine. Beside each addon go
// the preload libraries binding.gyp builds (native/preload.c, for LD_PRELOAD): the glibc one
// for each platform, and on linux-x64 the musl one (built with musl-gcc), stripped. A prebuild that
// cannot be built fails the pack: the package never ships without one it promises.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');

/** The prebuilds the package promises (README, docs/platforms.md), the npm script that builds each, its ELF e_machine. */
const PROMISED = [
  {
    platform: 'linux-x64',
    script: 'prebuild',
    machine: 62,
    tools: 'g++, make and musl-gcc (Debian package musl-tools)',
    strip: 'strip',
    libraries: ['socket-keepalive-preload.so', 'socket-keepalive-preload-musl.so'],
  },
  {
    platform: 'linux-arm64',
    script: 'prebuild:arm64',
    machine: 183,
    tools: 'aarch64-linux-gnu-g++ (Debian package g++-aarch64-linux-gnu)',
    strip: 'aarch64-linux-gnu-strip',
    libraries: ['socket-keepalive-preload.so'],
  },
];

function newestSource() {
  const sources = [
    'binding.gyp',
    ...fs.readdirSync(path.join(root, 'native')).map((file) => path.join('native', file)),
  ];
  return Math.max(...sources.map((file) => fs.statSync(path.join(root, file)).mtimeMs));
}

/** The ELF e_machine of `file`, or undefined when it is not a 64-bit little-endian ELF shared object. */
function elfMachine(file) {
  const header = fs.readFileSync(file).subarray(0, 20);
  if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2 || header[5] !== 1 || header.readUInt16LE(16) !== 3)
    return undefined;
  return header.readUInt16LE(18);
}

const sourcesAt = newestSource();
for (const { platform, script, machine, tools, strip, libraries } of PROMISED) {
  const directory = path.join(root, 'prebuilds', platform);
  const files = ['socket-keepalive.node', ...libraries].map((name) => path.join(directory, name));
  const fresh = files.every((file) => fs.existsSync(file) && fs.statSync(file).mtimeMs >= sourcesAt);
  if (!fresh) {
    const result = spawnSync('npm', ['run', script], { cwd: root, stdio: 'inherit' });
    // prebuildify copies the addon only: the preload libraries come from the same build.
    for (const name of result.status === 0 ? libraries : []) {
      const built = path.join(root, 'build', 'Release', name);
      if (!fs.existsSync(built)) continue;
      fs.copyFileSync(built, path.join(directory, name));
      spawnSync(strip, ['--strip-unneeded', path.join(directory, name)], { stdio: 'inherit' });
    }
    if (result.status !== 0) {
      console.error(
        `socket-keepalive: the ${platform} prebuild could not be built ("npm run ${script}" failed; it needs ${tools}); not packing.`,
      );
      process.exit(1);
    }
  }
  for (const file of files) {
    if (!fs.existsSync(file) || elfMachine(file) !== machine) {
      console.error(
        `socket-keepalive: ${path.relative(root, file)} is missing or not a ${platform} shared object (it needs ${tools}); not packing.`,
      );
      process.exit(1);
    }
  }
}
