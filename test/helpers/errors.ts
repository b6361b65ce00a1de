/** What a failing call threw, with the fields of Node's system and argument errors. */
export type CapturedError = Error & { code?: string; errno?: number; syscall?: string };

/** Runs `fn`, which must throw, and returns what it threw. */
export function captureError(fn: () => unknown): CapturedError {
  try {
    fn();
  } catch (error) {
    return error as CapturedError;
  }
  throw new Error('expected the call to throw');
}
