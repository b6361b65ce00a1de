import fs from 'node:fs';
import os from 'node:os';

/**
 * Whether this kernel takes setsockopt through io_uring (SOCKET_URING_OP_SETSOCKOPT,
 * Linux 6.7+) with io_uring enabled (kernel.io_uring_disabled = 0): the oracle for the
 * path the addon should choose, read independently of the addon's own probe.
 */
export function kernelOffersIoUringSetsockopt(): boolean {
  const [major, minor] = os.release().split('.').map(Number);
  const sysctl = '/proc/sys/kernel/io_uring_disabled';
  const disabled = fs.existsSync(sysctl) ? fs.readFileSync(sysctl, 'utf8').trim() : '0';
  return (major > 6 || (major === 6 && minor >= 7)) && disabled === '0';
}

/** Whether page-table isolation is on (the kernel's own report of its Meltdown mitigation). */
export function pageTableIsolation(): boolean {
  const file = '/sys/devices/system/cpu/vulnerabilities/meltdown';
  return fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes('PTI');
}

/**
 * The path a process should take for setKeepAlive with SOCKET_KEEPALIVE_IO_URING set to
 * `setting`: '0' plain syscalls; '1' io_uring wherever the kernel takes it; unset io_uring
 * only where the kernel takes it and page-table isolation is on.
 */
export function expectedKernelPath(setting: string | undefined): 'io_uring' | 'syscalls' {
  if (setting === '0' || !kernelOffersIoUringSetsockopt()) return 'syscalls';
  return setting === '1' || pageTableIsolation() ? 'io_uring' : 'syscalls';
}
