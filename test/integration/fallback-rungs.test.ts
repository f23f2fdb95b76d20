/**
 * The fallback ladder reached through each rung's cause, on real parts (issue 5 acceptance; seed 000
 * §6; ARCHITECTURE.md's rungs): Redis and Kafka in containers, the ranker tier and the core each in
 * their own process, a small trained world loaded into Redis. Every case asserts the rung, the
 * reason (stage and code) and that no request got a 5xx.
 *
 * | rung                | cause                                                                 |
 * |---------------------|-----------------------------------------------------------------------|
 * | `partial_retrieval` | one retrieval source slower than its deadline (an injected 200 ms delay on `retrieval.two_tower`, the 30 ms deadline fires) |
 * | `light_ranker`      | the ranker tier process SIGKILLed                                     |
 * | `retrieval_scores`  | the tier down and the in-process light ranker failing (injected error) |
 * | `popularity`        | the Redis container stopped                                           |
 * | `editorial`         | a core started while Redis is down (its popularity cache never filled) |
 *
 * Faults that no real component produces on demand — one slow source, a failing in-process model —
 * go through the core's fault injection (RECLAB_FAULT_INJECTION=on, /admin/faults); the outages of
 * real components are real.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CoreProcess, startCore } from '../../loadtest/core-process.ts';
import { applyContainerFault } from '../../loadtest/faults/container-faults.ts';
import { configureContainerEngine } from '../../loadtest/infra/container-engine.ts';
import { type StartedKafka, startKafka } from '../../loadtest/infra/kafka.ts';
import { createTopic } from '../../loadtest/infra/kafka-topics.ts';
import { type StartedRedis, startRedis } from '../../loadtest/infra/redis.ts';
import { prepareWorld } from '../../loadtest/prepare-world.ts';
import { type RankerProcess, startRankerTier } from '../../loadtest/ranker-process.ts';
import { publishVersion } from '../../sim/registry/publish.ts';

configureContainerEngine(process.env);

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const USERS = 2000;
const VIDEOS = 1500;
const SEED = 21;
const BREAKER_OPEN_MS = 500;
// Rate-based breakers judged over a short window and few calls, so that a test's handful of
// requests can open one (the defaults need 100 calls in 5 s: docs/fallback.md).
const BREAKER_WINDOW_MS = 1000;
const BREAKER_MIN_CALLS = 8;

let redis: StartedRedis | undefined;
let kafka: StartedKafka | undefined;
let tier: RankerProcess | undefined;
let core: CoreProcess | undefined;
let tmp = '';
let coreEnv: Record<string, string> = {};

interface Served {
  status: number;
  rung?: string;
  reasons: { stage: string; code: string }[];
  items: number;
}

let nextUser = 0;
async function recommend(url: string): Promise<Served> {
  const res = await fetch(`${url}/v1/recommendations`, {
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
  };
}

/** `n` requests, 4 at a time. */
async function burst(url: string, n: number): Promise<Served[]> {
  const out: Served[] = [];
  for (let i = 0; i < n; i += 4) out.push(...(await Promise.all([0, 1, 2, 3].map(() => recommend(url)))));
  return out;
}

