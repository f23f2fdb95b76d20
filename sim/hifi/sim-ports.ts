/**
 * Simulated adapters for the high-fidelity run (issue 13, `--fidelity high`): the core's ports
 * (core/ports/) served from the world's data in memory (sim/hifi/world-data.ts), each call taking
 * the time the fleet model gives it on the virtual clock.
 *
 * - **Redis reads** go through the fleet's `RedisCluster` (hash-slot routing, FIFO shards, faults):
 *   one command per port call, as the real adapters send (`GET`, `MGET` spread over the shards,
 *   `ZREVRANGE`, the subscriptions script), then the replica's CPU to read the reply
 *   (`redisReplyUs`). A down shard rejects (what ioredis does on a refused connection), a hung one
 *   never answers (the core's deadline decides), an emptied one answers with the keys missing.
 * - **Models** are the real artifacts (FAISS indexes, ONNX sessions) computing real results; their
 *   time is the fleet's: the replica's CPU (`userEncoderUs`, `annUs`, `lightRankerUs`,
 *   `mainRankerUs`) or the ranker pool (`rankerClientUs`, then the pool's batching). The real work
 *   runs first, in no virtual time, and its result is handed on only when the simulated time has
 *   passed (sim/hifi/settle.ts explains why that keeps the run deterministic).
 * - **What is not modelled:** the streaming-features path (users' events): recent watches and the
 *   trending sets read as empty, as in a live run before any event is applied.
 */

import { ReclabError } from '../../core/errors.ts';
import { USER_RECORD_LEN, VIDEO_RECORD_LEN } from '../../core/features/schema.ts';
import type { ModelSet } from '../../core/pipeline/recommend.ts';
import type { CandidateSource } from '../../core/ports/candidate-source.ts';
import type { FeatureStore } from '../../core/ports/feature-store.ts';
import type { ImpressionLog } from '../../core/ports/impression-log.ts';
import type { Ranker, UserEncoder } from '../../core/ports/ranker.ts';
import type { SwappableModelSet } from '../../core/registry/model-slots.ts';
import type { RecentUpload, SubscriptionReader } from '../../core/retrieval/subscriptions-source.ts';
import type { EventScheduler } from '../engine/scheduler.ts';
import type { FifoServer } from '../fleet/fifo-server.ts';
import type { KafkaModel } from '../fleet/kafka-model.ts';
import type { RankerPool } from '../fleet/ranker-pool.ts';
import type { RedisCluster } from '../fleet/redis-cluster.ts';
import type { CpuSamplers } from '../fleet/replica.ts';
import type { AnnIndexModel } from '../run/fleet-faults.ts';
import { userIndexOrMissing } from '../world/ids.ts';
import type { RealWork } from './settle.ts';
import type { WorldData } from './world-data.ts';

/** Integers standing for the keys that are not per user, for hash-slot routing. */
const VIDEO_KEY = 0x4000_0000;
const POPULARITY_KEY = 0x6000_0000;
const TRENDING_KEY = 0x6100_0000;

const ANN_MISSING = new ReclabError('RECLAB_ERR_RETRIEVAL_UNAVAILABLE', 'ANN index missing');

/** One replica's place in the simulated fleet: its event loop, and the shared pools. */
export interface SimSite {
  index: number;
  scheduler: EventScheduler;
  cpuServer: FifoServer;
  cpu: CpuSamplers;
  redis: RedisCluster;
  rankerPool: RankerPool | undefined;
  kafka: KafkaModel;
  ann: AnnIndexModel;
  work: RealWork;
  /** Candidates the fleet's CPU costs are per (fleet `candidates`): per-row costs scale by rows ÷ this. */
  candidates: number;
}

/** `costUs` of CPU on the site's event loop; resolves when the job completes (virtual time). */
export function cpuJob(site: SimSite, costUs: number): Promise<void> {
  const s = site.scheduler;
  return new Promise((resolve) => s.post(site.cpuServer.submit(s.nowUs, costUs), resolve));
}

/**
 * One Redis command of `keys` keys to `shard`, then the reply's CPU on the replica; resolves with
 * the keys missing (an emptied shard), rejects with the cluster's error, never settles on a hang.
 */
function command(site: SimSite, shard: number, keys: number): Promise<number> {
  return new Promise((resolve, reject) =>
    site.redis.command(shard, keys, (err, missing) => {
      if (err) reject(err);
      else cpuJob(site, site.cpu.redisReply()).then(() => resolve(missing ?? 0));
    }),
  );
}

/**
 * The shard user `u`'s keys live on. A user the world does not hold (`u` = -1) is still a read, of
 * a missing key, on some shard: user 0's.
 */
function userShard(site: SimSite, u: number): number {
  return site.redis.shardOfUser(u < 0 ? 0 : u);
}

/** The feature store (users, videos, popularity, the load marker) over the cluster. */
export function simFeatureStore(site: SimSite, data: WorldData): FeatureStore {
  const { redis } = site;
  return {
    async getUser(userId) {
      const u = userIndexOrMissing(userId, data.users);
      const missing = await command(site, userShard(site, u), 1);
      if (missing > 0 || u < 0) return undefined;
      return data.userRecords.slice(u * USER_RECORD_LEN, (u + 1) * USER_RECORD_LEN);
    },
    getVideos(videos) {
      return new Promise((resolve, reject) =>
        redis.spreadRead(Math.max(1, videos.length), (err) => {
          if (err) {
            reject(err);
            return;
          }
          cpuJob(site, site.cpu.redisReply()).then(() =>
            resolve(
              videos.map((v) =>
                v < 0 || v >= data.videos || redis.empty[redis.shardOfUser(VIDEO_KEY + v)]
                  ? undefined
                  : data.videoRecords.slice(v * VIDEO_RECORD_LEN, (v + 1) * VIDEO_RECORD_LEN),
              ),
            ),
          );
        }),
      );
    },
    async topPopular(regionIdx, n) {
      const missing = await command(site, redis.shardOfUser(POPULARITY_KEY + (regionIdx ?? 255)), 1);
      if (missing > 0) return [];
      const list = regionIdx === undefined ? data.popularity.global : data.popularity.byRegion[regionIdx];
      return (list ?? []).slice(0, n);
    },
    async loadMarker() {
      const missing = await command(site, redis.markerShard, 1);
      return missing > 0 ? undefined : data.marker;
    },
  };
}

