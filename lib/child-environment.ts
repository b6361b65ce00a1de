/**
 * What a child process is given to run with a default: the preload's absolute path, the
 * `NODE_OPTIONS` and `BUN_OPTIONS` that load it, and the whole environment
 * ({@link keepAliveEnvironment}).
 * @packageDocumentation
 */
import path from 'node:path';
import { invalidArgType, invalidArgValue } from './errors.js';
import { formatKeepAliveSetting } from './keepalive-variable.js';
import { type KeepAliveOptions, OPTION_TABLE, ValidatedOptions, validateInto } from './options.js';
import type { ReportFormat } from './report.js';

/** The absolute path of the CommonJS preload, `socket-keepalive/register`. */
export const REGISTER_PATH = path.join(__dirname, 'register.js');

/**
 * `nodeOptions` (a NODE_OPTIONS value) with `--require <absolute path of the preload>`
 * appended, unless it is there already. The path is absolute, so every Node process
 * started with it finds the preload whatever its working directory.
 */
export function nodeOptionsWithRegister(nodeOptions: string | undefined): string {
  const preload = `--require ${JSON.stringify(REGISTER_PATH)}`;
  if (nodeOptions?.includes(preload)) return nodeOptions;
  return nodeOptions?.trim() ? `${nodeOptions.trim()} ${preload}` : preload;
}

/**
 * `bunOptions` (a BUN_OPTIONS value, which Bun reads instead of NODE_OPTIONS) with
 * `--preload=<absolute path of the preload>` appended, unless it is there already. Bun
 * splits BUN_OPTIONS at whitespace and takes quotes literally: `undefined` when the
 * path holds whitespace and cannot be written there.
 */
function bunOptionsWithRegister(bunOptions: string | undefined): string | undefined {
  if (/\s/.test(REGISTER_PATH)) return undefined;
  const preload = `--preload=${REGISTER_PATH}`;
  if (bunOptions?.includes(preload)) return bunOptions;
  return bunOptions?.trim() ? `${bunOptions.trim()} ${preload}` : preload;
}

/**
 * The environment variables that make a Node.js or Bun process, its worker threads and
 * the processes it starts in turn, run with `options` as their default (see
 * {@link setDefaultKeepAlive}) without a code change: `SOCKET_KEEPALIVE`, `NODE_OPTIONS`
 * (from `env`) with `--require <absolute path of socket-keepalive/register>`, and
 * `BUN_OPTIONS` (from `env`) with `--preload=<that path>` (left out when the path holds
 * whitespace, which BUN_OPTIONS cannot carry). Deno reads no BUN_OPTIONS, and runs the
 * `--require` of NODE_OPTIONS (Deno 2.9.6, measured) but not for every command: give it
 * `deno run --preload <path>` (docs/platforms.md).
 * `options` are validated like {@link setKeepAlive}'s; `enable` cannot be given.
 * `settings.report` (`'text'` or `'json'`) has each process write a line on stderr for
 * each dead peer it finds (see {@link DEAD_PEER_CHANNEL}); `'otel'` has it register the
 * OpenTelemetry metrics of `socket-keepalive/otel` on its global meter provider.
 *
 * @example
 * ```ts
 * spawn('node', ['app.js'], { env: { ...process.env, ...keepAliveEnvironment({ idle: 10_000, count: 3 }) } });
 * ```
 */
export function keepAliveEnvironment(
  options: Omit<KeepAliveOptions, 'enable'>,
  settings: { servers?: boolean; report?: ReportFormat | 'otel' } = {},
  env: NodeJS.ProcessEnv = process.env,
): { NODE_OPTIONS: string; BUN_OPTIONS?: string; SOCKET_KEEPALIVE: string } {
  validateInto(options, new ValidatedOptions());
  if ((options as KeepAliveOptions).enable !== undefined) {
    throw invalidArgValue(
      'options.enable',
      'cannot be part of a default in the environment: leave it out',
      (options as KeepAliveOptions).enable,
    );
  }
  if (typeof settings !== 'object' || settings === null) throw invalidArgType('settings', 'of type object', settings);
  if (settings.servers !== undefined && typeof settings.servers !== 'boolean') {
    throw invalidArgType('settings.servers', 'of type boolean', settings.servers);
  }
  if (
    settings.report !== undefined &&
    settings.report !== 'text' &&
    settings.report !== 'json' &&
    settings.report !== 'otel'
  ) {
    throw invalidArgValue('settings.report', "must be 'text', 'json' or 'otel'", settings.report);
  }
  if (OPTION_TABLE.every(({ name }) => options[name] === undefined)) {
    const names = OPTION_TABLE.map(({ name }) => name);
    throw invalidArgValue(
      'options',
      `sets no keepalive option: give ${names.slice(0, -1).join(', ')} or ${names.at(-1)}`,
      options,
    );
  }
  const text = formatKeepAliveSetting(options, settings.servers ?? true, settings.report);
  const environment: { NODE_OPTIONS: string; BUN_OPTIONS?: string; SOCKET_KEEPALIVE: string } = {
    NODE_OPTIONS: nodeOptionsWithRegister(env.NODE_OPTIONS),
    SOCKET_KEEPALIVE: text,
  };
  const bunOptions = bunOptionsWithRegister(env.BUN_OPTIONS);
  if (bunOptions !== undefined) environment.BUN_OPTIONS = bunOptions;
  return environment;
}
