import { Redis } from 'ioredis';
import { videoIdOf } from '../../features/ids.ts';
import { decodeRecord, USER_RECORD_LEN, VIDEO_RECORD_LEN } from '../../features/schema.ts';
import type { FeatureStore } from '../../ports/feature-store.ts';
import { keys } from './keys.ts';
import { readRankedVideos } from './ranked-videos.ts';

/**
 * Opens the Redis connection the feature store uses, set up to fail fast rather than queue:
 * no offline queue (commands fail at once while disconnected, instead of piling up), no per-command
 * retries (the pipeline's breakers decide), a command timeout as a backstop behind the stage
 * deadlines, and reconnection every 250–1000 ms for as long as the process lives.
 *
 * With `autoPipelining` (RECLAB_REDIS_AUTO_PIPELINING=on; ioredis `enableAutoPipelining`) the
 * commands issued in one turn of the event loop leave in one socket write (flushed on
 * `setImmediate`): a request's parallel reads (its user record and recent watches; the retrieval
 * fan-out's popularity, trending and subscription reads), and those of the requests in flight,
 * share a write instead of one each. On loopback TCP each write is a system call that also runs the
 * receiving side's network stack (issue 10's profiles: 8–10% of the pipeline's CPU in
 * `writeUtf8String`). The cost: a command waits for the end of the current loop turn, which under
 * load can take a share of a 10 ms stage deadline. Off by default until a quiet machine has measured
 * both (docs/performance.md). Replies and timeouts are per command either way.
 */
export function connectRedis(
  url: string,
  commandTimeoutMs: number,
  opts: { autoPipelining?: boolean } = {},
): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 2000,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(250 * times, 1000),
    enableAutoPipelining: opts.autoPipelining === true,
  });
}

/**
 * FeatureStore over Redis (seed 000 §2.3): one binary record per user and per video, read with
 * GET / MGET as Buffers (SETUP-NOTES: MGET of 300 binary values ≈ 0.19 ms vs ≈ 2.5 ms for 300
 * HGETALLs); popularity from sorted sets (ZREVRANGE); the load marker from `meta:world_hash`.
 */
export class RedisFeatureStore implements FeatureStore {
  readonly #redis: Redis;

  constructor(redis: Redis) {
    this.#redis = redis;
  }

  async getUser(userId: string): Promise<Float32Array | undefined> {
    return decodeRecord(await this.#redis.getBuffer(keys.user(userId)), USER_RECORD_LEN);
  }

  async getVideos(videos: readonly number[]): Promise<(Float32Array | undefined)[]> {
    if (videos.length === 0) return [];
    const values = await this.#redis.mgetBuffer(...videos.map((v) => keys.video(videoIdOf(v))));
    return values.map((b) => decodeRecord(b, VIDEO_RECORD_LEN));
  }

  async topPopular(regionIdx: number | undefined, n: number): Promise<{ video: number; score: number }[]> {
    return readRankedVideos(
      this.#redis,
      regionIdx === undefined ? keys.popularityGlobal : keys.popularityRegion(regionIdx),
      n,
    );
  }

  /** `GET meta:world_hash` (sim/loader/redis-loader.ts deletes it first and writes it last). */
  async loadMarker(): Promise<string | undefined> {
    return (await this.#redis.get(keys.worldHash)) ?? undefined;
  }
}
