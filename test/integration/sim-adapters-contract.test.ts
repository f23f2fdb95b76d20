/**
 * Contract of the simulated adapters (issue 13: "contract tests hold each simulated adapter to the
 * behaviour of the real one on the same inputs"): the high-fidelity run's feature store, recent
 * activity, trending and subscriptions readers (sim/hifi/sim-ports.ts over sim/hifi/world-data.ts)
 * against the real Redis adapters (core/adapters/redis/) over the same world loaded into a real
 * Redis by the live loader (loadtest/prepare-world.ts):
 * - the same answers: user and video records, popularity sets, the load marker, followed creators'
 *   uploads, empty recent watches and trending before any event; unknown ids answer nothing;
 * - the same data-loss semantics: after FLUSHALL (real) and `restart_empty` of every shard (sim),
 *   users and videos read as missing, popularity as empty, the marker as gone;
 * - the same failure: a refused connection (sim: a down shard) rejects the read.
 * Upload times are on each side's clock (the loader shifts them to the wall clock, the simulator to
 * its virtual epoch), so they are compared as one constant offset.
 */

import { once } from 'node:events';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../core/adapters/clock/system-clock.ts';
import { RealtimeFeatures } from '../../core/adapters/redis/realtime-features.ts';
import { connectRedis, RedisFeatureStore } from '../../core/adapters/redis/redis-feature-store.ts';
import { RedisSubscriptions } from '../../core/adapters/redis/subscriptions.ts';
import { VIDEO_RECORD, VIDEO_RECORD_LEN } from '../../core/features/schema.ts';
import { configureContainerEngine } from '../../loadtest/infra/container-engine.ts';
import { type StartedRedis, startRedis } from '../../loadtest/infra/redis.ts';
import { prepareWorld, readF32 } from '../../loadtest/prepare-world.ts';
import { EventScheduler } from '../../sim/engine/scheduler.ts';
import { FifoServer } from '../../sim/fleet/fifo-server.ts';
import { KafkaModel } from '../../sim/fleet/kafka-model.ts';
import { RedisCluster } from '../../sim/fleet/redis-cluster.ts';
import type { CpuSamplers } from '../../sim/fleet/replica.ts';
import { RealWork, runUntilSettled } from '../../sim/hifi/settle.ts';
import {
  type SimSite,
  simFeatureStore,
  simRecentActivity,
  simSubscriptions,
  simTrending,
} from '../../sim/hifi/sim-ports.ts';
import { type WorldData, worldData } from '../../sim/hifi/world-data.ts';
import { ARTIFACT_FILES } from '../../sim/models/index.ts';
import { AnnIndexModel } from '../../sim/run/fleet-faults.ts';

configureContainerEngine(process.env);

const ROOT = join(import.meta.dirname, '../..');
const USERS = 2000;
const VIDEOS = 1500;
const SEED = 21;
const EPOCH_S = 1_767_225_600; // the simulator's virtual epoch (2026-01-01)

let redis: StartedRedis | undefined;
let client: Redis | undefined;
let data: WorldData;

beforeAll(async () => {
  redis = await startRedis();
  const world = await prepareWorld({
    seed: SEED,
    users: USERS,
    videos: VIDEOS,
    cacheDir: join(ROOT, '.reclab/cache'),
    redisUrl: redis.url,
    log: () => {},
  });
  data = worldData(
    world.world,
    {
      userRecords: await readF32(join(world.artifactsDir, ARTIFACT_FILES.userRecords)),
      videoRecords: await readF32(join(world.artifactsDir, ARTIFACT_FILES.videoRecords)),
    },
    world.info.worldHash,
    EPOCH_S,
  );
  client = connectRedis(redis.url, 2000);
  // The core's connection has no offline queue: wait until it is ready.
  if (client.status !== 'ready') await once(client, 'ready');
}, 300_000);

afterAll(async () => {
  client?.disconnect();
  await redis?.[Symbol.asyncDispose]();
});

/** A one-shard simulated cluster with constant small costs, and a way to await a port's answer. */
function simSite() {
  const scheduler = new EventScheduler();
  const c = () => 10;
  const cpu = Object.fromEntries(
    [
      'request',
      'userEncoder',
      'ann',
      'redisReply',
      'merge',
      'enrichment',
      'mainRanker',
      'rankerClient',
      'lightRanker',
      'rerank',
      'popularity',
      'reject',
    ].map((k) => [k, c]),
  ) as unknown as CpuSamplers;
  const work = new RealWork();
  const site: SimSite = {
    index: 0,
    scheduler,
    cpuServer: new FifoServer(),
    cpu,
    redis: new RedisCluster(scheduler, 1, { rtt: () => 200, command: () => 5 }, 1),
    rankerPool: undefined,
    kafka: new KafkaModel(1, 100),
    ann: new AnnIndexModel(),
    work,
    candidates: 300,
  };
  /** Runs the simulation until `p` has had every event it could need, then awaits it. */
  const answer = async <T>(p: Promise<T>): Promise<T> => {
    const settled = p.then(
      (v) => ({ ok: true as const, v }),
      (e: unknown) => ({ ok: false as const, e }),
    );
    await runUntilSettled(scheduler, scheduler.nowUs + 1_000_000, work);
    const r = await Promise.race([settled, Promise.resolve(undefined)]);
    if (!r) throw new Error('the simulated read never answered');
    if (!r.ok) throw r.e;
    return r.v;
  };
  return { site, answer };
}

