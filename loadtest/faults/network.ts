/**
 * Network faults between the core and a dependency, as an interface: what the live runner asks
 * of whatever sits on the path (Toxiproxy in front of Redis and Kafka, issue 12; built in
 * loadtest/faults/toxiproxy*). The scenario kinds `latency` and `timeout` go through it; without an
 * injector the runner refuses such a scenario before it starts (RECLAB_ERR_FAULT_UNSUPPORTED).
 */

/** Dependencies a network fault can sit in front of. */
export type NetworkTarget = 'redis' | 'kafka';

/**
 * - `latency`: every packet delayed `latencyMs` ± `jitterMs` (uniform; Toxiproxy's latency toxic);
 * - `timeout`: data stops flowing and connections are never closed (Toxiproxy's timeout toxic with
 *   timeout 0): a hung dependency seen through the network.
 */
export type NetworkFault = { kind: 'latency'; latencyMs: number; jitterMs: number } | { kind: 'timeout' };

export interface NetworkFaultInjector {
  /**
   * The address the core must dial for `target` so that faults can act on it (e.g. the proxy's
   * `redis://127.0.0.1:port`, or `host:port` for Kafka); called before the core starts.
   */
  addressOf(target: NetworkTarget): string;
  /**
   * Puts `fault` on the path to `target`; resolves once it is in force, with the function that
   * removes it (resolving once the path is clean again).
   */
  inject(target: NetworkTarget, fault: NetworkFault): Promise<() => Promise<void>>;
}
