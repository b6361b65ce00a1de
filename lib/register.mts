/**
 * `node --import socket-keepalive/register`: the ESM form of the preload. It loads the
 * CommonJS one (see register.ts), so both share one default and one copy of the library.
 * Node runs `--import` preloads in the main thread only; worker threads get the preload
 * from the Worker wrapper the main thread installs.
 * @packageDocumentation
 */
import './register.js';
