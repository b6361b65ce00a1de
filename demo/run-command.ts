/** `socket-keepalive run`: runs a command with keepalive on every TCP connection it and the processes it starts make. */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_PRELOAD_OPTIONS, keepAliveEnvironment } from 'socket-keepalive';
import { type KeepAliveSetting, type OptionSpec, parseKeepAliveSetting, writeDuration } from 'socket-keepalive/text';
import { parse, UsageError } from './args.js';
import { KEEPALIVE_FLAG_SPEC, keepAliveFlags, keepAliveFlagUsage } from './flags.js';
import { nativePreload } from './preload-reach.js';

const defaultWords = (spec: OptionSpec) =>
  `; default ${spec.unit === 'ms' ? writeDuration(spec.defaultValue) : spec.defaultValue}`;

const RUN_USAGE = `Usage: socket-keepalive run [options] -- <command> [args...]

Runs a command (e.g. node app.js, npm start, python3 app.py) so that every TCP
connection it and the processes it starts make, and every server they start, has
keepalive and TCP_USER_TIMEOUT set, with no change to the application: a connection to
a dead peer then fails with ETIMEDOUT 20 s after the peer was last heard (with the
defaults: the user timeout ends an idle connection once a keepalive probe is out, and
one with data in flight; set before connect(), it also bounds the connection attempt).

Two layers do it. The preload library (a shared library, added to LD_PRELOAD) sets the
options in every dynamically linked program at connect() and listen(), whatever code
opens the socket: Bun's and Deno's own APIs, libpq, Python. Where it cannot reach the
command (statically linked, set-user-ID, a C library it is not built for) run says so in
one line and starts the command all the same.

It sets SOCKET_KEEPALIVE and adds "--require <absolute path of socket-keepalive/register>"
to NODE_OPTIONS and "--preload=<that path>" to BUN_OPTIONS (Bun reads those instead) for
the command, for Node.js Worker threads and where LD_PRELOAD does not reach (inside
Node.js both are loaded; the options are set once). Deno does not read BUN_OPTIONS and
runs NODE_OPTIONS' --require only for some commands: "run -- deno run|serve|test|bench|eval ..."
puts --preload=<that path> after the subcommand (the preload then needs --allow-read,
--allow-env and --allow-ffi, e.g. -A); other deno commands are refused.

Options:
${keepAliveFlagUsage(defaultWords)}
  --no-servers           leave listening servers (and the connections they accept) alone
  --no-native            no preload library (LD_PRELOAD): only Node.js, Bun and Deno are tuned
  --report FORMAT        a line on stderr for each dead peer found: text or json; or otel: the
                         OpenTelemetry metrics on the application's meter provider (default none)
  --quiet                do not print the settings on stderr
  -h, --help             this help

TIME: a whole number with its unit, 10s, 1500ms or 2m (a bare number other than 0 is
refused), as in SOCKET_KEEPALIVE.
Options given replace those defaults one by one. A SOCKET_KEEPALIVE already in the
environment is checked before the command starts (a bad one: exit 2); the fields it
writes replace those defaults, options given then replace its fields one by one, and run
says which. The same rule as the variable's own: a field written nowhere takes its default.

Signals (INT, TERM, HUP, QUIT, USR1, USR2) are passed to the command. Exit codes: the
command's own (128 + signal number when a signal ends it), 2 bad arguments, 127 the
command cannot be started.`;

/** The deno subcommands that take --preload. */
const DENO_PRELOAD_SUBCOMMANDS = new Set(['run', 'serve', 'test', 'bench', 'eval', 'repl']);

/**
 * `command` as it must start for its runtime to run the preload: Node.js and Bun read it
 * from the environment, Deno only from --preload after its subcommand.
 */
function withRuntimePreload(command: string[], environment: { BUN_OPTIONS?: string }): string[] {
  const register = require.resolve('socket-keepalive/register');
  const program = path.basename(command[0]);
  if (program === 'bun' && environment.BUN_OPTIONS === undefined) {
    throw new UsageError(
      `Bun reads the preload from BUN_OPTIONS, which cannot hold the path ${register} (it contains whitespace)`,
    );
  }
  if (program !== 'deno') return command;
  if (!DENO_PRELOAD_SUBCOMMANDS.has(command[1])) {
    throw new UsageError(
      `Deno reads no preload from the environment, and "deno ${command[1] ?? ''}" takes no --preload: ` +
        'give deno run, serve, test, bench or eval, e.g. socket-keepalive run -- deno run -A app.js',
    );
  }
  return [command[0], command[1], `--preload=${register}`, ...command.slice(2)];
}

