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