const USERS_SAMPLE = [0, 1, 17, 999, USERS - 1];
const VIDEOS_SAMPLE = [0, 3, 250, 1499];

describe('simulated adapters against the real Redis adapters', () => {
  it('answer the same reads over the same world', async () => {
    const { site, answer } = simSite();
    const sim = simFeatureStore(site, data);
    const real = new RedisFeatureStore(client!);
    for (const u of USERS_SAMPLE) {
      expect(await answer(sim.getUser(`u_${u}`)), `u_${u}`).toEqual(await real.getUser(`u_${u}`));
    }
    expect(await answer(sim.getUser('u_999999'))).toEqual(await real.getUser('u_999999'));
    const ids = [...VIDEOS_SAMPLE, VIDEOS + 5];
    const s = await answer(sim.getVideos(ids));
    const r = await real.getVideos(ids);
    expect(s.map((x) => x === undefined)).toEqual(r.map((x) => x === undefined));
    const offsets = new Set<number>();
    for (let i = 0; i < ids.length; i++) {
      if (!s[i]) continue;
      for (let f = 0; f < VIDEO_RECORD_LEN; f++) {
        if (f === VIDEO_RECORD.uploadTsS) offsets.add(Math.round(r[i]![f] - s[i]![f]));
        else expect(s[i]![f], `v_${ids[i]} field ${f}`).toBe(r[i]![f]);
      }
    }
    // One clock offset for every video (Float32 holds Unix seconds to ±64 s).
    expect(Math.max(...offsets) - Math.min(...offsets)).toBeLessThanOrEqual(128);
    for (const region of [undefined, 0, 3]) {
      const a = await answer(sim.topPopular(region, 50));
      const b = await real.topPopular(region, 50);
      expect(
        a.map((x) => x.video),
        `region ${region}`,
      ).toEqual(b.map((x) => x.video));
      expect(a.map((x) => x.score)).toEqual(b.map((x) => x.score));
    }
    expect(await answer(sim.loadMarker())).toBe(await real.loadMarker());
  });

  it('read recent watches, trending and followed uploads as the real readers do before any event', async () => {
    const { site, answer } = simSite();
    const realtime = new RealtimeFeatures(client!, systemClock);
    const activity = simRecentActivity(site, data.users);
    expect(await answer(activity.recentWatches('u_1', 20))).toEqual(await realtime.recentWatches('u_1', 20));
    expect(await answer(simTrending(site)(2, 50))).toEqual(await realtime.trending(2, 50));
    const sim = simSubscriptions(site, data);
    const real = new RedisSubscriptions(client!);
    // The same window on each side's clock: the last 30 days before its "now".
    const realNowS = Math.round(Date.now() / 1000);
    let compared = 0;
    for (const u of USERS_SAMPLE) {
      const a = await answer(sim.followedUploads(`u_${u}`, 50, 10, EPOCH_S - 30 * 86_400, EPOCH_S));
      const b = await real.followedUploads(`u_${u}`, 50, 10, realNowS - 30 * 86_400, realNowS);
      expect(
        a.map((l) => l.map((x) => x.video)),
        `u_${u}`,
      ).toEqual(b.map((l) => l.map((x) => x.video)));
      compared += a.length;
    }
    expect(compared).toBeGreaterThan(0);
  });

  it('a refused connection rejects the read on both sides', async () => {
    const { site, answer } = simSite();
    site.redis.setHealth(1, { state: 'down', extraLatencyUs: 0, slowFactor: 1 });
    await expect(answer(simFeatureStore(site, data).getUser('u_1'))).rejects.toThrow();
    const closed = connectRedis('redis://127.0.0.1:1', 500);
    closed.on('error', () => {});
    try {
      await expect(new RedisFeatureStore(closed).getUser('u_1')).rejects.toThrow();
    } finally {
      closed.disconnect();
    }
  });

  it('after the data is lost: missing users and videos, no popularity, no marker, on both sides', async () => {
    const { site, answer } = simSite();
    site.redis.loseData(1);
    const sim = simFeatureStore(site, data);
    await client!.flushall();
    const real = new RedisFeatureStore(client!);
    expect(await answer(sim.getUser('u_1'))).toEqual(await real.getUser('u_1'));
    expect(await answer(sim.getUser('u_1'))).toBeUndefined();
    expect(await answer(sim.getVideos([0, 1]))).toEqual(await real.getVideos([0, 1]));
    expect(await answer(sim.topPopular(undefined, 10))).toEqual(await real.topPopular(undefined, 10));
    expect(await answer(sim.loadMarker())).toEqual(await real.loadMarker());
    expect(await answer(sim.loadMarker())).toBeUndefined();
  });
});
