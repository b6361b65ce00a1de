/**
 * What the library does where its native addon is not loaded (a platform or libc with no
 * prebuild and no compiler, Windows, Deno without --allow-ffi, or `SOCKET_KEEPALIVE_NO_ADDON`
 * set): what Node.js's own `socket.setKeepAlive` can. That call sets `enable` and `idle` on
 * every release (and, with the idle time, libuv sets interval 1 s and count 10 on Linux);
 * `interval` and `count` too from Node.js 24.19 and 26.4 (nodejs/node#63825), and only
 * together with the idle time; `userTimeout` on none. Node's call cannot reach a listening
 * socket or a raw fd, nor read anything back.
 *
 * What cannot be done is said: {@link assertNodeCanSet} throws an error with code
 * `ERR_SOCKET_KEEPALIVE_UNSUPPORTED` before anything is applied, and
 * {@link settableThroughNode} gives the process-wide default what can be set and names
 * what was dropped, for its one warning.
 * @packageDocumentation
 */
import * as net from 'node:net';
import { addonFailure } from './binding.js';
import { type UnsupportedError, unsupported } from './errors.js';
import { type NumericOption, OPTION_TABLE, UNSET, ValidatedOptions } from './options.js';
import { RUNTIME } from './runtimes.js';
import { recordsKeepAliveInterval } from './target.js';

/**
 * Node's own `socket.setKeepAlive`, as it was when the library loaded: the floor calls it
 * directly, never the library's wrapper of it (lib/patches.ts), which would re-enter.
 */
const nodeSetKeepAlive = net.Socket.prototype.setKeepAlive;

let setsIntervalAndCount: boolean | undefined;

/** Whether this runtime's `setKeepAlive` takes interval and count; found once, without a syscall. */
function takesIntervalAndCount(): boolean {
  setsIntervalAndCount ??= recordsKeepAliveInterval(nodeSetKeepAlive);
  return setsIntervalAndCount;
}

/** This process's platform and runtime, as the messages name them: `linux-x64, Node.js v20.20.2`. */
function here(): string {
  const version = process.versions.bun ?? process.versions.deno ?? process.version;
  return `${process.platform}-${process.arch}, ${RUNTIME} ${version}`;
}

/** What Node's own call sets here, for the messages. */
function settableText(): string {
  return takesIntervalAndCount()
    ? 'enable, idle, and interval and count given with idle'
    : RUNTIME === 'Deno'
      ? 'enable and idle'
      : 'enable and idle (and with the idle time interval 1 s and count 10 on Linux)';
}

/** The option Node's own `socket.setKeepAlive(enable, initialDelay)` sets on every release. */
const NODE_DELAY: NumericOption = 'idle';
/**
 * The options Node's own call takes after the delay, `setKeepAlive(enable, initialDelay,
 * interval, count)`, on Node.js 24.19+ and 26.4+ only. It sets no other option of the table.
 */
const NODE_AFTER_DELAY: readonly NumericOption[] = ['interval', 'count'];

/**
 * The options of `settings` that Node's own call cannot set here, in the table's order. A
 * value that asks for the system's own behaviour (the table's `systemDefault`: a
 * `userTimeout` of 0) is not one: every socket has it unless native code set another.
 */
function unsettable(settings: ValidatedOptions): NumericOption[] {
  const missing: NumericOption[] = [];
  const afterDelay = takesIntervalAndCount() && settings.idle !== UNSET;
  for (const { name, systemDefault } of OPTION_TABLE) {
    const value = settings[name];
    if (value === UNSET || name === NODE_DELAY) continue;
    if (NODE_AFTER_DELAY.includes(name) ? !afterDelay : value !== systemDefault) missing.push(name);
  }
  return missing;
}

/** The names of `options` joined with `and`, with their socket options: `interval and count (TCP_KEEPINTVL, TCP_KEEPCNT)`. */
function named(options: NumericOption[]): string {
  const kernelOptions = OPTION_TABLE.filter(({ name }) => options.includes(name)).map(
    ({ kernelOption }) => kernelOption,
  );
  return `${options.join(' and ')} (${kernelOptions.join(', ')})`;
}

