/**
 * Integration: the ranker tier (core/ranker-tier) as its own process on a real registry version —
 * the 2k-user × 1.5k-video world of seed 21 (the hot-swap test's, cached in .reclab/cache; built
 * on first use), published into a temporary registry. Many concurrent `RemoteRanker.score` calls
 * must equal the in-process `OnnxRanker` and be batched together (per /metrics); a paused tier
 * times out, a killed one is refused at once, and a restarted one on the same port serves the
 * same client again.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../core/adapters/clock/system-clock.ts';
import { OnnxRanker } from '../../core/adapters/onnx/onnx-models.ts';
import { RANKER_INPUT_DIM } from '../../core/features/schema.ts';
import type { Predictions } from '../../core/ports/ranker.ts';
import { seededRandom } from '../../core/random/seeded-random.ts';
import { RemoteRanker } from '../../core/ranker-tier/remote-ranker.ts';
import { prepareWorld } from '../../loadtest/prepare-world.ts';
import { type RankerProcess, startRankerTier } from '../../loadtest/ranker-process.ts';
import { publishVersion } from '../../sim/registry/publish.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VERSION = 'tier-a';
const CALLS = 48;

let tmp = '';
let registryDir = '';
let tier: RankerProcess | undefined;
let local: OnnxRanker | undefined;
let remote: RemoteRanker | undefined;

function rows(n: number, seed: number): Float32Array {
  const rng = seededRandom(seed).stream('test.ranker-tier.rows');
  return Float32Array.from({ length: n * RANKER_INPUT_DIM }, () => rng.next());
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${tier!.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{model_version="${VERSION}"}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

async function rejection(p: Promise<unknown>): Promise<{ code?: string; message: string; ms: number }> {
  const t0 = performance.now();
  try {
    await p;
  } catch (err) {
    return {
      code: (err as { code?: string }).code,
      message: (err as Error).message,
      ms: performance.now() - t0,
    };
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'reclab-ranker-tier-'));
  const world = await prepareWorld({
    seed: 21,
    users: 2000,
    videos: 1500,
    cacheDir: join(ROOT, '.reclab/cache'),
    log: () => {},
  });
  registryDir = join(tmp, 'registry');
  const codeVersion = { package: 'test', gitCommit: 'test' };
  for (const version of [VERSION, 'tier-b', 'tier-c']) {
    await publishVersion({ registryDir, sourceDir: world.artifactsDir, version, codeVersion });
  }
  tier = await startRankerTier(
    {
      RECLAB_RANKER_TIER_REGISTRY_DIR: registryDir,
      RECLAB_RANKER_TIER_PRELOAD: VERSION,
      RECLAB_RANKER_TIER_MAX_BATCH_ROWS: '2400',
      RECLAB_RANKER_TIER_MAX_BATCH_DELAY_MS: '5',
      RECLAB_RANKER_TIER_WARMUP_ROUNDS: '4',
    },
    join(tmp, 'ranker-tier.log'),
  );
  local = await OnnxRanker.load(join(registryDir, VERSION, 'ranker.onnx'), VERSION, 1);
  remote = new RemoteRanker({
    url: tier.url,
    modelVersion: VERSION,
    connections: 16,
    timeoutMs: 5000,
    clock: systemClock,
  });
}, 600_000);

afterAll(async () => {
  await remote?.close();
  await local?.release();
  const code = await tier?.stop();
  if (tmp && code === 0) await rm(tmp, { recursive: true, force: true });
  else if (tmp) process.stderr.write(`ranker tier log kept in ${tmp}/ranker-tier.log (exit ${code})\n`);
});

describe('ranker tier process', () => {
  it('batches concurrent calls together and returns what the in-process OnnxRanker returns', async () => {
    const sizes = Array.from({ length: CALLS }, (_, i) => 20 + ((i * 37) % 281));
    const inputs = sizes.map((n, i) => rows(n, 100 + i));
    const got = await Promise.all(inputs.map((x, i) => remote!.score(x, sizes[i])));
    for (let i = 0; i < CALLS; i++) {
      const want = await local!.score(inputs[i], sizes[i]);
      for (const head of ['pClick', 'watchTimeS', 'pLike', 'pFinish'] as const) {
        const a = got[i][head] as Predictions['pClick'];
        const b = want[head] as Predictions['pClick'];
        expect(a, head).toHaveLength(sizes[i]);
        for (let r = 0; r < sizes[i]; r++) {
          // Probabilities to 1e-5 absolute; watch time (seconds) to 1e-5 relative.
          const tol = head === 'watchTimeS' ? 1e-5 * Math.max(1, Math.abs(b[r])) : 1e-5;
          if (!(Math.abs(a[r] - b[r]) <= tol)) expect.fail(`${head}[${r}] of call ${i}: ${a[r]} vs ${b[r]}`);
        }
      }
    }
    const requests = await metric('reclab_ranker_tier_batch_requests_sum');
    const batches = await metric('reclab_ranker_tier_batch_requests_count');
    expect(requests).toBe(CALLS);
    expect(batches).toBeGreaterThan(0);
    expect(requests / batches).toBeGreaterThan(1);
    expect(await metric('reclab_ranker_tier_batch_rows_sum')).toBe(sizes.reduce((s, n) => s + n, 0));
  });

  it('answers 404 RECLAB_ERR_MODEL_VERSION_UNKNOWN for a version not in the registry', async () => {
    const res = await fetch(`${tier!.url}/v1/rank`, {
      method: 'POST',
      headers: {
        'content-type': 'application/octet-stream',
        'x-reclab-model-version': 'no-such-version',
        'x-reclab-rows': '1',
      },
      body: Buffer.from(rows(1, 1).buffer),
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'RECLAB_ERR_MODEL_VERSION_UNKNOWN' } });
    const r = await rejection(remote!.withVersion('no-such-version').score(rows(3, 2), 3));
    expect(r.code).toBe('RECLAB_ERR_RANKER_UNAVAILABLE');
    expect(r.message).toContain('RECLAB_ERR_MODEL_VERSION_UNKNOWN');
  });

  it('keeps at most RECLAB_RANKER_TIER_MAX_MODELS sessions, evicting the least recently used', async () => {
    // Three versions (the same model under three names), one after the other, with 2 sessions.
    const x = rows(40, 5);
    const want = await local!.score(x, 40);
    for (const version of ['tier-b', 'tier-c', VERSION, 'tier-b']) {
      const ranker = remote!.withVersion(version);
      const got = await Promise.all(Array.from({ length: 4 }, () => ranker.score(x, 40)));
      for (const p of got)
        for (let r = 0; r < 40; r++) expect(Math.abs(p.pClick[r] - want.pClick[r])).toBeLessThanOrEqual(1e-5);
      const health = (await (await fetch(`${tier!.url}/healthz`)).json()) as { models: string[] };
      expect(health.models[0]).toBe(version);
      expect(health.models.length).toBeLessThanOrEqual(2);
    }
    const text = await (await fetch(`${tier!.url}/metrics`)).text();
    // Preloaded a, then b, c, a again (evicted by c), b again (evicted by a).
    expect(text).toMatch(/^reclab_ranker_tier_model_loads_total\{result="ok"\} 5$/m);
  });

  it('times out against a paused tier, and is served again once it resumes', async () => {
    const quick = new RemoteRanker({
      url: tier!.url,
      modelVersion: VERSION,
      timeoutMs: 300,
      clock: systemClock,
    });
    try {
      tier!.pause();
      const r = await rejection(quick.score(rows(10, 3), 10));
      expect(r.code).toBe('RECLAB_ERR_RANKER_TIMEOUT');
      tier!.resume();
      expect((await quick.score(rows(10, 3), 10)).pClick).toHaveLength(10);
    } finally {
      tier!.resume();
      await quick.close();
    }
  });

  it('rejects with RECLAB_ERR_RANKER_UNAVAILABLE, long before its timeout, once the tier is SIGKILLed', async () => {
    // Calls in flight at the kill: pause first so they are still waiting for their replies.
    tier!.pause();
    const inFlight = Array.from({ length: 6 }, (_, i) => rejection(remote!.score(rows(50, 10 + i), 50)));
    await new Promise((r) => setTimeout(r, 200));
    await tier!.kill();
    for (const r of await Promise.all(inFlight)) expect(r.code).toBe('RECLAB_ERR_RANKER_UNAVAILABLE');
    // Calls after the death: connection refused. The client's timeout is 5 s; the bound is 1 s.
    for (let i = 0; i < 3; i++) {
      const r = await rejection(remote!.score(rows(50, 20 + i), 50));
      expect(r.code).toBe('RECLAB_ERR_RANKER_UNAVAILABLE');
      expect(r.ms).toBeLessThan(1000);
    }
    // A tier restarted on the same port serves the same client again.
    tier = await tier!.restart();
    const x = rows(30, 4);
    const [a, b] = await Promise.all([remote!.score(x, 30), local!.score(x, 30)]);
    for (let r = 0; r < 30; r++) expect(Math.abs(a.pClick[r] - b.pClick[r])).toBeLessThanOrEqual(1e-5);
  });
});
