/**
 * Integration: a world loaded by `loadIntoRedis` (sim/loader/redis-loader.ts) into a real Redis
 * (loadtest/infra/redis.ts) reads back as the core expects it: `u:u_<i>` / `v:v_<i>` hold exactly
 * `encodeRecord` of the records, the popularity sets hold the right members and scores, the world
 * hash comes last, and a failing Redis makes the load fail instead of reporting success.
 *
 * Needs the container engine and image from scripts/setup.sh.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { keys } from '../../core/adapters/redis/keys.ts';
import {
  encodeRecord,
  NUM_REGIONS,
  USER_RECORD_LEN,
  VIDEO_RECORD,
  VIDEO_RECORD_LEN,
} from '../../core/features/schema.ts';
import { configureContainerEngine } from '../../loadtest/infra/container-engine.ts';
import { type StartedRedis, startRedis } from '../../loadtest/infra/redis.ts';
import { loadIntoRedis } from '../../sim/loader/redis-loader.ts';
import { userRecords, videoRecords } from '../../sim/models/records.ts';
import { historySlice, simulateLogs } from '../../sim/models/simulate-logs.ts';
import { SimError } from '../../sim/sim-error.ts';
import { generateWorld, userId, videoId, worldHash } from '../../sim/world/index.ts';
import { REGION_HOME_BOOST } from '../../sim/world/priors.ts';

configureContainerEngine(process.env);

// Sizes cross digit-count boundaries (99→100, 999→1000) and are not multiples of the batch size, so
// the encoder's key lengths and the last partial batch are exercised.
const CFG = { seed: 11, users: 3_001, videos: 2_503 };
const BATCH_KEYS = 97;
const GLOBAL_TOP_K = 1_000;
const REGION_TOP_K = 500;
const world = generateWorld(CFG);
const history = historySlice(simulateLogs(world, { sessions: 3_000, seed: CFG.seed }));
const records = { userRecords: userRecords(world, history), videoRecords: videoRecords(world, history) };
// Subscription keys: one `sub:u_<i>` per user who follows anyone, one `upl:c_<j>` per creator with an upload.
const followers = Array.from({ length: CFG.users }, (_, u) => u).filter(
  (u) => world.subscriptionOffsets[u + 1] > world.subscriptionOffsets[u],
).length;
const uploaders = new Set(world.videoCreator.subarray(0, world.initialVideos)).size;
const expectedKeys = CFG.users + CFG.videos + 1 + NUM_REGIONS + 1 + followers + uploaders;
const views = Array.from({ length: CFG.videos }, (_, v) =>
  Math.round(Math.expm1(records.videoRecords[v * VIDEO_RECORD_LEN + VIDEO_RECORD.logViews])),
);

/** Indices to sample: both ends, around every batch boundary in the first few, digit changes, random. */
function sampleIndices(n: number): number[] {
  const out = new Set<number>([0, 1, 9, 10, 99, 100, 999, 1000, n - 1]);
  for (let b = BATCH_KEYS; b < 5 * BATCH_KEYS; b += BATCH_KEYS) out.add(b - 1).add(b);
  for (let i = 0; i < 200; i++) out.add((i * 7919) % n);
  return [...out].filter((i) => i >= 0 && i < n);
}

