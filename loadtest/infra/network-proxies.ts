/**
 * Redis and Kafka behind Toxiproxy (loadtest/infra/toxiproxy.ts), so that network faults
 * (loadtest/faults/toxiproxy-faults.ts) act on the path between the core and them.
 *
 * Only the core's path goes through the proxy: the lab loads the world into Redis directly (no
 * fault slows the load). Kafka is the exception: a Kafka client dials the address the broker
 * advertises, so once the broker advertises the proxy every client, the lab's topic readers
 * included, goes through it.
 */
import type { NetworkPathFactory } from '../faults/network.ts';
import { ToxiproxyFaultInjector } from '../faults/toxiproxy-faults.ts';
import { type StartedKafka, type StartKafkaOptions, startKafka } from './kafka.ts';
import type { StartedRedis } from './redis.ts';
import { type ProxyAddress, type StartedToxiproxy, startToxiproxy } from './toxiproxy.ts';

/** Proxy names, as faults' `target`s name them. */
export const PROXY_NAMES = { redis: 'redis', kafka: 'kafka' } as const;

/** A Redis reached through a proxy. */
export interface ProxiedRedis extends ProxyAddress {
  /** `redis://127.0.0.1:<proxy port>`: give this to the core (RECLAB_REDIS_URL). */
  url: string;
}

/**
 * Puts proxy `redis` in front of `redis`: 127.0.0.1:<new port> → the Redis's published port. It
 * follows the Redis across the lab's stop/start and restart-empty faults (same published port).
 * @throws ToxiproxyInfraError RECLAB_ERR_INFRA_TOXIPROXY_PROXY when the proxy cannot be created
 */
export async function proxyRedis(toxiproxy: StartedToxiproxy, redis: StartedRedis): Promise<ProxiedRedis> {
  // `localhost` may resolve to ::1 first inside the container; podman publishes on IPv4.
  const host = redis.host === 'localhost' ? '127.0.0.1' : redis.host;
  const p = await toxiproxy.proxy(PROXY_NAMES.redis, `${host}:${redis.port}`);
  return { ...p, url: `redis://${p.host}:${p.port}` };
}

/** A Kafka broker that advertises its proxy: every client reaches it through Toxiproxy. */
export interface ProxiedKafka extends StartedKafka {
  /** The proxy clients dial (`brokers[0]` is its address). */
  proxy: ProxyAddress;
}

/**
 * Starts a single-node Kafka (loadtest/infra/kafka.ts) behind proxy `kafka`: the proxy listens on
 * 127.0.0.1:<P> and forwards to the broker's published port; the broker advertises 127.0.0.1:<P>,
 * so bootstrap and every later connection go through the proxy. The readiness check runs through it.
 * @throws KafkaStartError (RECLAB_ERR_INFRA_KAFKA_START) or ToxiproxyInfraError as their modules say
 */
export async function startProxiedKafka(
  toxiproxy: StartedToxiproxy,
  opts: Omit<StartKafkaOptions, 'advertise'> = {},
): Promise<ProxiedKafka> {
  let proxy: ProxyAddress | undefined;
  const kafka = await startKafka({
    ...opts,
    // Per start attempt: the proxy (re)created towards this attempt's published port.
    advertise: async (publishedPort) => {
      proxy = await toxiproxy.proxy(PROXY_NAMES.kafka, `127.0.0.1:${publishedPort}`);
      return { host: proxy.host, port: proxy.port };
    },
  });
  if (!proxy) throw new Error('startKafka did not call advertise'); // a bug in kafka.ts, not an outage
  return Object.assign(kafka, { proxy });
}

/**
 * The live runner's network path (loadtest/faults/network.ts `NetworkPathFactory`, `runScenario`'s
 * `network`): Toxiproxy started once Redis and Kafka run, Redis behind proxy `redis` (the core
 * dials it), and a `ToxiproxyFaultInjector` on that server. Kafka stays direct: the runner starts
 * the broker before it calls the factory, and a broker already advertising its own port cannot be
 * put behind a proxy (see startProxiedKafka); a `kafka` network fault is therefore refused by the
 * injector (RECLAB_ERR_NETWORK_FAULT_TARGET) — callers refuse such scenarios up front.
 * @param opts.seed Toxiproxy's `-seed` (its jitter draws): the run's seed
 * @throws ToxiproxyInfraError when Toxiproxy does not start or refuses the proxy
 */
export function toxiproxyNetworkPath(opts: { seed: number }): NetworkPathFactory {
  return async ({ redis, kafka }) => {
    const toxiproxy = await startToxiproxy({ seed: opts.seed });
    try {
      const proxied = await proxyRedis(toxiproxy, redis);
      return {
        injector: new ToxiproxyFaultInjector(toxiproxy),
        redisUrl: proxied.url,
        kafkaBrokers: kafka.brokers,
        stop: () => toxiproxy.stop(),
      };
    } catch (err) {
      await toxiproxy.stop().catch(() => {});
      throw err;
    }
  };
}