const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
const VALUE_FLAGS = new Set([...Object.keys(KEEPALIVE_FLAG_SPEC).map((name) => `--${name}`), '--report']);

/** This command's own arguments, and the command to run: after "--", or from the first word that is not an option. */
function splitCommand(argv: string[]): { own: string[]; command: string[] } {
  let index = 0;
  while (index < argv.length && argv[index].startsWith('-') && argv[index] !== '--')
    index += VALUE_FLAGS.has(argv[index]) ? 2 : 1;
  return { own: argv.slice(0, index), command: argv.slice(argv[index] === '--' ? index + 1 : index) };
}

/** SOCKET_KEEPALIVE from this process's environment, checked; `null` when unset, empty or off. */
function inheritedSetting(): KeepAliveSetting | null {
  const text = process.env.SOCKET_KEEPALIVE;
  if (text === undefined || text.trim() === '') return null;
  try {
    return parseKeepAliveSetting(text);
  } catch (error) {
    throw new UsageError(
      `the inherited SOCKET_KEEPALIVE=${JSON.stringify(text)} is refused: ${(error as Error).message}`,
    );
  }
}

export async function runCommand(argv: string[]): Promise<number> {
  const { own, command } = splitCommand(argv);
  const { values, positionals } = parse(own, {
    ...KEEPALIVE_FLAG_SPEC,
    'no-servers': { type: 'boolean', default: false },
    'no-native': { type: 'boolean', default: false },
    report: { type: 'string' },
    quiet: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(RUN_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected "${positionals[0]}" before the command`);
  if (command.length === 0)
    throw new UsageError('give the command to run after "--", e.g. socket-keepalive run -- node app.js');

  const report = values.report as string | undefined;
  if (report !== undefined && report !== 'text' && report !== 'json' && report !== 'otel')
    throw new UsageError(`--report must be text, json or otel, not "${report}"`);
  const inherited = inheritedSetting();
  const flags = keepAliveFlags(values);
  const given = [
    ...Object.keys(flags),
    ...(values['no-servers'] ? ['servers'] : []),
    ...(report !== undefined ? ['report'] : []),
  ];
  const replaced =
    process.env.SOCKET_KEEPALIVE?.trim() === 'off'
      ? ['off']
      : given.filter((field) => inherited?.written.includes(field));
  // Each part is already checked (the flags by their parser, the inherited variable above): this cannot throw.
  const environment = keepAliveEnvironment(
    { ...(inherited?.options ?? DEFAULT_PRELOAD_OPTIONS), ...flags },
    {
      servers: !values['no-servers'] && inherited?.servers !== false,
      report: (report as 'text' | 'json' | 'otel' | undefined) ?? inherited?.report,
    },
  );
  if (!values.quiet) {
    if (replaced[0] === 'off')
      console.error('socket-keepalive run: the inherited SOCKET_KEEPALIVE=off is replaced: run applies keepalive');
    else if (replaced.length > 0)
      console.error(
        `socket-keepalive run: the options given replace ${replaced.join(', ')} of the inherited SOCKET_KEEPALIVE=${process.env.SOCKET_KEEPALIVE}`,
      );
  }
  const started = withRuntimePreload(command, environment);
  if (!values.quiet)
    console.error(`socket-keepalive run: SOCKET_KEEPALIVE=${environment.SOCKET_KEEPALIVE} ${started.join(' ')}`);

  const native = values['no-native'] ? {} : nativePreload(started[0], process.env.LD_PRELOAD);
  if (native.note !== undefined) console.error(native.note);
  const env = {
    ...process.env,
    ...environment,
    ...(native.LD_PRELOAD === undefined ? {} : { LD_PRELOAD: native.LD_PRELOAD }),
  };
  const child = spawn(started[0], started.slice(1), { stdio: 'inherit', env });
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
