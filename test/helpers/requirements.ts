import { execFileSync } from 'node:child_process';

/** The commands among `tools` that are not on PATH. */
export function missingTools(...tools: string[]): string[] {
  return tools.filter((tool) => {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
}

/**
 * Whether `what` must be skipped because of what is `missing` (tools, privileges, a
 * download). Locally it is skipped with the reason printed; when env CI is set a missing
 * requirement throws instead, because under CI every test must run. Use the result with
 * `describe.skipIf` / `test.skipIf`, or `context.skip()` inside a test.
 */
export function skipWithout(what: string, missing: readonly string[], hint = ''): boolean {
  if (missing.length === 0) return false;
  const reason = `${what} needs ${missing.join(', ')}${hint ? ` (${hint})` : ''}`;
  if (process.env.CI) throw new Error(`${reason}; under CI it must run`);
  console.warn(`skipping: ${reason}`);
  return true;
}
