/**
 * How the library writes a time and an address for people, in the dead-peer report,
 * `inspectProcess`' addresses, the process warnings and the command-line tool: `5.6 s`,
 * `10.0.0.5:5432`, `[::1]:5432`.
 * @packageDocumentation
 */

/**
 * `ms` in seconds with one decimal and the unit, as the dead-peer report writes it:
 * `formatSeconds(5564)` is `'5.6 s'` (rounded as `Number.prototype.toFixed` rounds).
 * The preload library (native/preload.c put_seconds) writes the same.
 */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * An address and port as a URL writes them: `10.0.0.5:5432`, `[::1]:5432` (an IPv6
 * address in brackets); `'an unknown address'` when `address` is `undefined`. The
 * preload library (native/preload.c put_endpoint) writes the same.
 */
export function formatEndpoint(address: string | undefined, port: number | undefined): string {
  if (address === undefined) return 'an unknown address';
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
