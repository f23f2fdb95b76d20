/**
 * The seam the simulator needs (issue 13, "First: the seam the simulator needs"): a core built by the
 * composition root (core/compose.ts) serves without HTTP (core/serve.ts), its impression ids come
 * from the injected Random, the ranker tier's client times out on the injected Clock, and the
 * core's settings load without any infrastructure address.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../core/config/config.ts';
import { RANKER_INPUT_DIM } from '../../core/features/schema.ts';
import { nextImpressionId } from '../../core/pipeline/impression-id.ts';
import type { FeatureStore } from '../../core/ports/feature-store.ts';
import { seededRandom } from '../../core/random/seeded-random.ts';
import { RemoteRanker } from '../../core/ranker-tier/remote-ranker.ts';
import { type ServeResponse, serveRecommendation } from '../../core/serve.ts';
import { simCoreSettings } from '../../sim/run/core-settings.ts';
import { emptyFeatureStore, fixtureCore } from '../helpers/core-fixtures.ts';
import { manualClock } from '../helpers/manual-clock.ts';

const request = (userId: string) => ({ userId, count: 2, regionIdx: undefined, deviceIdx: undefined });
const ok = (r: ServeResponse) => {
  if (!r.ok) throw new Error(`expected 200, got ${r.status} ${r.body.code}`);
  return r.body;
};

describe('serveRecommendation: a request served without HTTP', () => {
  it('refuses while not ready and while draining, then serves a rung', async () => {
    const { clock } = manualClock();
    const core = await fixtureCore({ clock, ready: false });
    const notReady = await serveRecommendation(core, request('u_1'));
    expect([notReady.status, !notReady.ok && notReady.body.code]).toEqual([503, 'RECLAB_ERR_NOT_READY']);
    core.lifecycle.ready = true;
    const served = ok(await serveRecommendation(core, request('u_1')));
    // The empty store knows no video: the editorial list of the fake model set.
    expect(served.meta.rung).toBe('editorial');
    expect(served.items.map((i) => i.video_id)).toEqual(['v_0', 'v_1']);
    core.lifecycle.draining = true;
    expect((await serveRecommendation(core, request('u_1'))).status).toBe(503);
  });

  it('admission without brownout: a request beyond the bulkhead is refused with 503 RECLAB_ERR_OVERLOADED', async () => {
    const { clock } = manualClock();
    let unblock = () => {};
    const blocked = new Promise<void>((r) => {
      unblock = r;
    });
    // A user read that waits for the test: the first request holds the only slot meanwhile.
    const slow: FeatureStore = {
      ...emptyFeatureStore,
      getUser: async () => {
        await blocked;
        return undefined;
      },
    };
    // A bulkhead that admits one request and queues none.
    const oneSlot = await fixtureCore({
      clock,
      features: slow,
      bulkhead: { maxConcurrent: 1, maxQueue: 0, shedTargetMs: 50, shedIntervalMs: 500 },
      // Without brownout (test/unit/brownout.test.ts has it): the bulkhead's refusal is the answer.
      brownout: { enabled: false },
    });
    const first = serveRecommendation(oneSlot, request('u_1'));
    const second = await serveRecommendation(oneSlot, request('u_2'));
    expect(second.status).toBe(503);
    expect(!second.ok && second.body.code).toBe('RECLAB_ERR_OVERLOADED');
    unblock();
    expect((await first).status).toBe(200);
  });

  it('a variant pinning a model version is served by that set, the others by the active one', async () => {
    const { clock } = manualClock();
    const core = await fixtureCore({
      clock,
      experiments: [
        {
          id: 'exp_model',
          variants: [
            { name: 'current', share: 1 },
            { name: 'next', share: 1, params: { modelVersion: 'green' } },
          ],
        },
      ],
    });
    expect([...core.pinned.keys()]).toEqual(['green']);
    const versions = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const meta = ok(await serveRecommendation(core, request(`u_${i}`))).meta;
      expect(meta.model_version).toBe(meta.experiment.variant === 'next' ? 'green' : 'blue');
      versions.add(meta.model_version);
    }
    expect(versions).toEqual(new Set(['blue', 'green']));
  });
});

describe('impression ids from the injected Random', () => {
  const idsOf = async (instanceId: string | undefined, n: number) => {
    const { clock } = manualClock();
    const core = await fixtureCore({ clock });
    // fixtureCore draws from seed 1; the instance id names the stream.
    const named = { ...core, deps: { ...core.deps } };
    named.deps.impressionIds = seededRandom(1).stream(
      instanceId === undefined ? 'impression.id' : `impression.id.${instanceId}`,
    );
    const ids: string[] = [];
    for (let i = 0; i < n; i++)
      ids.push(ok(await serveRecommendation(named, request('u_1'))).meta.impression_id);
    return ids;
  };

  it('the same seed and instance serve the same ids; another instance, other ids', async () => {
    const a = await idsOf('a', 5);
    expect(await idsOf('a', 5)).toEqual(a);
    const b = await idsOf('b', 5);
    expect(b.some((id) => a.includes(id))).toBe(false);
    expect(new Set(a).size).toBe(5);
  });

  it('the composition root names the stream after the instance id', async () => {
    const { clock } = manualClock();
    const core = await fixtureCore({ clock });
    const first = ok(await serveRecommendation(core, request('u_1'))).meta.impression_id;
    expect(first).toBe(nextImpressionId(seededRandom(1).stream('impression.id')));
  });

  it('ids are `imp_` and a UUID in version-4 layout', () => {
    const s = seededRandom(9).stream('impression.id');
    for (let i = 0; i < 200; i++) {
      expect(nextImpressionId(s)).toMatch(
        /^imp_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
    }
  });
});

describe('the ranker tier client times out on the injected clock', () => {
  let server: Server;
  let url = '';
  beforeAll(async () => {
    // A tier that accepts every call and never answers.
    server = createServer(() => {});
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('stays pending in wall time, and times out when the injected clock passes timeoutMs', async () => {
    const manual = manualClock();
    const ranker = new RemoteRanker({ url, modelVersion: 'v1', timeoutMs: 60_000, clock: manual.clock });
    let settled = false;
    const call = ranker.score(new Float32Array(RANKER_INPUT_DIM), 1).finally(() => {
      settled = true;
    });
    call.catch(() => {});
    await new Promise((r) => setTimeout(r, 150));
    expect(settled).toBe(false);
    manual.advance(60_000);
    await expect(call).rejects.toMatchObject({ code: 'RECLAB_ERR_RANKER_TIMEOUT' });
    await ranker.close();
  });
});

describe('settings without infrastructure', () => {
  it('loadSettings needs no Redis, Kafka or model location, and still rejects unknown variables', () => {
    const s = loadSettings({ RECLAB_DEADLINE_RANKING_MS: '80', RECLAB_BULKHEAD_MAX_CONCURRENT: '8' });
    expect(s.pipeline.deadlines.rankingMs).toBe(80);
    expect(s.bulkhead.maxConcurrent).toBe(8);
    expect(s.pipeline.candidatesMax).toBe(300);
    expect(() => loadSettings({ RECLAB_DEADLINE_RANKNG_MS: '80' })).toThrow(/RECLAB_DEADLINE_RANKNG_MS/);
  });

  it('the simulator takes its replicas’ settings from it', () => {
    const s = simCoreSettings({ RECLAB_SHED_TARGET_MS: '20' });
    expect(s.bulkhead.shedTargetMs).toBe(20);
    expect(s.pipeline.deadlines.userMs).toBe(10);
  });
});

describe('nothing on the request path reads wall time or an unseeded random', () => {
  it('core/serve.ts, core/compose.ts and the pipeline, resilience, retrieval and feature code use none of them', () => {
    const forbidden =
      /\b(Date\.now|performance\.now|Math\.random|randomUUID|setTimeout|setInterval|setImmediate|process\.hrtime|new Date\(\))/;
    // fresh-index.ts yields between batches of a model swap's carry-over (admin path, not a request).
    const allowed = new Set(['core/retrieval/fresh-index.ts: setImmediate']);
    const files = [
      'core/serve.ts',
      'core/compose.ts',
      'core/ranker-tier/remote-ranker.ts',
      ...['core/pipeline', 'core/resilience', 'core/retrieval', 'core/features'].flatMap((dir) =>
        readdirSync(dir).map((f) => join(dir, f)),
      ),
    ];
    const offenders: string[] = [];
    for (const file of files) {
      const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      const hit = code.match(forbidden);
      if (hit && !allowed.has(`${file}: ${hit[0]}`)) offenders.push(`${file}: ${hit[0]}`);
    }
    expect(offenders).toEqual([]);
  });
});
