// The bench's contenders on the syscall path, in a child process started with
// SOCKET_KEEPALIVE_IO_URING=0 (the addon decides its path once per process). The parent
// asks for one round of a contender at a time, so they stay interleaved with its own.
import { createRequire } from 'node:module';
import path from 'node:path';
import { setKeepAlive } from 'socket-keepalive';
import { TUNING, addonApply, loopbackServer, timePerCall } from './contenders.mjs';

const addon = createRequire(import.meta.url)('node-gyp-build')(path.join(import.meta.dirname, '..'));
const server = await loopbackServer();
const librarySocket = await server.connect();
const addonSocket = await server.connect();
const contenders = {
  library: () => timePerCall((i) => setKeepAlive(librarySocket, TUNING[i & 1])),
  addon: () => timePerCall(addonApply(addon, addonSocket._handle.fd)),
};
process.on('message', (name) => {
  if (name === 'exit') {
    librarySocket.destroy();
    addonSocket.destroy();
    server.close();
    process.disconnect();
    return;
  }
  process.send({ kernelPath: addon.kernelPath(), ns: contenders[name]() });
});
process.send({ ready: true });
