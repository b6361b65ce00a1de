/**
 * `socket-keepalive/register`: a preload that sets the process-wide default
 * ({@link setDefaultKeepAlive}) from the environment variable `SOCKET_KEEPALIVE`, so that
 * an application gets keepalive on every TCP connection without a code change:
 *
 * ```sh
 * SOCKET_KEEPALIVE=idle=10s,interval=2s,count=3,userTimeout=20s node --require socket-keepalive/register app.js
 * ```
 *
 * - Unset or empty, or giving only `servers` or `report`: the options of
 *   {@link DEFAULT_PRELOAD_OPTIONS} (idle 10 s, interval 2 s, count 3, user timeout 20 s),
 *   the ones `socket-keepalive run` applies. The preload exists to tune: loaded, it tunes.
 * - `off`: does nothing (the one way to load it and leave every socket alone).
 * - `report=text` or `report=json`: one line on stderr for each dead peer (see
 *   {@link DEAD_PEER_CHANNEL}), in each thread. `report=otel`: the metrics of
 *   `socket-keepalive/otel`, registered on the application's global meter provider as
 *   soon as it sets one (for applications that run the OpenTelemetry SDK); without
 *   `@opentelemetry/api`, one process warning (code `SOCKET_KEEPALIVE_NO_OTEL`).
 * - A bad value: the process stops before the application starts (exit code 9), with a
 *   message naming the variable, the field and the accepted range.
 * - No native addon for this platform (or `SOCKET_KEEPALIVE_NO_ADDON=1`): connections get
 *   what Node.js's own `socket.setKeepAlive` can set (see `setDefaultKeepAlive`), and one
 *   process warning (code `SOCKET_KEEPALIVE_NO_ADDON`) names the options it cannot.
 * - Worker threads: every Worker created afterwards runs the preload too, also one
 *   started with `env: {}` (the default reaches it through `worker_threads`
 *   environment data) or with its own `execArgv` (`--require` is added to it).
 * - Child processes: those inheriting `NODE_OPTIONS` and `SOCKET_KEEPALIVE` run it.
 *   A `--require` in NODE_OPTIONS must be an absolute path (see `keepAliveEnvironment`
 *   and `socket-keepalive run`): a package name resolves from each process's working
 *   directory, and every Node process started elsewhere would fail to start.
 * - ESM: `node --import socket-keepalive/register` works the same. Node does not run
 *   `--import` preloads in a Worker started with `eval: true`: such workers get the
 *   preload from the Worker wrapper, except one with `env: SHARE_ENV` and no `execArgv`
 *   (its environment cannot be given its own NODE_OPTIONS): there use `--require`.
 * @packageDocumentation
 */
import workerThreads from 'node:worker_threads';
import { addonLoaded } from './binding.js';
import { nodeOptionsWithRegister, REGISTER_PATH } from './child-environment.js';
import { useDefault } from './default.js';
import { KEEPALIVE_VARIABLE, readKeepAliveSetting } from './keepalive-variable.js';
import { patchWorkers, type WorkerOptions } from './patches.js';
import { preloadLibraryActive } from './preload-library.js';
import { reportDeadPeersTo } from './report.js';
import { WARNING_CODES, warn } from './warnings.js';

/**
 * Exit code for a bad SOCKET_KEEPALIVE: Node's own code for an invalid argument. The
 * preload library (native/preload.c) stops a program with the same code and line.
 */
const INVALID_ARGUMENT_EXIT = 9;
/** worker_threads environment data key: the default, passed on to every new Worker. */
const ENVIRONMENT_DATA_KEY = 'socket-keepalive:default';
/** Marks a thread where the preload already ran (it can be loaded by two routes). */
const REGISTERED = Symbol.for('socket-keepalive.register');

/**
 * Worker options that make the new thread run this preload: `--require` added to an
 * explicit `execArgv`, or else to NODE_OPTIONS of the worker's environment (a Worker
 * re-reads it). A copy of execArgv inherited from the parent cannot be passed instead:
 * process-wide flags such as --max-old-space-size are refused in a Worker's execArgv.
 */
function withPreload(options: WorkerOptions = {}): WorkerOptions {
  if (Array.isArray(options.execArgv)) {
    if (options.execArgv.includes(REGISTER_PATH)) return options;
    return { ...options, execArgv: [...options.execArgv, '--require', REGISTER_PATH] };
  }
  // A shared environment already holds this process's NODE_OPTIONS.
  if (options.env === workerThreads.SHARE_ENV) return options;
  const env = (options.env ?? process.env) as NodeJS.ProcessEnv;
  return { ...options, env: { ...env, NODE_OPTIONS: nodeOptionsWithRegister(env.NODE_OPTIONS) } };
}

function readSetting(): { text: string; read: ReturnType<typeof readKeepAliveSetting> } {
  const fromEnvironment = process.env[KEEPALIVE_VARIABLE];
  const text = fromEnvironment ?? (workerThreads.getEnvironmentData(ENVIRONMENT_DATA_KEY) as string | undefined) ?? '';
  try {
    return { text, read: readKeepAliveSetting(text) };
  } catch (error) {
    process.stderr.write(
      `socket-keepalive: ${KEEPALIVE_VARIABLE}=${JSON.stringify(text)} is refused: ${(error as Error).message}\n`,
    );
    process.exit(INVALID_ARGUMENT_EXIT);
  }
}

/** `report=otel`: the OpenTelemetry metrics, loaded only then (`@opentelemetry/api` is optional). */
function observeOnGlobalProvider(): void {
  try {
    (require('./otel.js') as typeof import('./otel.js')).observeKeepAliveOnGlobalProvider();
  } catch (error) {
    warn(WARNING_CODES.noOtel, `socket-keepalive: report=otel is ignored: ${(error as Error).message}`);
  }
}

function register(): void {
  const thread = globalThis as { [REGISTERED]?: true };
  if (thread[REGISTERED]) return;
  thread[REGISTERED] = true;
  const { text, read } = readSetting();
  if (read === null) return;
  // Under LD_PRELOAD, the preload library read the same variable and sets the options at
  // connect() and listen(). With the addon, the default takes each socket over from it
  // without a syscall (and reports its dead peers); without, the library does it all,
  // its report included, and the floor of Node's own call would only undo part of it.
  const inKernel = preloadLibraryActive();
  if (inKernel && !addonLoaded()) return;
  // Workers run this too: the main thread's warning covers them.
  useDefault(read.validatedOptions, read.setting.servers, undefined, { warn: workerThreads.isMainThread, inKernel });
  if (read.setting.report === 'otel') observeOnGlobalProvider();
  else if (read.setting.report !== undefined) reportDeadPeersTo(read.setting.report);
  workerThreads.setEnvironmentData(ENVIRONMENT_DATA_KEY, text);
  // Every Worker created from now on starts with the preload.
  patchWorkers(withPreload);
}

register();
