/**
 * Integration: the L1 feature cache (core/features/l1-feature-cache.ts) in front of the real Redis
 * feature store. Redis's own command statistics (INFO commandstats) show which reads reached it:
 * hits reach nothing, the misses of a call are one MGET of exactly those keys, an updated record is
 * seen once the TTL (on a manual clock) has passed, and with Redis gone cached records are still
 * served while a miss fails and is not cached.
 *
 * Needs the container engine and image from scripts/setup.sh.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../core/adapters/redis/keys.ts';
import { connectRedis, RedisFeatureStore } from '../../core/adapters/redis/redis-feature-store.ts';
import { videoIdOf } from '../../core/features/ids.ts';
import { L1FeatureCache } from '../../core/features/l1-feature-cache.ts';
import { encodeRecord, VIDEO_RECORD_LEN } from '../../core/features/schema.ts';
import type { Clock } from '../../core/ports/clock.ts';
import { configureContainerEngine } from '../../loadtest/infra/container-engine.ts';
import { type StartedRedis, startRedis } from '../../loadtest/infra/redis.ts';

configureContainerEngine(process.env);

const record = (v: number, version: number) =>
  Float32Array.from({ length: VIDEO_RECORD_LEN }, (_, i) => v * 10 + i + version);

describe('L1 feature cache over Redis', () => {
  let redis: StartedRedis;
  let admin: Redis;
  let client: Redis;
  let now = 1_000;
  const clock: Clock = { now: () => now, setTimer: () => () => {} };

  /** Redis's count of MGET calls since the last CONFIG RESETSTAT (INFO commandstats). */
  async function mgetStats(): Promise<{ calls: number }> {
    const info = await admin.info('commandstats');
    const m = /cmdstat_mget:calls=(\d+)/.exec(info);
    return { calls: m ? Number(m[1]) : 0 };
  }

  beforeAll(async () => {
    redis = await startRedis({});
    admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    admin.on('error', () => {}); // once the container is stopped in the last test
    const p = admin.pipeline();
    for (let v = 0; v < 50; v++) p.set(keys.video(videoIdOf(v)), encodeRecord(record(v, 0)));
    await p.exec();
    client = connectRedis(redis.url, 500);
    client.on('error', () => {});
    await new Promise<void>((resolve) => client.once('ready', () => resolve()));
  });

  afterAll(async () => {
    client?.disconnect();
    admin?.disconnect();
    await redis?.stop();
  });

  it('sends only the misses, in one MGET; hits reach Redis not at all; TTL expiry re-reads', async () => {
    const cache = new L1FeatureCache(new RedisFeatureStore(client), clock, { maxEntries: 1000, ttlMs: 5000 });
    await admin.config('RESETSTAT');
    const got = await cache.getVideos([1, 2, 3, 99]);
    expect(got.map((r) => r?.[0])).toEqual([10, 20, 30, undefined]);
    expect(await mgetStats()).toEqual({ calls: 1 });

    const again = await cache.getVideos([3, 2, 1, 99]); // 99 is remembered as unknown (1 s)
    expect(again.map((r) => r?.[0])).toEqual([30, 20, 10, undefined]);
    expect(await mgetStats()).toEqual({ calls: 1 });

    // New ids among cached ones: one more MGET, naming only the new keys.
    await admin.config('RESETSTAT');
    const monitorKeys: string[][] = [];
    const monitor = await admin.monitor();
    monitor.on('monitor', (_t: string, args: string[]) => {
      if (args[0]?.toLowerCase() === 'mget') monitorKeys.push(args.slice(1));
    });
    await cache.getVideos([1, 4, 2, 5]);
    await new Promise((r) => setTimeout(r, 100));
    monitor.disconnect();
    expect(monitorKeys).toEqual([[keys.video('v_4'), keys.video('v_5')]]);

    // A record rewritten in Redis is seen once the TTL has passed, not before.
    await admin.set(keys.video(videoIdOf(1)), encodeRecord(record(1, 7)));
    now += 4000;
    expect((await cache.getVideos([1]))[0]?.[0]).toBe(10);
    now += 1001;
    expect((await cache.getVideos([1]))[0]?.[0]).toBe(17);
  });

  it('with Redis stopped, serves cached records and fails (without caching) on a miss', async () => {
    const cache = new L1FeatureCache(new RedisFeatureStore(client), clock, {
      maxEntries: 1000,
      ttlMs: 60_000,
    });
    await cache.getVideos([10, 11]);
    await redis.container!.stop();
    expect((await cache.getVideos([11, 10])).map((r) => r?.[0])).toEqual([110, 100]);
    await expect(cache.getVideos([10, 12])).rejects.toThrow();
    expect(cache.stats().size).toBe(2);
  });
});
