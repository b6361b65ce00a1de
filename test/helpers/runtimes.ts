/** The Bun and Deno releases the tests run, fetched once from the npm registry. */
import fs from 'node:fs';
import path from 'node:path';
import { cachedPackageFile } from '../../demo/node-release.js';

/** A runtime release for Linux x64 (glibc) and the file of the npm package that is its binary. */
interface RuntimeRelease {
  version: string;
  /** The npm package holding the binary, without the version. */
  package: string;
  /** The binary's path inside the package. */
  file: string;
  /** About how much `npm pack` downloads, for the line written while fetching. */
  size: string;
}

/**
 * The Bun and Deno releases the tests run on Linux x64, from runtime-releases.json, which
 * bench/socket-lookup.mjs reads too: the one place their versions are written.
 */
const RELEASES = JSON.parse(fs.readFileSync(path.join(__dirname, 'runtime-releases.json'), 'utf8')) as Record<
  'bun' | 'deno',
  RuntimeRelease
>;

/** The Bun release the tests run on Linux x64. */
export const BUN_VERSION = RELEASES.bun.version;
/** The Deno release the tests run on Linux x64. */
export const DENO_VERSION = RELEASES.deno.version;

/** The binary of runtime `name`'s release, fetched once into ~/.cache/socket-keepalive/<name>-v<version>. */
function releaseBinary(name: 'bun' | 'deno'): string {
  const release = RELEASES[name];
  return cachedPackageFile(
    `${release.package}@${release.version}`,
    release.file,
    `${name}-v${release.version}`,
    release.size,
    () => {},
  );
}

/** The `bun` binary of BUN_VERSION for Linux x64 (glibc), from its npm package (about 50 MB, once). */
export function bunBinary(): string {
  return releaseBinary('bun');
}

/** The `deno` binary of DENO_VERSION for Linux x64 (glibc), from its npm package (about 40 MB, once). */
export function denoBinary(): string {
  return releaseBinary('deno');
}

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
