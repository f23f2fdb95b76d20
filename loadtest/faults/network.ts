/**
 * Network faults between the core and a dependency, as an interface: what the live runner asks of
 * whatever sits on the path — Toxiproxy in front of Redis and Kafka (issue 12;
 * `ToxiproxyFaultInjector` in loadtest/faults/toxiproxy-faults.ts implements it: its `NetworkFault`
 * is a superset of this one). The scenario kinds `latency`, `timeout`, `reset_peer` and `bandwidth`
 * go through it; without one the runner refuses such a scenario before it starts
 * (RECLAB_ERR_FAULT_UNSUPPORTED).
 */
import type { StartedKafka } from '../infra/kafka.ts';
import type { StartedRedis } from '../infra/redis.ts';

/** Dependencies a network fault can sit in front of. */
export type NetworkTarget = 'redis' | 'kafka';

/**
 * - `latency`: each reply `latencyMs` ± `jitterMs` late (uniform; Toxiproxy's latency toxic);
 * - `timeout`: nothing gets through, each connection closed after `timeoutMs` (0: held open);
 * - `reset_peer`: connections reset (after `timeoutMs`, default 0);
 * - `bandwidth`: at most `rateKBps` KB/s each way;
 * - `down`: the path closed: open connections dropped, new ones refused (Toxiproxy: the proxy
 *   disabled). Not a scenario kind of its own: the runner closes the path while it stops or
 *   restarts a container behind it (loadtest/faults/live-faults.ts says why).
 */
export type NetworkFault =
  | {
      readonly target: NetworkTarget;
      readonly kind: 'latency';
      readonly latencyMs: number;
      readonly jitterMs?: number;
    }
  | { readonly target: NetworkTarget; readonly kind: 'timeout'; readonly timeoutMs: number }
  | { readonly target: NetworkTarget; readonly kind: 'reset_peer'; readonly timeoutMs?: number }
  | { readonly target: NetworkTarget; readonly kind: 'bandwidth'; readonly rateKBps: number }
  | { readonly target: NetworkTarget; readonly kind: 'down' };

export interface NetworkFaultInjector {
  /** Puts `fault` on the path to its target; resolves once it is in force. */
  apply(fault: NetworkFault): Promise<void>;
  /** Removes it; resolves once the path is clean again. */
  clear(fault: Pick<NetworkFault, 'target' | 'kind'>): Promise<void>;
}

/** A network path in front of the run's Redis and Kafka: the addresses the core dials, and its injector. */
export interface NetworkPath {
  injector: NetworkFaultInjector;
  /** `redis://host:port` of the proxy in front of Redis. */
  redisUrl: string;
  /** `host:port` of the proxy (or proxies) in front of Kafka. */
  kafkaBrokers: string[];
  stop(): Promise<void>;
}

/**
 * Builds the network path once Redis and Kafka run (the runner calls it before starting the core);
 * given to `runScenario` as `network`.
 */
export type NetworkPathFactory = (infra: {
  redis: StartedRedis;
  kafka: StartedKafka;
}) => Promise<NetworkPath>;
