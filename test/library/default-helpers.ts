import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** How a child `node` ended, and what it printed. */
export interface NodeRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node args...` (this Node binary) to its end. The environment is this process's,
 * without any SOCKET_KEEPALIVE or NODE_OPTIONS of its own, plus `env`.
 */
export async function runNode(args: string[], env: Record<string, string | undefined>, cwd: string): Promise<NodeRun> {
  const fullEnv = { ...process.env, SOCKET_KEEPALIVE: undefined, NODE_OPTIONS: undefined, ...env } as NodeJS.ProcessEnv;
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, args, { cwd, env: fullEnv, encoding: 'utf8' });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
