/**
 * Whether the preload library (LD_PRELOAD) can reach a command `run` starts, read from the
 * command's file: its ELF program headers (PT_INTERP, the dynamic loader, names the C
 * library; none means statically linked) and its set-user-ID and set-group-ID bits.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type Libc, preloadLibrary } from 'socket-keepalive';

const PT_INTERP = 3;
const SET_USER_ID = 0o4000;
const SET_GROUP_ID = 0o2000;

/** The dynamic loader an ELF file names (PT_INTERP): `''` for none (statically linked), `undefined` when it is not ELF. */
function interpreterOf(file: string): string | undefined {
  const descriptor = fs.openSync(file, 'r');
  try {
    const header = Buffer.alloc(64);
    fs.readSync(descriptor, header, 0, 64, 0);
    if (header.readUInt32BE(0) !== 0x7f454c46) return undefined;
    const is64 = header[4] === 2;
    const little = header[5] === 1;
    const u16 = (buffer: Buffer, at: number) => (little ? buffer.readUInt16LE(at) : buffer.readUInt16BE(at));
    const u32 = (buffer: Buffer, at: number) => (little ? buffer.readUInt32LE(at) : buffer.readUInt32BE(at));
    const word = (buffer: Buffer, at: number) =>
      is64 ? Number(little ? buffer.readBigUInt64LE(at) : buffer.readBigUInt64BE(at)) : u32(buffer, at);
    const tableAt = word(header, is64 ? 32 : 28);
    const entrySize = u16(header, is64 ? 54 : 42);
    const entries = u16(header, is64 ? 56 : 44);
    const table = Buffer.alloc(entrySize * entries);
    fs.readSync(descriptor, table, 0, table.length, tableAt);
    for (let entry = 0; entry < entries; entry++) {
      const at = entry * entrySize;
      if (u32(table, at) !== PT_INTERP) continue;
      const offset = word(table, at + (is64 ? 8 : 4));
      const size = word(table, at + (is64 ? 32 : 16));
      const name = Buffer.alloc(size);
      fs.readSync(descriptor, name, 0, size, offset);
      return name.toString('latin1').replace(/\0+$/, '');
    }
    return '';
  } finally {
    fs.closeSync(descriptor);
  }
}

/** The file `command` runs: as written when it holds a slash, else the first match on PATH. */
function resolveCommand(command: string): string | undefined {
  if (command.includes('/')) return fs.existsSync(command) ? path.resolve(command) : undefined;
  for (const directory of (process.env.PATH ?? '').split(path.delimiter)) {
    const file = path.join(directory || '.', command);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {}
  }
  return undefined;
}

/** The program that actually runs `file`: a `#!` script's interpreter (once), else the file. */
function programOf(file: string): string {
  const start = Buffer.alloc(256);
  const descriptor = fs.openSync(file, 'r');
  const length = fs.readSync(descriptor, start, 0, 256, 0);
  fs.closeSync(descriptor);
  if (start.toString('latin1', 0, 2) !== '#!') return file;
  const interpreter = start.toString('latin1', 2, length).split('\n')[0].trim().split(/\s+/)[0];
  return interpreter && fs.existsSync(interpreter) ? interpreter : file;
}

/**
 * What `run` adds to the command's environment for the preload library: `LD_PRELOAD`
 * (the inherited one with the library appended), or, where the library cannot reach the
 * command, nothing and `note`, one line saying why. The command runs in both cases.
 */
export function nativePreload(command: string, inherited: string | undefined): { LD_PRELOAD?: string; note?: string } {
  const cannot = (why: string) => ({
    note: `socket-keepalive run: the preload library cannot reach the sockets of ${command}: ${why}`,
  });
  const file = resolveCommand(command);
  if (file === undefined) return {}; // spawn says it cannot start the command
  const program = programOf(file);
  let interpreter: string | undefined;
  try {
    interpreter = interpreterOf(program);
  } catch {
    interpreter = undefined;
  }
  if (interpreter === '') return cannot(`${program} is statically linked (no dynamic loader to read LD_PRELOAD)`);
  const { mode, uid, gid } = fs.statSync(program);
  if ((mode & SET_USER_ID && uid !== process.getuid?.()) || (mode & SET_GROUP_ID && gid !== process.getgid?.()))
    return cannot(`${program} is set-user-ID or set-group-ID (the dynamic loader ignores LD_PRELOAD for it)`);
  const libc: Libc = interpreter?.includes('ld-musl') ? 'musl' : 'glibc';
  const library = preloadLibrary(libc);
  if (library.path === undefined) return cannot(library.missing);
  if (/[\s:]/.test(library.path))
    return cannot(`the path ${library.path} holds a space or colon, which LD_PRELOAD cannot carry`);
  const others = (inherited ?? '').split(/[\s:]+/).filter(Boolean);
  if (others.includes(library.path)) return { LD_PRELOAD: inherited };
  return { LD_PRELOAD: [...others, library.path].join(' ') };
}