describe('loadIntoRedis into a real Redis', () => {
  let redis: StartedRedis;
  let client: Redis;

  beforeAll(async () => {
    redis = await startRedis({});
    client = new Redis(redis.port, redis.host, { maxRetriesPerRequest: 1 });
  });

  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  beforeEach(async () => {
    await client.call('FLUSHALL', 'SYNC');
  });

  it('writes every key, record bytes equal to encodeRecord, and reports progress to the total', async () => {
    await client.set(keys.worldHash, 'stale-hash-of-another-world');
    const progress: number[] = [];
    const result = await loadIntoRedis(client, world, records, {
      batchKeys: BATCH_KEYS,
      maxInFlight: 3,
      onProgress: (e) => {
        expect(e.keysTotal).toBe(expectedKeys);
        progress.push(e.keysWritten);
      },
    });

    expect(result.keys).toBe(expectedKeys);
    expect(result.seconds).toBeGreaterThan(0);
    expect(await client.dbsize()).toBe(expectedKeys);
    expect(progress.at(-1)).toBe(expectedKeys);
    expect(progress.every((k, i) => i === 0 || k > progress[i - 1])).toBe(true);
    expect(progress.length).toBeGreaterThan((CFG.users + CFG.videos) / BATCH_KEYS);

    const us = sampleIndices(CFG.users);
    const userValues = await client.mgetBuffer(...us.map((u) => keys.user(userId(u))));
    us.forEach((u, j) => {
      const want = encodeRecord(records.userRecords.subarray(u * USER_RECORD_LEN, (u + 1) * USER_RECORD_LEN));
      expect(userValues[j]?.equals(want), `u:u_${u}`).toBe(true);
    });
    const vs = sampleIndices(CFG.videos);
    const videoValues = await client.mgetBuffer(...vs.map((v) => keys.video(videoId(v))));
    vs.forEach((v, j) => {
      const want = encodeRecord(
        records.videoRecords.subarray(v * VIDEO_RECORD_LEN, (v + 1) * VIDEO_RECORD_LEN),
      );
      expect(videoValues[j]?.equals(want), `v:v_${v}`).toBe(true);
    });
    // Nothing past the ends, and only the key names the core reads.
    expect(await client.exists(keys.user(userId(CFG.users)), keys.video(videoId(CFG.videos)))).toBe(0);
    const sampleKeys = await client.keys('u:*');
    expect(sampleKeys.length).toBe(CFG.users);
    expect(sampleKeys.every((k) => /^u:u_(0|[1-9]\d*)$/.test(k))).toBe(true);

    expect(await client.get(keys.worldHash)).toBe(worldHash(world));
  });

  it('fills pop:global with the top videos by views and pop:r:<r> with home-boosted views', async () => {
    await loadIntoRedis(client, world, records, { globalTopK: GLOBAL_TOP_K, regionTopK: REGION_TOP_K });

    const global = await client.zrevrange(keys.popularityGlobal, 0, -1, 'WITHSCORES');
    expect(global.length / 2).toBe(Math.min(GLOBAL_TOP_K, CFG.videos));
    const wantScores = [...views].sort((a, b) => b - a).slice(0, GLOBAL_TOP_K);
    const members = new Set<string>();
    for (let j = 0; j < global.length; j += 2) {
      const member = global[j];
      expect(member).toMatch(/^v_(0|[1-9]\d*)$/);
      const v = Number(member.slice(2));
      members.add(member);
      expect(Number(global[j + 1]), member).toBe(views[v]);
      expect(Number(global[j + 1])).toBe(wantScores[j / 2]);
    }
    expect(members.size).toBe(global.length / 2);

    for (let r = 0; r < NUM_REGIONS; r++) {
      const boosted = views.map((x, v) => x * (world.videoRegion[v] === r ? REGION_HOME_BOOST : 1));
      const want = [...boosted].sort((a, b) => b - a).slice(0, REGION_TOP_K);
      const got = await client.zrevrange(keys.popularityRegion(r), 0, -1, 'WITHSCORES');
      expect(got.length / 2, `pop:r:${r}`).toBe(Math.min(REGION_TOP_K, CFG.videos));
      for (let j = 0; j < got.length; j += 2) {
        const v = Number(got[j].slice(2));
        expect(got[j]).toBe(videoId(v));
        expect(Number(got[j + 1]), `pop:r:${r} ${got[j]}`).toBe(boosted[v]);
        expect(Number(got[j + 1])).toBe(want[j / 2]);
      }
    }
  });

  it('replaces popularity sets of a previous load instead of merging into them', async () => {
    await client.zadd(keys.popularityGlobal, 1e12, 'v_999999');
    await loadIntoRedis(client, world, records, { globalTopK: 10 });
    expect(await client.zscore(keys.popularityGlobal, 'v_999999')).toBeNull();
    expect(await client.zcard(keys.popularityGlobal)).toBe(10);
  });

  it("applies the client's keyPrefix to the records too", async () => {
    const prefixed = new Redis(redis.port, redis.host, { keyPrefix: 'lab:', maxRetriesPerRequest: 1 });
    try {
      await loadIntoRedis(prefixed, world, records, { batchKeys: 500 });
    } finally {
      prefixed.disconnect();
    }
    expect(await client.exists(keys.user(userId(0)))).toBe(0);
    const got = await client.getBuffer(`lab:${keys.video(videoId(CFG.videos - 1))}`);
    const last = (CFG.videos - 1) * VIDEO_RECORD_LEN;
    expect(got?.equals(encodeRecord(records.videoRecords.subarray(last, last + VIDEO_RECORD_LEN)))).toBe(
      true,
    );
    expect(await client.get(`lab:${keys.worldHash}`)).toBe(worldHash(world));
    expect(await client.dbsize()).toBe(expectedKeys);
  });

  it('fails, leaving no world hash, when Redis refuses the writes (maxmemory reached)', async () => {
    await client.set(keys.worldHash, 'stale-hash-of-another-world');
    const [, before] = (await client.config('GET', 'maxmemory')) as [string, string];
    const [, policy] = (await client.config('GET', 'maxmemory-policy')) as [string, string];
    // A little above what Redis uses when empty: the first batches fit, then MSET gets OOM.
    const used = Number((await client.info('memory')).match(/used_memory:(\d+)/)?.[1]);
    await client.config('SET', 'maxmemory', String(used + 200_000));
    await client.config('SET', 'maxmemory-policy', 'noeviction');
    try {
      await expect(loadIntoRedis(client, world, records, { batchKeys: 50, maxInFlight: 4 })).rejects.toThrow(
        /OOM/,
      );
    } finally {
      await client.config('SET', 'maxmemory', before);
      await client.config('SET', 'maxmemory-policy', policy);
    }
    expect(await client.exists(keys.worldHash)).toBe(0);
    expect(await client.dbsize()).toBeGreaterThan(0);
    expect(await client.dbsize()).toBeLessThan(expectedKeys);
  });

  it('rejects records that do not match the world with RECLAB_ERR_LOADER_INPUT_INVALID', async () => {
    const short = { ...records, videoRecords: records.videoRecords.subarray(VIDEO_RECORD_LEN) };
    const err = await loadIntoRedis(client, world, short).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SimError);
    expect((err as SimError).code).toBe('RECLAB_ERR_LOADER_INPUT_INVALID');
    expect(await client.dbsize()).toBe(0);
  });
});
