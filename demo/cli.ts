#!/usr/bin/env node
/** `socket-keepalive`: the package's command-line tool. */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from './args.js';

const USAGE = `Usage: socket-keepalive <command> [options]

Commands:
  server     an echo server showing each connection's keepalive values and fate
  client     connections with per-socket keepalive settings, watched live
  lab        cut a real connection between two network namespaces and measure how
             long each keepalive configuration takes to notice (needs CAP_NET_ADMIN)
  inspect    show the keepalive settings of a running process's TCP sockets
  run        run a command (e.g. node app.js) with keepalive on every TCP connection
             of its Node.js processes, with no code change

Options:
  -h, --help     this help
  --version      the version of socket-keepalive

Run "socket-keepalive <command> --help" for a command's options. Times are written
with their unit, 10s, 1500ms or 2m, as in the SOCKET_KEEPALIVE variable.`;

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  server: async () => (await import('./server.js')).serverCommand,
  client: async () => (await import('./client.js')).clientCommand,
  lab: async () => (await import('./lab/command.js')).labCommand,
  inspect: async () => (await import('./inspect.js')).inspectCommand,
  run: async () => (await import('./run-command.js')).runCommand,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    console.log(JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')).version);
    return 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    console.error(`socket-keepalive: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  let command: Command;
  try {
    command = await load();
  } catch (error) {
    console.error(`socket-keepalive ${name}: not available in this build (${(error as Error).message})`);
    return 2;
  }
  try {
    return await command(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`socket-keepalive ${name}: ${error.message}\nRun "socket-keepalive ${name} --help" for usage.`);
      return 2;
    }
    console.error(`socket-keepalive ${name}: ${(error as Error).stack ?? error}`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
