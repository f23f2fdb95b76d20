/**
 * Blue/green model swap under load (seed 000 §7, "Zero-Downtime Model Swap"), with real parts:
 * Redis and Kafka in containers, the core as its own process serving registry version A, two
 * registry versions built from one small world size with two seeds. While a steady stream of
 * concurrent requests flows, version B is activated and then rolled back; no request may fail, and
 * every request that starts after a swap has answered must name the new version.
 *
 * The first run builds both worlds' models (cached in .reclab/cache; 1–3 min each on 2 busy
 * cores); later runs take well under a minute.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CoreProcess, startCore } from '../../loadtest/core-process.ts';
import { configureContainerEngine } from '../../loadtest/infra/container-engine.ts';
import { type StartedKafka, startKafka } from '../../loadtest/infra/kafka.ts';
import { createTopic } from '../../loadtest/infra/kafka-topics.ts';
import { type StartedRedis, startRedis } from '../../loadtest/infra/redis.ts';
import { prepareWorld } from '../../loadtest/prepare-world.ts';
import { publishVersion } from '../../sim/registry/publish.ts';

configureContainerEngine(process.env);

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const USERS = 2000;
const VIDEOS = 1500;
const SEED_A = 21;
const SEED_B = 22;
const CONCURRENCY = 8;

let redis: StartedRedis | undefined;
let kafka: StartedKafka | undefined;
let core: CoreProcess | undefined;
let tmp = '';
let versionA = '';
let versionB = '';

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'reclab-hot-swap-'));
  [redis, kafka] = await Promise.all([startRedis(), startKafka()]);
  const log = () => {};
  const cacheDir = join(ROOT, '.reclab/cache');
  // A's world is the one in Redis; B is another seed's models over a catalogue of the same size.
  const a = await prepareWorld({
    seed: SEED_A,
    users: USERS,
    videos: VIDEOS,
    cacheDir,
    redisUrl: redis.url,
    log,
  });
  const b = await prepareWorld({ seed: SEED_B, users: USERS, videos: VIDEOS, cacheDir, log });
  const registryDir = join(tmp, 'registry');
  const codeVersion = { package: 'test', gitCommit: 'test' };
  versionA = (await publishVersion({ registryDir, sourceDir: a.artifactsDir, version: 'blue', codeVersion }))
    .card.modelVersion;
  versionB = (await publishVersion({ registryDir, sourceDir: b.artifactsDir, version: 'green', codeVersion }))
    .card.modelVersion;

  const topic = 'impressions.hot-swap';
  await createTopic(kafka.brokers, topic);

  core = await startCore(
    {
      RECLAB_REDIS_URL: redis.url,
      RECLAB_KAFKA_BROKERS: kafka.brokers.join(','),
      RECLAB_IMPRESSION_TOPIC: topic,
      RECLAB_MODEL_REGISTRY_DIR: registryDir,
      RECLAB_MODEL_VERSION: versionA,
      RECLAB_LOG_LEVEL: 'info',
    },
    join(tmp, 'core.log'),
  );
}, 600_000);

afterAll(async () => {
  const code = await core?.stop();
  await Promise.allSettled([redis?.stop(), kafka?.stop()]);
  if (tmp && code === 0) await rm(tmp, { recursive: true, force: true });
  else if (tmp) process.stderr.write(`core log kept in ${tmp}/core.log (exit ${code})\n`);
});

interface Outcome {
  startMs: number;
  endMs: number;
  status: number;
  version?: string;
  error?: string;
}

async function post(
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${core!.url}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${core!.adminToken}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('hot model swap under load', () => {
  it('activates B and rolls back to A while requests flow, with no failed request', async () => {
    const outcomes: Outcome[] = [];
    let running = true;
    let n = 0;
    const worker = async () => {
      while (running) {
        const u = n++ % USERS;
        const startMs = performance.now();
        try {
          const res = await fetch(`${core!.url}/v1/recommendations`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ user_id: `u_${u}`, count: 10 }),
          });
          const json = (await res.json()) as { meta?: { model_version?: string } };
          outcomes.push({
            startMs,
            endMs: performance.now(),
            status: res.status,
            version: json.meta?.model_version,
          });
        } catch (err) {
          outcomes.push({ startMs, endMs: performance.now(), status: 0, error: (err as Error).message });
        }
        await new Promise((r) => setTimeout(r, 100)); // ≤ CONCURRENCY × 10 requests/s (~50 measured)
      }
    };
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const workers = Array.from({ length: CONCURRENCY }, worker);

    await sleep(2000);
    const unknown = await post('/admin/models/activate', { version: 'no-such-version' });
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({ code: 'RECLAB_ERR_MODEL_VERSION_UNKNOWN', status: 404 });

    const t0 = performance.now();
    const activate = await post('/admin/models/activate', { version: versionB });
    const activatedMs = performance.now();
    expect(activate.status, JSON.stringify(activate.json)).toBe(200);
    const swap = activate.json.swap as { load_ms: number; warm_ms: number; swap_ms: number };
    process.stdout.write(
      `activate ${versionA} → ${versionB}: ${Math.round(activatedMs - t0)} ms round trip, ` +
        `load ${swap.load_ms} ms, warm-up ${swap.warm_ms} ms, swap ${swap.swap_ms} ms\n`,
    );
    const ready = (await (await fetch(`${core!.url}/readyz`)).json()) as Record<string, unknown>;
    expect(ready).toMatchObject({ model_version: versionB, model_standby: versionA });

    await sleep(3000);
    const rollback = await post('/admin/models/rollback');
    const rolledBackMs = performance.now();
    expect(rollback.status).toBe(200);
    expect(rollback.json).toMatchObject({
      active: versionA,
      swap: { kind: 'rollback', from: versionB, to: versionA },
    });
    await sleep(2000);
    running = false;
    await Promise.all(workers);

    const failed = outcomes.filter((o) => o.status !== 200);
    expect(failed, JSON.stringify(failed.slice(0, 5))).toEqual([]);
    const during = outcomes.filter((o) => o.startMs >= activatedMs && o.endMs < rolledBackMs - 1);
    const after = outcomes.filter((o) => o.startMs >= rolledBackMs);
    const before = outcomes.filter((o) => o.endMs < t0);
    expect(before.length).toBeGreaterThan(20);
    expect(during.length).toBeGreaterThan(20);
    expect(after.length).toBeGreaterThan(20);
    expect(new Set(before.map((o) => o.version))).toEqual(new Set([versionA]));
    expect(new Set(during.map((o) => o.version))).toEqual(new Set([versionB]));
    expect(new Set(after.map((o) => o.version))).toEqual(new Set([versionA]));
    const latency = (os: Outcome[]) => {
      const ms = os.map((o) => o.endMs - o.startMs).sort((x, y) => x - y);
      return `p50 ${ms[Math.floor(ms.length / 2)]?.toFixed(1)} ms, max ${ms.at(-1)?.toFixed(1)} ms`;
    };
    const overlapping = outcomes.filter((o) => o.endMs >= t0 && o.startMs <= activatedMs);
    const elapsedS =
      (Math.max(...outcomes.map((o) => o.endMs)) - Math.min(...outcomes.map((o) => o.startMs))) / 1000;
    process.stdout.write(
      `${(outcomes.length / elapsedS).toFixed(1)} requests/s; before the swap ${latency(before)}; ` +
        `overlapping load+warm-up+swap (${overlapping.length}) ${latency(overlapping)}\n`,
    );
    process.stdout.write(
      `${outcomes.length} requests, 0 failed; ${before.length} before (A), ${during.length} on B, ${after.length} after rollback (A)\n`,
    );

    const noToken = await fetch(`${core!.url}/admin/models`);
    expect(noToken.status).toBe(401);
    await noToken.arrayBuffer();
    const status = (await (
      await fetch(`${core!.url}/admin/models`, { headers: { authorization: `Bearer ${core!.adminToken}` } })
    ).json()) as Record<string, unknown>;
    expect(status).toMatchObject({
      active: { version: versionA },
      standby: { version: versionB },
      swap_count: 2,
    });
    expect((status.registry as unknown[]).length).toBe(2);
  }, 120_000);
});
