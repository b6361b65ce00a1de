/** The lab's child processes: run inside a namespace, speaking JSON lines, and waited on. */
import { type ChildProcess, spawn } from 'node:child_process';
import readline from 'node:readline';

/**
 * Runs `command` inside `namespace` (with environment `env`, default this process's),
 * passing each JSON line it prints to `onMessage`; a non-zero exit arrives as
 * `{ type: 'exit', code, errors }` with its stderr.
 */
export function spawnIn(
  namespace: string,
  command: string,
  args: string[],
  onMessage: (message: Record<string, unknown>) => void,
  env: NodeJS.ProcessEnv = process.env,
): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', namespace, command, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env });
  readline.createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    try {
      onMessage(JSON.parse(line));
    } catch {
      // not a protocol line
    }
  });
  let errors = '';
  child.stderr?.on('data', (data: Buffer) => {
    errors += data.toString();
  });
  child.on('exit', (code) => {
    if (code) onMessage({ type: 'exit', code, errors });
  });
  return child;
}

/**
 * Polls `check` every 20 ms until it returns a value, which resolves the promise; a
 * `check` that throws rejects it, and so does `ms` passing first.
 */
export function waitFor<T>(what: string, ms: number, check: () => T | undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      let value: T | undefined;
      try {
        value = check();
      } catch (error) {
        clearInterval(timer);
        reject(error);
        return;
      }
      if (value !== undefined) {
        clearInterval(timer);
        resolve(value);
      } else if (Date.now() - started > ms) {
        clearInterval(timer);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      }
    }, 20);
  });
}
