/**
 * Whether the preload library (LD_PRELOAD) can reach a command `run` starts, read from the
 * command's file: its ELF program headers (PT_INTERP, the dynamic loader, names the C
 * library; none means statically linked), its section names (`.go.buildinfo` marks a Go
 * program, whose net package makes its own syscalls, dynamically linked or not) and its
 * set-user-ID and set-group-ID bits.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type Libc, preloadLibrary } from 'socket-keepalive';

const PT_INTERP = 3;
const SET_USER_ID = 0o4000;
const SET_GROUP_ID = 0o2000;

/** The section every Go program since Go 1.13 carries (its build information). */
const GO_SECTION = '.go.buildinfo';

/**
 * What an ELF file says of how it links: the dynamic loader it names (PT_INTERP, `''` for
 * none: statically linked) and whether it is a Go program; `undefined` when it is not ELF.
 */
function linkingOf(file: string): { interpreter: string; go: boolean } | undefined {
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
    const read = (at: number, length: number) => {
      const buffer = Buffer.alloc(length);
      fs.readSync(descriptor, buffer, 0, length, at);
      return buffer;
    };
    const programs = read(word(header, is64 ? 32 : 28), u16(header, is64 ? 54 : 42) * u16(header, is64 ? 56 : 44));
    let interpreter = '';
    for (let at = 0; at < programs.length; at += u16(header, is64 ? 54 : 42)) {
      if (u32(programs, at) !== PT_INTERP) continue;
      const name = read(word(programs, at + (is64 ? 8 : 4)), word(programs, at + (is64 ? 32 : 16)));
      interpreter = name.toString('latin1').replace(/\0+$/, '');
    }
    // The section names: the string table section (e_shstrndx) of the section headers.
    const sectionSize = u16(header, is64 ? 58 : 46);
    const sections = read(word(header, is64 ? 40 : 32), sectionSize * u16(header, is64 ? 60 : 48));
    const names = sections.length === 0 ? undefined : u16(header, is64 ? 62 : 50) * sectionSize;
    const go =
      names !== undefined &&
      names + sectionSize <= sections.length &&
      read(word(sections, names + (is64 ? 24 : 16)), word(sections, names + (is64 ? 32 : 20)))
        .toString('latin1')
        .split('\0')
        .includes(GO_SECTION);
    return { interpreter, go };
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
  let linking: ReturnType<typeof linkingOf>;
  try {
    linking = linkingOf(program);
  } catch {
    linking = undefined;
  }
  const interpreter = linking?.interpreter;
  if (linking?.go)
    return cannot(
      `${program} is a Go program (its net package calls the kernel itself, not the C library's connect())`,
    );
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
