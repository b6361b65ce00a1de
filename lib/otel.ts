/**
 * `socket-keepalive/otel`: the library's counts and dead peers as OpenTelemetry metrics,
 * for applications that run the OpenTelemetry SDK. `@opentelemetry/api` is an optional
 * peer dependency: it is loaded only when {@link observeKeepAlive} is called, and the
 * rest of the library never needs it.
 *
 * No OpenTelemetry semantic convention covers a TCP connection found dead, so the names
 * are this library's own, under the `socket_keepalive` namespace and following
 * OpenTelemetry's naming rules (lowercase, dot-separated, no unit or `_total` in the
 * name, units in UCUM):
 *
 * | instrument | kind | unit | attributes |
 * | --- | --- | --- | --- |
 * | `socket_keepalive.sockets.tuned` | asynchronous counter | `{socket}` | |
 * | `socket_keepalive.listeners.tuned` | asynchronous counter | `{listener}` | |
 * | `socket_keepalive.tunings.failed` | asynchronous counter | `{tuning}` | |
 * | `socket_keepalive.dead_peers` | asynchronous counter | `{connection}` | `socket_keepalive.cause` |
 * | `socket_keepalive.dead_peer.silence` | histogram | `ms` | `socket_keepalive.cause` |
 *
 * The counters are {@link keepAliveStats}, read when the SDK collects; the histogram
 * records each dead peer's `silentMs` from the dead-peer channel ({@link DEAD_PEER_CHANNEL}).
 * @packageDocumentation
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { MeterProvider, ObservableResult } from '@opentelemetry/api';
import { DEAD_PEER_CHANNEL, type DeadPeer } from './dead-peer.js';
import { invalidArgType } from './errors.js';
import { type DeadPeerCause, keepAliveStats } from './stats.js';

/** What {@link observeKeepAlive} takes. */
export interface ObserveKeepAliveOptions {
  /**
   * The meter provider to register on; default: `@opentelemetry/api`'s global one
   * (`metrics.getMeterProvider()`), so register the SDK's provider first.
   */
  meterProvider?: MeterProvider;
}

/** The attribute naming a dead peer's cause: `keepalive`, `userTimeout`, `retransmissions` or `zeroWindow`. */
export const CAUSE_ATTRIBUTE = 'socket_keepalive.cause';

/** The name the library's meter has (its instrumentation scope). */
const SCOPE = 'socket-keepalive';

/**
 * Registers the library's metrics (see the table above) on an OpenTelemetry meter
 * provider: asynchronous counters of {@link keepAliveStats} and a histogram of each dead
 * peer's silence. Counts are per thread, as keepAliveStats' are. Returns a function that
 * stops recording (the instruments stay with the provider and report no more data).
 * Throws `ERR_INVALID_ARG_TYPE` for a bad `options`, and an error with code
 * `MODULE_NOT_FOUND` when no meter provider is given and `@opentelemetry/api` cannot be
 * loaded.
 *
 * @example
 * ```ts
 * import { observeKeepAlive } from 'socket-keepalive/otel';
 * sdk.start(); // the OpenTelemetry SDK, with a metric reader
 * observeKeepAlive();
 * ```
 */
export function observeKeepAlive(options: ObserveKeepAliveOptions = {}): () => void {
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'of type object', options);
  const { meterProvider } = options;
  if (meterProvider !== undefined && typeof (meterProvider as Partial<MeterProvider>)?.getMeter !== 'function')
    throw invalidArgType('options.meterProvider', 'a MeterProvider (with a getMeter method)', meterProvider);
  const provider = meterProvider ?? globalMeterProvider();
  const meter = provider.getMeter(SCOPE);
  const counter = (name: string, unit: string, description: string) =>
    meter.createObservableCounter(`socket_keepalive.${name}`, { unit, description });
  const sockets = counter('sockets.tuned', '{socket}', 'Sockets given keepalive options of their own');
  const listeners = counter('listeners.tuned', '{listener}', 'Listening sockets given keepalive options');
  const failed = counter('tunings.failed', '{tuning}', 'Times the kernel refused keepalive options');
  const deadPeers = counter(
    'dead_peers',
    '{connection}',
    'Connections the kernel ended because the peer stopped answering',
  );
  const silence = meter.createHistogram('socket_keepalive.dead_peer.silence', {
    unit: 'ms',
    description: 'How long the peer had been silent when the kernel ended the connection',
  });
  const observe = {
    sockets: (result: ObservableResult) => result.observe(keepAliveStats().socketsTuned),
    listeners: (result: ObservableResult) => result.observe(keepAliveStats().listenersTuned),
    failed: (result: ObservableResult) => result.observe(keepAliveStats().tuningsFailed),
    deadPeers: (result: ObservableResult) => {
      for (const [cause, count] of Object.entries(keepAliveStats().deadPeers))
        result.observe(count, { [CAUSE_ATTRIBUTE]: cause as DeadPeerCause });
    },
  };
  sockets.addCallback(observe.sockets);
  listeners.addCallback(observe.listeners);
  failed.addCallback(observe.failed);
  deadPeers.addCallback(observe.deadPeers);
  const record = (message: unknown) => {
    const { silentMs, cause } = message as DeadPeer;
    // Without the native addon a dead peer has no TCP_INFO, so no silence to record.
    if (silentMs !== undefined) silence.record(silentMs, { [CAUSE_ATTRIBUTE]: cause });
  };
  diagnosticsChannel.subscribe(DEAD_PEER_CHANNEL, record);
  return () => {
    diagnosticsChannel.unsubscribe(DEAD_PEER_CHANNEL, record);
    sockets.removeCallback(observe.sockets);
    listeners.removeCallback(observe.listeners);
    failed.removeCallback(observe.failed);
    deadPeers.removeCallback(observe.deadPeers);
  };
}

/** `@opentelemetry/api`, loaded only here: it is an optional peer dependency. */
function openTelemetryApi(): typeof import('@opentelemetry/api') {
  try {
    return require('@opentelemetry/api') as typeof import('@opentelemetry/api');
  } catch (error) {
    throw Object.assign(
      new Error(
        `socket-keepalive/otel needs the package @opentelemetry/api (npm install @opentelemetry/api): ${(error as Error).message}`,
      ),
      { code: 'MODULE_NOT_FOUND' },
    );
  }
}

function globalMeterProvider(): MeterProvider {
  return openTelemetryApi().metrics.getMeterProvider();
}

/**
 * For the preload's `report=otel`: registers on the global meter provider as soon as
 * there is one. The preload runs before the application registers the SDK, so when the
 * global provider is still OpenTelemetry's no-op one, registering waits for the
 * application's `metrics.setGlobalMeterProvider` (also called by the SDK's `start()`).
 * Throws like {@link observeKeepAlive} when `@opentelemetry/api` cannot be loaded.
 */
export function observeKeepAliveOnGlobalProvider(): void {
  const api = openTelemetryApi();
  if (api.metrics.getMeterProvider().constructor.name !== 'NoopMeterProvider') {
    observeKeepAlive();
    return;
  }
  const { metrics } = api;
  const setGlobalMeterProvider = metrics.setGlobalMeterProvider;
  metrics.setGlobalMeterProvider = function registerKeepAliveMetrics(provider: MeterProvider): boolean {
    const registered = setGlobalMeterProvider.call(this, provider);
    if (registered) {
      metrics.setGlobalMeterProvider = setGlobalMeterProvider;
      observeKeepAlive({ meterProvider: provider });
    }
    return registered;
  };
}
