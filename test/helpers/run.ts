import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
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

/** Waits for a started program to end and resolves with how it ended, whatever its exit code. */
export function finished(child: ChildProcess): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject); // the program did not start
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs a program to its end and resolves with how it ended, whatever its exit code. */
export function run(command: string, args: readonly string[], options: SpawnOptions = {}): Promise<RunResult> {
  return finished(spawn(command, args, options));
}

/**
 * Runs this Node binary with `args` to its end, in `cwd`, with this process's environment
 * less any SOCKET_KEEPALIVE or NODE_OPTIONS of its own, plus `env`.
 */
export function runNode(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
  cwd = root,
): Promise<RunResult> {
  const fullEnv = { ...process.env, SOCKET_KEEPALIVE: undefined, NODE_OPTIONS: undefined, ...env } as NodeJS.ProcessEnv;
  return run(process.execPath, args, { cwd, env: fullEnv });
}

/** Runs `socket-keepalive <args>` to its end. */
export function runCli(args: readonly string[]): Promise<RunResult> {
  return run(process.execPath, [cliPath, ...args]);
}

/** Starts `socket-keepalive <args>` and returns the running process. */
export function spawnCli(args: readonly string[]): ChildProcess {
  return spawn(process.execPath, [cliPath, ...args]);
}
