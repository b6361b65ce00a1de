import { type ChildProcess, execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { root } from './tree.js';

/** The command-line tool as the package installs it (the "bin" of package.json). */
export const cliPath = path.join(root, 'dist', 'demo', 'cli.js');

/** How a program ended: its exit code (null when a signal ended it) and its output. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to its end and resolves with how it ended, whatever its exit code. */
export function run(command: string, args: readonly string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { encoding: 'utf8' }, (error, stdout, stderr) => {
      if (!error) resolve({ code: 0, stdout, stderr });
      else if (typeof error.code === 'number' || error.code == null) resolve({ code: error.code ?? null, stdout, stderr });
      else reject(error); // a system error code: the program did not start
    });
  });
}

/** Runs `socket-keepalive <args>` to its end. */
export function runCli(args: readonly string[]): Promise<RunResult> {
  return run(process.execPath, [cliPath, ...args]);
}

/** Starts `socket-keepalive <args>` and returns the running process. */
export function spawnCli(args: readonly string[]): ChildProcess {
  return spawn(process.execPath, [cliPath, ...args]);
}