/** Polls until a request is served on `rung` (breakers half-open after BREAKER_OPEN_MS). */
async function until(url: string, rung: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last: Served | undefined;
  while (Date.now() < end) {
    last = await recommend(url);
    if (last.rung === rung) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not on rung ${rung} after ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
}

async function admin(method: string, path: string, body?: unknown): Promise<number> {
  const res = await fetch(`${core!.url}/admin${path}`, {
    method,
    headers: {
      authorization: `Bearer ${core!.adminToken}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  await res.arrayBuffer();
  return res.status;
}

function expectAll(served: Served[], rung: string, reason: { stage: string; code: string }): void {
  expect(served.filter((s) => s.status >= 500)).toEqual([]);
  expect(served.every((s) => s.status === 200 && s.items > 0)).toBe(true);
  const rungs = new Set(served.map((s) => s.rung));
  expect([...rungs]).toEqual([rung]);
  for (const s of served) expect(s.reasons).toContainEqual(reason);
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'reclab-rungs-'));
  [redis, kafka] = await Promise.all([startRedis(), startKafka()]);
  const world = await prepareWorld({
    seed: SEED,
    users: USERS,
    videos: VIDEOS,
    cacheDir: join(ROOT, '.reclab/cache'),
    redisUrl: redis.url,
    log: () => {},
  });
  const registryDir = join(tmp, 'registry');
  const version = (
    await publishVersion({
      registryDir,
      sourceDir: world.artifactsDir,
      version: 'rungs',
      codeVersion: { package: 'test', gitCommit: 'test' },
    })
  ).card.modelVersion;
  tier = await startRankerTier(
    { RECLAB_RANKER_TIER_REGISTRY_DIR: registryDir, RECLAB_RANKER_TIER_PRELOAD: version },
    join(tmp, 'ranker-tier.log'),
  );
  const topic = 'impressions.rungs';
  await createTopic(kafka.brokers, topic);
  coreEnv = {
    RECLAB_REDIS_URL: redis.url,
    RECLAB_KAFKA_BROKERS: kafka.brokers.join(','),
    RECLAB_IMPRESSION_TOPIC: topic,
    RECLAB_MODEL_REGISTRY_DIR: registryDir,
    RECLAB_MODEL_VERSION: version,
    RECLAB_RANKER_TIER_URL: tier.url,
    RECLAB_FAULT_INJECTION: 'on',
    RECLAB_BREAKER_OPEN_MS: String(BREAKER_OPEN_MS),
    RECLAB_BREAKER_WINDOW_MS: String(BREAKER_WINDOW_MS),
    RECLAB_BREAKER_MIN_CALLS: String(BREAKER_MIN_CALLS),
    RECLAB_STREAMING_CONSUMER: 'off',
    RECLAB_LOG_LEVEL: 'warn',
  };
  core = await startCore(coreEnv, join(tmp, 'core.log'));
}, 900_000);

afterAll(async () => {
  await core?.stop();
  await tier?.stop();
  await Promise.allSettled([redis?.stop(), kafka?.stop()]);
  if (tmp && !process.env.KEEP_TEST_TMP) await rm(tmp, { recursive: true, force: true });
}, 120_000);

describe('fallback ladder: each rung through its cause, zero 5xx', () => {
  it('serves `full` with every dependency up (the main ranker is the tier process)', {
    timeout: 60_000,
  }, async () => {
    // Once warm (the first concurrent calls open the core's connections to the tier), a whole burst
    // is served on `full`; before that, a cold call may miss the 50 ms ranking deadline.
    const end = Date.now() + 30_000;
    let served = await burst(core!.url, 20);
    while (served.some((s) => s.rung !== 'full') && Date.now() < end) served = await burst(core!.url, 20);
    expect(served.filter((s) => s.status !== 200 || s.rung !== 'full')).toEqual([]);
  });

  it('a retrieval source slower than its deadline → partial_retrieval; its breaker opens on the slow-call rate', async () => {
    expect(await admin('PUT', '/faults/retrieval.two_tower', { kind: 'delay', delay_ms: 200 })).toBe(200);
    try {
      // Let the previous case's successful calls leave the breaker's window.
      await new Promise((r) => setTimeout(r, BREAKER_WINDOW_MS + 100));
      // Fewer calls than the minimum: each deadline fires (TIMEOUT) and the breaker stays closed.
      const served = await burst(core!.url, 4);
      expectAll(served, 'partial_retrieval', {
        stage: 'retrieval.two_tower',
        code: 'RECLAB_ERR_RETRIEVAL_TIMEOUT',
      });
      // From the 8th deadline miss (100 % slow ≥ 80 %) the open breaker refuses at once (UNAVAILABLE).
      const more = await burst(core!.url, 12);
      expect(more.filter((s) => s.status !== 200 || s.rung !== 'partial_retrieval')).toEqual([]);
      const codes = more.map((s) => s.reasons.find((r) => r.stage === 'retrieval.two_tower')?.code);
      expect(codes).toContain('RECLAB_ERR_RETRIEVAL_UNAVAILABLE');
      expect(codes.slice(-4)).toEqual(Array(4).fill('RECLAB_ERR_RETRIEVAL_UNAVAILABLE'));
      const metrics = await (await fetch(`${core!.url}/metrics`)).text();
      expect(metrics).toContain(
        'reclab_circuit_breaker_transitions_total{breaker="retrieval.two_tower",to="open",reason="slow_call_rate"} 1',
      );
      expect(metrics).toContain('reclab_circuit_breaker_state{breaker="retrieval.two_tower",state="open"} 1');
      expect(metrics).toContain(
        'reclab_circuit_breaker_state{breaker="retrieval.two_tower",state="closed"} 0',
      );
    } finally {
      // Cleared even when an assertion fails, so the next cases do not run with the fault.
      expect(await admin('DELETE', '/faults')).toBe(200);
    }
    // After BREAKER_OPEN_MS the trial calls answer in time and the breaker closes.
    await until(core!.url, 'full');
  }, 60_000);

  it('the ranker tier process killed → light_ranker', async () => {
    await tier!.kill();
    const served = await burst(core!.url, 20);
    expect(served.filter((s) => s.status >= 500)).toEqual([]);
    expect(served.every((s) => s.status === 200 && s.rung === 'light_ranker')).toBe(true);
    expect(served[0].reasons).toContainEqual({ stage: 'ranking', code: 'RECLAB_ERR_RANKER_UNAVAILABLE' });
  }, 60_000);

  it('both rankers down → retrieval_scores', async () => {
    expect(await admin('PUT', '/faults/light_ranker', { kind: 'error' })).toBe(200);
    const served = await burst(core!.url, 20);
    expect(served.filter((s) => s.status >= 500)).toEqual([]);
    expect(served.every((s) => s.status === 200 && s.rung === 'retrieval_scores' && s.items > 0)).toBe(true);
    // The injected error until the light ranker's breaker opens; then the open breaker's refusal.
    expect(served[0].reasons).toContainEqual({ stage: 'light_ranking', code: 'RECLAB_ERR_FAULT_INJECTED' });
    for (const s of served) expect(s.reasons.map((r) => r.stage)).toContain('light_ranking');
    expect(await admin('DELETE', '/faults/light_ranker')).toBe(200);
    // The tier comes back on the same port: the core climbs back to `full` once its breaker half-opens.
    tier = await tier!.restart();
    await until(core!.url, 'full');
  }, 90_000);

  it('Redis stopped → popularity (served from the in-process popularity cache)', async () => {
    await applyContainerFault(redis!.container!, 'stop');
    const served = await burst(core!.url, 20);
    expect(served.filter((s) => s.status >= 500)).toEqual([]);
    expect(served.every((s) => s.status === 200 && s.rung === 'popularity' && s.items > 0)).toBe(true);
    expect(served[0].reasons.map((r) => r.stage)).toContain('user_context');
  }, 60_000);

  it('a core started while Redis is down → editorial (no popularity cache yet)', async () => {
    const second = await startCore(
      { ...coreEnv, RECLAB_REDIS_STARTUP_WAIT_MS: '500' },
      join(tmp, 'core-editorial.log'),
    );
    try {
      const served = await burst(second.url, 12);
      expect(served.filter((s) => s.status >= 500)).toEqual([]);
      expect(served.every((s) => s.status === 200 && s.rung === 'editorial' && s.items > 0)).toBe(true);
      expect(served[0].reasons).toContainEqual({
        stage: 'popularity_cache',
        code: 'RECLAB_ERR_POPULARITY_UNAVAILABLE',
      });
    } finally {
      await second.stop();
    }
    await applyContainerFault(redis!.container!, 'start');
  }, 120_000);
});
