/**
 * Network faults through a real Toxiproxy (loadtest/infra/toxiproxy.ts, image from
 * scripts/setup/32-image-toxiproxy.sh) in front of a real Redis and a real Kafka: each fault kind of
 * loadtest/faults/toxiproxy-faults.ts does to a client what docs/faults.md says, and clearing it
 * restores normal service. Clients are configured the way the core's are: bounded command
 * timeouts, no offline queue.
 */
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { Producer, stringSerializers } from '@platformatic/kafka';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type NetworkFault,
  NetworkFaultError,
  ToxiproxyFaultInjector,
} from '../../loadtest/faults/toxiproxy-faults.ts';
import { configureContainerEngine } from '../../loadtest/infra/container-engine.ts';
import { createTopic } from '../../loadtest/infra/kafka-topics.ts';
import {
  type ProxiedKafka,
  type ProxiedRedis,
  proxyRedis,
  startProxiedKafka,
  toxiproxyNetworkPath,
} from '../../loadtest/infra/network-proxies.ts';
import { type StartedRedis, startRedis } from '../../loadtest/infra/redis.ts';
import {
  type StartedToxiproxy,
  startToxiproxy,
  ToxiproxyInfraError,
} from '../../loadtest/infra/toxiproxy.ts';

configureContainerEngine(process.env);

/** The client's own command timeout: what a hang must run into. */
const COMMAND_TIMEOUT_MS = 500;
const CLIENT: RedisOptions = {
  commandTimeout: COMMAND_TIMEOUT_MS,
  connectTimeout: 1_000,
  maxRetriesPerRequest: 0,
  enableOfflineQueue: false,
  // Reconnect quickly after a fault closed the connection.
  retryStrategy: () => 50,
};

let toxiproxy: StartedToxiproxy;
let redis: StartedRedis;
let proxied: ProxiedRedis;
let faults: ToxiproxyFaultInjector;
let client: Redis;

/** Runs `op`; resolves with how it ended and its wall time in ms. */
async function timed<T>(op: () => Promise<T>) {
  const t0 = performance.now();
  try {
    const value = await op();
    return { ok: true as const, value, ms: performance.now() - t0 };
  } catch (error) {
    return { ok: false as const, error: error as Error, ms: performance.now() - t0 };
  }
}

/** A client of the proxied Redis, connected (commands without an offline queue need a live socket). */
async function connected(opts: RedisOptions = {}): Promise<Redis> {
  const c = new Redis({ host: proxied.host, port: proxied.port, ...CLIENT, ...opts, lazyConnect: true });
  c.on('error', () => {}); // faults surface through the awaited commands
  await c.connect();
  return c;
}

