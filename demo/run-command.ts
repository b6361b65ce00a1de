/** `socket-keepalive run`: runs a command with keepalive on every TCP connection of its Node processes. */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { type KeepAliveOptions, keepAliveEnvironment } from 'socket-keepalive';
import { parse, UsageError } from './args.js';
import { KEEPALIVE_FLAG_SPEC, keepAliveFlags } from './flags.js';

/** The default `run` applies when no option is given and SOCKET_KEEPALIVE is not set. */
const RUN_DEFAULT: Readonly<KeepAliveOptions> = { idle: 10_000, interval: 2000, count: 3, userTimeout: 20_000 };

export const RUN_USAGE = `Usage: socket-keepalive run [options] -- <command> [args...]

Runs a command (e.g. node app.js, npm start) so that every TCP connection its Node.js
processes make, and every server they start, has keepalive and TCP_USER_TIMEOUT set,
with no change to the application: an idle connection to a dead peer then fails with
ETIMEDOUT after idle + interval x count, one with data in flight after the user timeout.
Worker threads and the Node.js child processes it starts are covered too.

It sets SOCKET_KEEPALIVE and adds "--require <absolute path of socket-keepalive/register>"
to NODE_OPTIONS for the command. Processes that are not Node.js ignore both.

Options:
  --idle TIME            silence before the first probe, 1s-32767s, whole seconds (default 10s)
  --interval TIME        time between unanswered probes, 1s-32767s, whole seconds (default 2s)
  --count N              unanswered probes before the connection is dropped, 1-127 (default 3)
  --user-timeout TIME    time sent data may stay unacknowledged (default 20s; 0 = system default)
  --no-servers           leave listening servers (and the connections they accept) alone
  --quiet                do not print the settings on stderr
  -h, --help             this help

TIME: 10s, 1500ms, 2m or a plain number of ms, as in SOCKET_KEEPALIVE.
Options given replace those defaults one by one. With no option, a SOCKET_KEEPALIVE
already in the environment is used as it is (see the README for its format).

Signals (INT, TERM, HUP, QUIT, USR1, USR2) are passed to the command. Exit codes: the
command's own (128 + signal number when a signal ends it), 2 bad arguments, 127 the
command cannot be started.`;

const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
const VALUE_FLAGS = new Set(['--idle', '--interval', '--count', '--user-timeout']);

/** This command's own arguments, and the command to run: after "--", or from the first word that is not an option. */
function splitCommand(argv: string[]): { own: string[]; command: string[] } {
  let index = 0;
  while (index < argv.length && argv[index].startsWith('-') && argv[index] !== '--') index += VALUE_FLAGS.has(argv[index]) ? 2 : 1;
  return { own: argv.slice(0, index), command: argv.slice(argv[index] === '--' ? index + 1 : index) };
}

export async function runCommand(argv: string[]): Promise<number> {
  const { own, command } = splitCommand(argv);
  const { values, positionals } = parse(own, {
    ...KEEPALIVE_FLAG_SPEC,
    'no-servers': { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(RUN_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected "${positionals[0]}" before the command`);
  if (command.length === 0) throw new UsageError('give the command to run after "--", e.g. socket-keepalive run -- node app.js');

  const flags = keepAliveFlags(values);
  const keepExisting = Object.keys(flags).length === 0 && !values['no-servers'] && process.env.SOCKET_KEEPALIVE !== undefined;
  let environment: { NODE_OPTIONS: string; SOCKET_KEEPALIVE: string };
  try {
    environment = keepAliveEnvironment({ ...RUN_DEFAULT, ...flags }, { servers: !values['no-servers'] });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (keepExisting) environment.SOCKET_KEEPALIVE = process.env.SOCKET_KEEPALIVE as string;
  if (!values.quiet) console.error(`socket-keepalive run: SOCKET_KEEPALIVE=${environment.SOCKET_KEEPALIVE} ${command.join(' ')}`);

  const child = spawn(command[0], command.slice(1), { stdio: 'inherit', env: { ...process.env, ...environment } });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
  return new Promise<number>((resolve) => {
    child.once('error', (error) => {
      console.error(`socket-keepalive run: cannot start "${command[0]}": ${error.message}`);
      resolve(127);
    });
    child.once('exit', (code, signal) => {
      for (const forwarded of FORWARDED_SIGNALS) process.off(forwarded, forward);
      resolve(signal ? 128 + os.constants.signals[signal] : (code ?? 1));
    });
  });
}