/** Recent watches: one read on the user's shard; empty (no streaming features in the model). */
export function simRecentActivity(site: SimSite, users: number) {
  return {
    async recentWatches(userId: string, _n: number): Promise<number[]> {
      const u = userIndexOrMissing(userId, users);
      await command(site, userShard(site, u), 1);
      return [];
    },
  };
}

/** The trending sets: one read; empty (no streaming features in the model). */
export function simTrending(site: SimSite) {
  return async (regionIdx: number | undefined, _n: number): Promise<{ video: number; score: number }[]> => {
    await command(site, site.redis.shardOfUser(TRENDING_KEY + (regionIdx ?? 255)), 1);
    return [];
  };
}

/** Followed creators and their uploads in one round trip (the script the real adapter runs). */
export function simSubscriptions(site: SimSite, data: WorldData): SubscriptionReader {
  return {
    async followedUploads(userId, creatorsMax, perCreator, minTsS, maxTsS) {
      const u = userIndexOrMissing(userId, data.users);
      const from = u < 0 ? 0 : data.followOffsets[u];
      const to = u < 0 ? 0 : Math.min(data.followOffsets[u + 1], from + Math.max(0, creatorsMax));
      const missing = await command(site, userShard(site, u), 1 + (to - from));
      if (missing > 0) return [];
      const out: RecentUpload[][] = [];
      for (let j = from; j < to; j++) {
        const ups = data.uploads.get(data.followed[j]) ?? [];
        out.push(ups.filter((x) => x.uploadTsS >= minTsS && x.uploadTsS <= maxTsS).slice(0, perCreator));
      }
      return out;
    },
  };
}

/** Impressions to the fleet's Kafka model (delivered, or held while the brokers are down). */
export function simImpressionLog(site: SimSite): ImpressionLog {
  let published = 0;
  return {
    publish() {
      published++;
      site.kafka.publish(site.index);
    },
    stats: () => ({ pending: 0, published, dropped: 0 }),
    close: async () => {},
  };
}

/**
 * Real work, then its simulated time: resolves with the real result once `then` has run.
 * `external`: the work finishes outside JavaScript (ONNX Runtime's thread pool), so the run must
 * wait for it before the next event (`RealWork.track`); work that itself waits on simulated events
 * (the content source awaits the recent-watches read) must not be tracked, or settling would wait
 * for an event that cannot fire.
 */
async function timed<T>(
  site: SimSite,
  external: boolean,
  real: () => Promise<T>,
  then: () => Promise<void>,
): Promise<T> {
  const value = await (external ? site.work.track(real()) : real());
  await then();
  return value;
}

/** The main ranker's time: the pool (client CPU, then batching) or in process. */
function mainRankerTime(site: SimSite, rows: number): Promise<void> {
  const pool = site.rankerPool;
  if (!pool) return cpuJob(site, site.cpu.mainRanker() * (rows / site.candidates));
  return cpuJob(site, site.cpu.rankerClient()).then(
    () => new Promise((resolve, reject) => pool.score(rows, (err) => (err ? reject(err) : resolve()))),
  );
}

/**
 * The real model set as this replica sees it: every model call computes its real result and takes
 * the fleet's time (file header). The set is shared by the replicas and released by the run.
 */
export function simModelSet(site: SimSite, real: ModelSet): SwappableModelSet {
  const ranker = (r: Ranker, time: (rows: number) => Promise<void>): Ranker => ({
    modelVersion: r.modelVersion,
    ...(r.scoreWeights ? { scoreWeights: r.scoreWeights } : {}),
    score: (features, n) =>
      timed(
        site,
        true,
        () => r.score(features, n),
        () => time(n),
      ),
  });
  const userEncoder: UserEncoder = {
    dim: real.userEncoder.dim,
    encode: (f) =>
      timed(
        site,
        true,
        () => real.userEncoder.encode(f),
        () => cpuJob(site, site.cpu.userEncoder()),
      ),
  };
  const sources: CandidateSource[] = real.sources.map((s) => ({
    name: s.name,
    ...(s.needsRecentWatches ? { needsRecentWatches: true } : {}),
    retrieve: (ctx, k) => {
      if (site.ann.missing) return Promise.reject(ANN_MISSING);
      return timed(
        site,
        false,
        () => s.retrieve(ctx, k),
        () => cpuJob(site, site.cpu.ann()),
      );
    },
  }));
  return {
    modelVersion: real.modelVersion,
    userEncoder,
    ranker: ranker(real.ranker, (rows) => mainRankerTime(site, rows)),
    ...(real.lightRanker
      ? {
          lightRanker: ranker(real.lightRanker, (rows) =>
            cpuJob(site, site.cpu.lightRanker() * (rows / site.candidates)),
          ),
        }
      : {}),
    items: real.items,
    sources,
    editorial: real.editorial,
    ...(real.fresh ? { fresh: real.fresh } : {}),
    ...(real.itemEncoder ? { itemEncoder: real.itemEncoder } : {}),
    release: async () => {},
  };
}
