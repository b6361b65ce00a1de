// A program under `socket-keepalive run` in the lab's client namespace, talking JSON lines
// on stdout (the fixtures' protocol: "connected", then "done" after "go" on stdin).
import { type ChildProcess, spawn } from 'node:child_process';
import readline from 'node:readline';
import type { Hosts } from '../../demo/lab/netns.js';
import { waitFor } from '../../demo/lab/processes.js';
import { cliPath } from '../helpers/run.js';

/** The environment with none of the variables run sets of its own. */
export const CLEAN_ENV = {
  ...process.env,
  SOCKET_KEEPALIVE: undefined,
  NODE_OPTIONS: undefined,
  LD_PRELOAD: undefined,
};

export interface ClientUnderRun {
  child: ChildProcess;
  /** The first message of `type` the program printed, waited for up to `ms`; throws if it failed first. */
  message(type: string, ms: number): Promise<Record<string, unknown>>;
  /** What the program and run wrote on stderr so far. */
  stderr(): string;
  /** Resolves once the program has exited. */
  exited(): Promise<unknown>;
}

/**
 * Starts `run --quiet <runArgs> -- <command>` in `hosts.client`'s namespace. `name`
 * names the program in a timeout's message.
 */
export function runInClient(hosts: Hosts, runArgs: string[], command: string[], name: string): ClientUnderRun {
  const child = spawn(
    'ip',
    ['netns', 'exec', hosts.client, process.execPath, cliPath, 'run', '--quiet', ...runArgs, '--', ...command],
    { env: CLEAN_ENV },
  );
  let written = '';
  child.stderr?.on('data', (data: Buffer) => (written += data.toString()));
  const messages: Record<string, unknown>[] = [];
  readline
    .createInterface({ input: child.stdout as NodeJS.ReadableStream })
    .on('line', (line) => messages.push(JSON.parse(line)));
  return {
    child,
    message: (type, ms) =>
      waitFor(`${name}'s "${type}"`, ms, () => {
        if (child.exitCode !== null && child.exitCode !== 0) throw new Error(`${name} exited: ${written}`);
        return messages.find((candidate) => candidate.type === type);
      }),
    stderr: () => written,
    exited: () => new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(null))),
  };
}