/** Resolves with the error code of a plain TCP connect to `port` on loopback, or 'connected'. */
function dialTcp(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/** Until a GET through the proxy answers (the client reconnects after a fault closed its socket). */
async function untilServing(c: Redis, timeoutMs = 5_000): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const r = await timed(() => c.get('k'));
    if (r.ok && r.value === 'v') return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs)
      throw new Error(`not serving after ${timeoutMs} ms: ${String(r.ok ? r.value : r.error)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  toxiproxy = await startToxiproxy();
  redis = await startRedis();
  proxied = await proxyRedis(toxiproxy, redis);
  faults = new ToxiproxyFaultInjector(toxiproxy);
  client = new Redis({ host: proxied.host, port: proxied.port, ...CLIENT, lazyConnect: true });
  client.on('error', () => {}); // faults surface through the awaited commands
  await client.connect();
  await client.set('k', 'v');
  console.info(
    `toxiproxy ${toxiproxy.version} up in ${toxiproxy.startMs.toFixed(0)} ms; redis via ${proxied.url}`,
  );
});

afterEach(async () => {
  await faults?.clearAll();
});

afterAll(async () => {
  client?.disconnect();
  await toxiproxy?.stop();
  await redis?.stop();
});

describe('Toxiproxy in front of Redis', () => {
  it('runs the pinned server and forwards to Redis on loopback', async () => {
    expect(toxiproxy.version).toBe('v2.8.0');
    expect(toxiproxy.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(proxied.host).toBe('127.0.0.1');
    expect(proxied.port).not.toBe(redis.port);
    expect(await client.get('k')).toBe('v');
  });

  it('the proxy hop adds well under a millisecond to a GET with no fault', async () => {
    // Light and sequential (one GET in flight): a sanity bound, not the benchmark
    // (bench/toxiproxy-hop.ts runs under the machine's load lock).
    const direct = new Redis({ host: '127.0.0.1', port: redis.port, lazyConnect: true });
    await direct.connect();
    const us = { direct: [] as number[], proxy: [] as number[] };
    try {
      for (let block = 0; block < 20; block++) {
        for (const path of block % 2 === 0
          ? (['direct', 'proxy'] as const)
          : (['proxy', 'direct'] as const)) {
          const c = path === 'direct' ? direct : client;
          for (let i = 0; i < 110; i++) {
            const t0 = process.hrtime.bigint();
            await c.get('k');
            if (i >= 10) us[path].push(Number(process.hrtime.bigint() - t0) / 1000); // first 10: warm-up
          }
        }
      }
    } finally {
      direct.disconnect();
    }
    const q = (xs: number[], f: number) => [...xs].sort((a, b) => a - b)[Math.floor(f * (xs.length - 1))];
    const added = q(us.proxy, 0.5) - q(us.direct, 0.5);
    console.info(
      `GET µs over ${us.direct.length} each: direct p50 ${q(us.direct, 0.5).toFixed(0)} p99 ${q(us.direct, 0.99).toFixed(0)}; ` +
        `proxy p50 ${q(us.proxy, 0.5).toFixed(0)} p99 ${q(us.proxy, 0.99).toFixed(0)}; added p50 ${added.toFixed(0)} µs`,
    );
    expect(added).toBeLessThan(1_000);
  });

  it('latency 200 ms: a GET takes at least 200 ms; cleared, it is fast again', async () => {
    const before = await timed(() => client.get('k'));
    expect(before.ok && before.ms < 100).toBe(true);
    const slowClient = await connected({ commandTimeout: 2_000 });
    try {
      await faults.apply({
        target: 'redis',
        kind: 'latency',
        latencyMs: 200,
        jitterMs: 0,
        fromS: 0,
        toS: 10,
      });
      const samples = [];
      for (let i = 0; i < 5; i++) samples.push(await timed(() => slowClient.get('k')));
      console.info(`GET with latency 200 ms: ${samples.map((s) => s.ms.toFixed(1)).join(', ')} ms`);
      for (const s of samples) {
        expect(s.ok && s.value).toBe('v');
        expect(s.ms).toBeGreaterThanOrEqual(199); // timer granularity
        expect(s.ms).toBeLessThan(400); // once per round trip, not per direction
      }
      await faults.clear({ target: 'redis', kind: 'latency' });
      const after = await timed(() => slowClient.get('k'));
      expect(after.ok && after.ms < 100).toBe(true);
    } finally {
      slowClient.disconnect();
    }
  });

  it('latency with jitter spreads GETs within latency ± jitter', async () => {
    const c = await connected({ commandTimeout: 2_000 });
    try {
      await faults.apply({ target: 'redis', kind: 'latency', latencyMs: 100, jitterMs: 50 });
      const ms: number[] = [];
      for (let i = 0; i < 12; i++) ms.push((await timed(() => c.get('k'))).ms);
      console.info(`GET with latency 100 ± 50 ms: ${ms.map((m) => m.toFixed(0)).join(', ')} ms`);
      for (const m of ms) {
        expect(m).toBeGreaterThanOrEqual(49);
        expect(m).toBeLessThan(200);
      }
      expect(Math.max(...ms) - Math.min(...ms)).toBeGreaterThan(10); // jitter, not a constant delay
    } finally {
      c.disconnect();
    }
  });

  it('hang: a GET hangs until the client times out; cleared, the client reconnects and is served', async () => {
    await faults.apply({ target: 'redis', kind: 'hang' });
    const r = await timed(() => client.get('k'));
    console.info(`GET during hang: rejected after ${r.ms.toFixed(0)} ms (${r.ok ? 'ok' : r.error.message})`);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.error.message).toMatch(/timed out/i);
    expect(r.ms).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS - 5);
    expect(r.ms).toBeLessThan(COMMAND_TIMEOUT_MS + 500);
    await faults.clear({ target: 'redis', kind: 'hang' });
    const ms = await untilServing(client);
    console.info(`served again ${ms.toFixed(0)} ms after the hang was cleared`);
    // The swallowed reply must not be matched to a later command.
    await client.set('k2', 'v2');
    expect(await client.get('k2')).toBe('v2');
    expect(await client.get('k')).toBe('v');
  });

  it('timeout 300 ms: the proxy closes a stalled connection after 300 ms', async () => {
    const c = await connected({ commandTimeout: 5_000, retryStrategy: () => null });
    try {
      await faults.apply({ target: 'redis', kind: 'timeout', timeoutMs: 300 });
      const r = await timed(() => c.get('k'));
      console.info(
        `GET during timeout 300 ms: rejected after ${r.ms.toFixed(0)} ms (${r.ok ? 'ok' : r.error.message})`,
      );
      expect(r.ok).toBe(false);
      expect(r.ms).toBeGreaterThanOrEqual(290);
      expect(r.ms).toBeLessThan(2_000); // the proxy closed it, long before the client's 5 s
    } finally {
      c.disconnect();
    }
  });

  it('down: open connections are closed and new ones refused; cleared, served again', async () => {
    await faults.apply({ target: 'redis', kind: 'down' });
    const open = await timed(() => client.get('k'));
    expect(open.ok).toBe(false);
    expect(open.ms).toBeLessThan(COMMAND_TIMEOUT_MS + 200);
    const dial = await dialTcp(proxied.port);
    console.info(`down: the open connection failed in ${open.ms.toFixed(0)} ms; a new one: ${dial}`);
    expect(dial).toBe('ECONNREFUSED');
    await faults.clear({ target: 'redis', kind: 'down' });
    await untilServing(client);
    expect(await client.get('k')).toBe('v');
  });

  it('reset_peer: a new connection is reset (RST) at its first request, an open one closed; cleared, served again', async () => {
    await faults.apply({ target: 'redis', kind: 'reset_peer' });
    // Toxiproxy sets SO_LINGER 0 (close = RST) only on connections opened while the toxic is active.
    const reply = await new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: proxied.port }, () => socket.write('PING\r\n'));
      socket.once('data', (d) => resolve(`reply ${String(d).trim()}`));
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      socket.once('close', () => resolve('closed'));
    });
    const open = await timed(() => client.get('k'));
    console.info(
      `reset_peer: new connection → ${reply}; open connection → ${open.ok ? 'ok' : open.error.message}`,
    );
    expect(reply).toBe('ECONNRESET');
    expect(open.ok).toBe(false);
    expect(open.ms).toBeLessThan(COMMAND_TIMEOUT_MS); // closed, not timed out
    await faults.clear({ target: 'redis', kind: 'reset_peer' });
    await untilServing(client);
  });

  it('bandwidth 100 KB/s: a 200 KB value takes about 2 s; cleared, it is fast again', async () => {
    const c = await connected({ commandTimeout: 10_000 });
    try {
      await c.set('big', Buffer.alloc(200_000, 1));
      await faults.apply({ target: 'redis', kind: 'bandwidth', rateKBps: 100 });
      const slow = await timed(() => c.getBuffer('big'));
      expect(slow.ok && slow.value?.length).toBe(200_000);
      await faults.clear({ target: 'redis', kind: 'bandwidth' });
      const fast = await timed(() => c.getBuffer('big'));
      console.info(`GET 200 KB: ${slow.ms.toFixed(0)} ms at 100 KB/s, ${fast.ms.toFixed(1)} ms cleared`);
      expect(slow.ms).toBeGreaterThanOrEqual(1_500);
      expect(slow.ms).toBeLessThan(4_000);
      expect(fast.ms).toBeLessThan(200);
    } finally {
      c.disconnect();
    }
  });

  it('kinds stack, clearing one leaves the other, clearAll ends both', async () => {
    await faults.apply({ target: 'redis', kind: 'latency', latencyMs: 150 });
    await faults.apply({ target: 'redis', kind: 'bandwidth', rateKBps: 1_000 });
    // Re-applying a kind updates it in place.
    await faults.apply({ target: 'redis', kind: 'latency', latencyMs: 250 });
    const toxics = async () =>
      (
        (await (await fetch(`${toxiproxy.apiUrl}/proxies/redis/toxics`)).json()) as {
          name: string;
          attributes: Record<string, number>;
        }[]
      )
        .map((t) => `${t.name}:${JSON.stringify(t.attributes)}`)
        .sort();
    expect(await toxics()).toEqual([
      'reclab_bandwidth_downstream:{"rate":1000}',
      'reclab_bandwidth_upstream:{"rate":1000}',
      'reclab_latency_downstream:{"latency":250,"jitter":0}',
    ]);
    await faults.clear({ target: 'redis', kind: 'bandwidth' });
    expect(await toxics()).toEqual(['reclab_latency_downstream:{"latency":250,"jitter":0}']);
    await faults.clear({ target: 'redis', kind: 'bandwidth' }); // not active: a no-op
    await faults.apply({ target: 'redis', kind: 'down' });
    await faults.clearAll();
    expect(await toxics()).toEqual([]);
    await untilServing(client);
  });

  it('refuses bad faults with stable codes, before touching the proxy', async () => {
    const code = async (f: unknown) => {
      const err = await faults.apply(f as NetworkFault).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(NetworkFaultError);
      return (err as NetworkFaultError).code;
    };
    expect(await code({ target: 'redis', kind: 'latency' })).toBe('RECLAB_ERR_NETWORK_FAULT_INVALID');
    expect(await code({ target: 'redis', kind: 'latency', latencyMs: 200, jitterMs: -1 })).toBe(
      'RECLAB_ERR_NETWORK_FAULT_INVALID',
    );
    expect(await code({ target: 'redis', kind: 'bandwidth', rateKBps: 0 })).toBe(
      'RECLAB_ERR_NETWORK_FAULT_INVALID',
    );
    expect(await code({ target: 'redis', kind: 'timeout', timeoutMs: 700_000 })).toBe(
      'RECLAB_ERR_NETWORK_FAULT_INVALID',
    );
    expect(await code({ target: 'redis', kind: 'explode' })).toBe('RECLAB_ERR_NETWORK_FAULT_INVALID');
    expect(await code({ target: 'ranker_tier', kind: 'down' })).toBe('RECLAB_ERR_NETWORK_FAULT_INVALID');
    // Kafka is a valid target, but no Kafka proxy exists in this suite.
    expect(await code({ target: 'kafka', kind: 'down' })).toBe('RECLAB_ERR_NETWORK_FAULT_TARGET');
    const res = await fetch(`${toxiproxy.apiUrl}/proxies/redis/toxics`);
    expect(await res.json()).toEqual([]);
  });

  it('startToxiproxy names the set-up step when the image is missing', async () => {
    const err = await startToxiproxy({
      image: 'localhost/reclab-no-such-toxiproxy:0',
      startupTimeoutMs: 5_000,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ToxiproxyInfraError);
    expect((err as ToxiproxyInfraError).code).toBe('RECLAB_ERR_INFRA_TOXIPROXY_START');
    expect((err as Error).message).toContain('32-image-toxiproxy.sh');
  });
});

describe('Toxiproxy in front of Kafka (the broker advertises the proxy)', () => {
  let kafka: ProxiedKafka | undefined;

  beforeAll(async () => {
    kafka = await startProxiedKafka(toxiproxy, { startupTimeoutMs: 90_000 });
  }, 120_000);

  afterAll(async () => {
    await kafka?.stop();
  });

  const producer = () =>
    new Producer({
      clientId: 'reclab-network-faults',
      bootstrapBrokers: kafka!.brokers,
      serializers: stringSerializers,
      idempotent: true,
      timeout: 1_500,
      requestTimeout: 1_500,
      retries: 0,
    });

  it('bootstraps and produces through the proxy; latency slows it; down fails it; cleared, it recovers', async () => {
    expect(kafka!.brokers).toEqual([`127.0.0.1:${kafka!.proxy.port}`]);
    const topic = `nf-${randomUUID()}`;
    await createTopic(kafka!.brokers, topic);
    const p = producer();
    try {
      const send = () => timed(() => p.send({ messages: [{ topic, value: 'x' }] }));
      expect((await send()).ok).toBe(true);
      const base = await send();
      expect(base.ok).toBe(true);

      await faults.apply({ target: 'kafka', kind: 'latency', latencyMs: 200 });
      const slow = await send();
      console.info(`kafka produce: ${base.ms.toFixed(1)} ms, with latency 200 ms ${slow.ms.toFixed(0)} ms`);
      expect(slow.ok).toBe(true);
      expect(slow.ms).toBeGreaterThanOrEqual(199);
      await faults.clear({ target: 'kafka', kind: 'latency' });

      // While the broker's advertised address refuses connections, @platformatic/kafka's send does
      // not reject (it keeps reconnecting past its timeouts): it must at least not succeed.
      await faults.apply({ target: 'kafka', kind: 'down' });
      expect(await dialTcp(kafka!.proxy.port)).toBe('ECONNREFUSED');
      const down = await Promise.race([
        send(),
        new Promise<'pending'>((r) => setTimeout(() => r('pending'), 3_000)),
      ]);
      console.info(
        `kafka produce while down: ${down === 'pending' ? 'still pending after 3 s' : down.ok ? 'ok' : down.error.message}`,
      );
      expect(down === 'pending' || !down.ok).toBe(true);
      await faults.clear({ target: 'kafka', kind: 'down' });
    } finally {
      await p.close().catch(() => {});
    }
    // A new client after the outage (the one above may have given up its connection for good).
    const again = producer();
    try {
      const deadline = Date.now() + 10_000;
      let r = await timed(() => again.send({ messages: [{ topic, value: 'y' }] }));
      while (!r.ok && Date.now() < deadline) {
        await new Promise((res) => setTimeout(res, 200));
        r = await timed(() => again.send({ messages: [{ topic, value: 'y' }] }));
      }
      expect(r.ok).toBe(true);
    } finally {
      await again.close().catch(() => {});
    }
  }, 60_000);

  it("the runner's network path: its own Toxiproxy, Redis through it, faults on redis only", async () => {
    const path = await toxiproxyNetworkPath({ seed: 7 })({ redis, kafka: kafka! });
    const c = new Redis(path.redisUrl, { ...CLIENT, commandTimeout: 2_000, lazyConnect: true });
    c.on('error', () => {});
    try {
      expect(path.redisUrl).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
      expect(path.redisUrl).not.toBe(proxied.url); // a server of its own
      expect(path.kafkaBrokers).toEqual(kafka!.brokers);
      await c.connect();
      expect(await c.get('k')).toBe('v');
      await path.injector.apply({ target: 'redis', kind: 'latency', latencyMs: 150 });
      const slow = await timed(() => c.get('k'));
      expect(slow.ok && slow.ms >= 149).toBe(true);
      await path.injector.clear({ target: 'redis', kind: 'latency' });
      await expect(
        path.injector.apply({ target: 'kafka', kind: 'timeout', timeoutMs: 0 }),
      ).rejects.toMatchObject({
        code: 'RECLAB_ERR_NETWORK_FAULT_TARGET',
      });
    } finally {
      c.disconnect();
      await path.stop();
    }
    const after = await timed(() => fetch(`${path.redisUrl.replace('redis', 'http')}/`));
    expect(after.ok).toBe(false); // the path's proxy is gone with its server
  }, 60_000);
});
