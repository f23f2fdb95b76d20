/**
 * The serving core behind a slow network to Redis (issue 12, "redis-failure … slow (Toxiproxy
 * latency 200 ms)"): the core reaches Redis through Toxiproxy (loadtest/infra/network-proxies.ts),
 * the lab adds 200 ms to every Redis reply, and the core answers from its degraded rungs
 * (`default_features` or `popularity`, docs/fallback.md) with the reasons that say why, with no
 * 5xx and without waiting for Redis; once the fault is cleared it climbs back to `full`.
 *
 * Real parts: Redis and Kafka in containers, Toxiproxy in a container, the core as its own process
 * with the in-process ranker, a small trained world (cached under .reclab/cache) loaded into Redis
 * directly (not through the proxy).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CoreProcess, startCore } from '../../loadtest/core-process.ts';
import { ToxiproxyFaultInjector } from '../../loadtest/faults/toxiproxy-faults.ts';
import { configureContainerEngine } from '../../loadtest/infra/container-engine.ts';
import { type StartedKafka, startKafka } from '../../loadtest/infra/kafka.ts';
import { createTopic } from '../../loadtest/infra/kafka-topics.ts';
import { type ProxiedRedis, proxyRedis } from '../../loadtest/infra/network-proxies.ts';
import { type StartedRedis, startRedis } from '../../loadtest/infra/redis.ts';
import { type StartedToxiproxy, startToxiproxy } from '../../loadtest/infra/toxiproxy.ts';
import { prepareWorld } from '../../loadtest/prepare-world.ts';

configureContainerEngine(process.env);

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// The world of test/integration/fallback-rungs.test.ts: its models are usually cached already.
const USERS = 2000;
const VIDEOS = 1500;
const SEED = 21;
const BREAKER_OPEN_MS = 500;
const LATENCY_MS = 200;

let toxiproxy: StartedToxiproxy | undefined;
let redis: StartedRedis | undefined;
let kafka: StartedKafka | undefined;
let proxied: ProxiedRedis;
let core: CoreProcess | undefined;
let faults: ToxiproxyFaultInjector;
let tmp = '';

interface Served {
  status: number;
  rung?: string;
  reasons: { stage: string; code: string }[];
  items: number;
  ms: number;
}

let nextUser = 0;
async function recommend(): Promise<Served> {
  const t0 = performance.now();
  const res = await fetch(`${core!.url}/v1/recommendations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: `u_${nextUser++ % USERS}`, count: 20 }),
  });
  const body = (await res.json()) as {
    items?: unknown[];
    meta?: { rung: string; reasons: { stage: string; code: string }[] };
  };
  return {
    status: res.status,
    rung: body.meta?.rung,
    reasons: body.meta?.reasons ?? [],
    items: body.items?.length ?? 0,
    ms: performance.now() - t0,
  };
}

/** `n` requests, 4 at a time. */
async function burst(n: number): Promise<Served[]> {
  const out: Served[] = [];
  for (let i = 0; i < n; i += 4) out.push(...(await Promise.all([0, 1, 2, 3].map(() => recommend()))));
  return out;
}

