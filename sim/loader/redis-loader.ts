import type { ChainableCommander, Redis } from 'ioredis';
import { keys } from '../../core/adapters/redis/keys.ts';
import {
  encodeRecord,
  NUM_REGIONS,
  USER_RECORD_LEN,
  VIDEO_RECORD,
  VIDEO_RECORD_LEN,
} from '../../core/features/schema.ts';
import { SimError } from '../sim-error.ts';
import { topK } from '../util/top-k.ts';
import { userId, videoId } from '../world/ids.ts';
import { REGION_HOME_BOOST } from '../world/priors.ts';
import type { World } from '../world/world.ts';
import { worldHash } from '../world/world-hash.ts';

export interface LoadOptions {
  /** Commands per pipeline; default 1000. */
  batchSize?: number;
  /** Pipelines awaiting their replies at once; default 4 (bounds client memory). */
  maxInFlight?: number;
  /** Size of the global popularity set; default 1000. */
  globalTopK?: number;
  /** Size of each regional popularity set; default 500. */
  regionTopK?: number;
  /** Called after each pipeline completes. */
  onProgress?: (e: { keysWritten: number; keysTotal: number }) => void;
}

/**
 * Loads a world's feature store into Redis with the core's key design (core/adapters/redis/keys.ts):
 * - `u:u_<i>` → user record i, `v:v_<i>` → video record i, as binary Float32 values
 *   (`encodeRecord`, core/features/schema.ts), written with pipelined SETs in batches;
 * - `pop:global`: sorted set of the top `globalTopK` videos by views (`expm1(logViews)`);
 * - `pop:r:<r>`: per region, the top `regionTopK` by views × `REGION_HOME_BOOST` (4) for videos
 *   whose home region is r; both sets are replaced (DEL + ZADD in one MULTI);
 * - `meta:world_hash` last, so a reader that sees the hash sees a complete load.
 *
 * Memory on the client is bounded by `batchSize × maxInFlight` commands.
 *
 * @param artifacts `userRecords`: `Float32Array(users × USER_RECORD_LEN)`;
 *   `videoRecords`: `Float32Array(videos × VIDEO_RECORD_LEN)` (as written by `buildArtifacts`)
 * @returns number of keys written and the wall time in seconds
 * @throws SimError `RECLAB_ERR_LOADER_INPUT_INVALID` when the arrays do not match the world;
 *   Redis errors (connection, OOM, …) propagate as thrown by ioredis
 */
export async function loadIntoRedis(
  redis: Redis,
  world: World,
  artifacts: { userRecords: Float32Array; videoRecords: Float32Array },
  opts: LoadOptions = {},
): Promise<{ keys: number; seconds: number }> {
  const started = performance.now();
  const { users, videos } = world.config;
  const { userRecords, videoRecords } = artifacts;
  if (userRecords.length !== users * USER_RECORD_LEN || videoRecords.length !== videos * VIDEO_RECORD_LEN) {
    throw new SimError(
      'RECLAB_ERR_LOADER_INPUT_INVALID',
      `userRecords has ${userRecords.length} floats (want ${users * USER_RECORD_LEN}), ` +
        `videoRecords ${videoRecords.length} (want ${videos * VIDEO_RECORD_LEN})`,
    );
  }
  const batchSize = Math.max(1, opts.batchSize ?? 1000);
  const maxInFlight = Math.max(1, opts.maxInFlight ?? 4);
  const keysTotal = users + videos + 1 + NUM_REGIONS + 1;
  let keysWritten = 0;

  const inFlight: Promise<void>[] = [];
  const send = async (pipeline: ChainableCommander, keyCount: number) => {
    const done = pipeline.exec().then((replies) => {
      const failed = replies?.find(([err]) => err);
      if (failed) throw failed[0];
      keysWritten += keyCount;
      opts.onProgress?.({ keysWritten, keysTotal });
    });
    done.catch(() => {}); // observed below; this only keeps an early failure from being "unhandled"
    inFlight.push(done);
    if (inFlight.length >= maxInFlight) await inFlight.shift();
  };

  const writeRecords = async (
    count: number,
    len: number,
    records: Float32Array,
    key: (i: number) => string,
  ) => {
    for (let start = 0; start < count; start += batchSize) {
      const end = Math.min(count, start + batchSize);
      const p = redis.pipeline();
      for (let i = start; i < end; i++) p.set(key(i), encodeRecord(records.subarray(i * len, (i + 1) * len)));
      await send(p, end - start);
    }
  };
  await writeRecords(users, USER_RECORD_LEN, userRecords, (i) => keys.user(userId(i)));
  await writeRecords(videos, VIDEO_RECORD_LEN, videoRecords, (i) => keys.video(videoId(i)));

  const views = new Float64Array(videos);
  for (let v = 0; v < videos; v++)
    views[v] = Math.round(Math.expm1(videoRecords[v * VIDEO_RECORD_LEN + VIDEO_RECORD.logViews]));
  const sets = redis.multi();
  const zset = (key: string, top: Uint32Array, score: (v: number) => number) => {
    sets.del(key);
    const args: (string | number)[] = [];
    for (const v of top) args.push(score(v), videoId(v));
    if (args.length > 0) sets.zadd(key, ...args);
  };
  zset(
    keys.popularityGlobal,
    topK(videos, opts.globalTopK ?? 1000, (v) => views[v]),
    (v) => views[v],
  );
  for (let r = 0; r < NUM_REGIONS; r++) {
    const score = (v: number) => views[v] * (world.videoRegion[v] === r ? REGION_HOME_BOOST : 1);
    zset(keys.popularityRegion(r), topK(videos, opts.regionTopK ?? 500, score), score);
  }
  await send(sets, 1 + NUM_REGIONS);
  await Promise.all(inFlight);

  await redis.set(keys.worldHash, worldHash(world));
  keysWritten += 1;
  opts.onProgress?.({ keysWritten, keysTotal });
  return { keys: keysWritten, seconds: (performance.now() - started) / 1000 };
}