/** Why each option of `missing` cannot be set through Node's own call, as one sentence. */
function reasons(missing: NumericOption[]): string {
  const why: string[] = [];
  const afterDelay = missing.filter((name) => NODE_AFTER_DELAY.includes(name));
  const never = missing.filter((name) => !NODE_AFTER_DELAY.includes(name));
  if (afterDelay.length > 0) {
    why.push(
      takesIntervalAndCount()
        ? `${afterDelay.join(' and ')} only with idle in the same options (Node.js's setKeepAlive ignores them without an initial delay)`
        : `${named(afterDelay)}: this runtime's setKeepAlive takes the idle time only (Node.js takes interval and count from 24.19 and 26.4)`,
    );
  }
  if (never.length > 0) why.push(`${named(never)}: no Node.js release sets ${never.length === 1 ? 'it' : 'them'}`);
  return why.join('; ');
}

/** The sentence every message of the floor ends with: what is missing, and what is used instead. */
function withoutAddon(): string {
  return `the native addon is not loaded (${addonFailure().replace(/^socket-keepalive: /, '')}), so the library uses Node.js's own socket.setKeepAlive, which sets ${settableText()} here`;
}

/**
 * Throws an error with code `ERR_SOCKET_KEEPALIVE_UNSUPPORTED` unless Node's own call can
 * set every option of `settings`: called before anything is applied.
 */
export function assertNodeCanSet(settings: ValidatedOptions): void {
  const missing = unsettable(settings);
  if (missing.length === 0) return;
  throw unsupported(`socket-keepalive cannot set ${reasons(missing)}, on ${here()}: ${withoutAddon()}.`, missing);
}

/**
 * The error for an operation that needs the native addon, e.g. `getKeepAlive` (reading
 * options back needs getsockopt(2), which Node.js has no call for).
 * @param operation - what cannot be done, e.g. `getKeepAlive`, its `missing`
 * @param needs - what it needs, e.g. `getsockopt(2)`
 */
export function needsAddon(operation: string, needs: string): UnsupportedError {
  return unsupported(
    `socket-keepalive: ${operation} (${needs}) needs the native addon on ${here()}: ${withoutAddon()}.`,
    [operation],
  );
}

/**
 * `settings` without the options Node's own call cannot set here, and the text of the
 * process-wide default's one warning naming them (`''` when nothing was dropped).
 */
export function settableThroughNode(settings: ValidatedOptions): { settings: ValidatedOptions; warning: string } {
  const missing = unsettable(settings);
  if (missing.length === 0) return { settings, warning: '' };
  const settable = new ValidatedOptions();
  settable.merge(settings);
  for (const name of missing) settable[name] = UNSET;
  return {
    settings: settable,
    warning:
      `socket-keepalive on ${here()} cannot set ${reasons(missing)}: ${withoutAddon()}. ` +
      `New connections get the other options; ${missing.join(', ')} ${missing.length === 1 ? 'keeps' : 'keep'} ` +
      'the values Node.js and the system give.',
  };
}

/**
 * Applies `settings` (ms) to a connected socket through Node's own `setKeepAlive`, with
 * keepalive on or off as `enable` says ({@link UNSET}: nothing to do). Node skips the call
 * when it repeats its own last one, which then is what the kernel has.
 */
export function applyThroughNode(socket: net.Socket, settings: ValidatedOptions, enable: number): void {
  if (enable === UNSET) return;
  // Node keeps the peer's address once read; once the kernel has ended the connection,
  // getpeername(2) no longer answers, and the dead-peer channel names the peer.
  socket.remoteAddress;
  const { idle, interval, count } = settings;
  if (enable === 0) Reflect.apply(nodeSetKeepAlive, socket, [false]);
  else if (idle === UNSET) Reflect.apply(nodeSetKeepAlive, socket, [true]);
  else if (!takesIntervalAndCount()) Reflect.apply(nodeSetKeepAlive, socket, [true, idle]);
  else
    Reflect.apply(nodeSetKeepAlive, socket, [
      true,
      idle,
      interval === UNSET ? undefined : interval,
      count === UNSET ? undefined : count,
    ]);
}
