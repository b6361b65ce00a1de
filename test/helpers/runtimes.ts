/** A runtime's binary (Bun, Deno), fetched once from the npm registry, or what is missing to have it. */
export function fetchRuntime(name: string, fetch: () => string): { binary: string; missing: string[] } {
  try {
    return { binary: fetch(), missing: [] };
  } catch (error) {
    return {
      binary: '',
      missing: [`${name} (npm package could not be fetched: ${(error as Error).message.split('\n')[0]})`],
    };
  }
}