/** Polls until a whole burst of 8 is served on `full`; resolves with the time it took, in ms. */
async function untilFull(timeoutMs = 30_000): Promise<number> {
  const t0 = performance.now();
  let last: Served[] = [];
  while (performance.now() - t0 < timeoutMs) {
    last = await burst(8);
    if (last.every((s) => s.status === 200 && s.rung === 'full')) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not back on full after ${timeoutMs} ms; last: ${JSON.stringify(last.slice(0, 2))}`);
}

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'reclab-netfaults-'));
  // One after another: podman's port race (SETUP-NOTES) hits simultaneous starts.
  toxiproxy = await startToxiproxy({ seed: SEED });
  redis = await startRedis();
  kafka = await startKafka();
  proxied = await proxyRedis(toxiproxy, redis);
  faults = new ToxiproxyFaultInjector(toxiproxy);
  const world = await prepareWorld({
    seed: SEED,
    users: USERS,
    videos: VIDEOS,
    cacheDir: join(ROOT, '.reclab/cache'),
    redisUrl: redis.url, // loaded directly: only the core's path goes through the proxy
    log: () => {},
  });
  const topic = 'impressions.netfaults';
  await createTopic(kafka.brokers, topic);
  core = await startCore(
    {
      RECLAB_REDIS_URL: proxied.url,
      RECLAB_KAFKA_BROKERS: kafka.brokers.join(','),
      RECLAB_IMPRESSION_TOPIC: topic,
      RECLAB_ARTIFACTS_DIR: world.artifactsDir,
      RECLAB_IMPRESSION_SPOOL_DIR: join(tmp, 'impression-spool'),
      RECLAB_EVENT_SPOOL_DIR: join(tmp, 'event-spool'),
      RECLAB_BREAKER_OPEN_MS: String(BREAKER_OPEN_MS),
      RECLAB_STREAMING_CONSUMER: 'off',
      RECLAB_LOG_LEVEL: 'warn',
    },
    join(tmp, 'core.log'),
  );
}, 900_000);

afterAll(async () => {
  await core?.stop();
  await toxiproxy?.stop();
  await redis?.stop();
  await kafka?.stop();
  if (tmp && !process.env.KEEP_TEST_TMP) await rm(tmp, { recursive: true, force: true });
}, 120_000);

describe('the core with Redis behind Toxiproxy', () => {
  it('serves `full` through the proxy with no fault', async () => {
    const ms = await untilFull();
    console.info(`full through the proxy after ${ms.toFixed(0)} ms of warm-up`);
  }, 60_000);

  it(`Redis latency ${LATENCY_MS} ms → degraded rungs with reasons, zero 5xx, no wait for Redis; cleared → full`, async () => {
    const before = await burst(20);
    await faults.apply({ target: 'redis', kind: 'latency', latencyMs: LATENCY_MS, jitterMs: 0 });
    const served = await burst(40);

    const rungs: Record<string, number> = {};
    const reasons: Record<string, number> = {};
    for (const s of served) {
      rungs[s.rung ?? `status ${s.status}`] = (rungs[s.rung ?? `status ${s.status}`] ?? 0) + 1;
      for (const r of s.reasons) reasons[`${r.stage} ${r.code}`] = (reasons[`${r.stage} ${r.code}`] ?? 0) + 1;
    }
    const ms = served.map((s) => s.ms);
    console.info(
      `latency ${LATENCY_MS} ms: rungs ${JSON.stringify(rungs)}; reasons ${JSON.stringify(reasons)}; ` +
        `response ms p50 ${quantile(ms, 0.5).toFixed(1)} max ${Math.max(...ms).toFixed(1)} ` +
        `(before the fault: p50 ${quantile(
          before.map((s) => s.ms),
          0.5,
        ).toFixed(1)})`,
    );

    expect(served.filter((s) => s.status >= 500)).toEqual([]);
    for (const s of served) {
      expect(s.status).toBe(200);
      expect(s.items).toBeGreaterThan(0);
      expect(['default_features', 'popularity']).toContain(s.rung);
      // Why it stepped down: a Redis-backed stage that timed out or whose breaker is open.
      expect(
        s.reasons.some(
          (r) =>
            ['user_context', 'enrichment'].includes(r.stage) &&
            /^RECLAB_ERR_FEATURES_(TIMEOUT|UNAVAILABLE)$/.test(r.code),
        ),
        JSON.stringify(s.reasons),
      ).toBe(true);
    }
    // The stage deadlines answer, not Redis: no response waits for a 200 ms reply.
    expect(quantile(ms, 0.5)).toBeLessThan(LATENCY_MS / 2);
    expect(quantile(ms, 0.9)).toBeLessThan(LATENCY_MS);

    await faults.clear({ target: 'redis', kind: 'latency' });
    const recoveryMs = await untilFull();
    console.info(`back on full ${recoveryMs.toFixed(0)} ms after the latency was cleared`);
  }, 120_000);
});
