import type { Redis } from 'ioredis';
import { keys } from '../../core/adapters/redis/keys.ts';
import { CREATOR_UPLOADS_MAX } from '../../core/adapters/redis/subscriptions.ts';
import { NUM_REGIONS, USER_RECORD_LEN, VIDEO_RECORD, VIDEO_RECORD_LEN } from '../../core/features/schema.ts';
import { SimError } from '../sim-error.ts';
import { topK } from '../util/top-k.ts';
import { creatorId, userId, videoId } from '../world/ids.ts';
import { REGION_HOME_BOOST } from '../world/priors.ts';
import type { World } from '../world/world.ts';
import { worldHash } from '../world/world-hash.ts';
import { decimalKeyPrefix, EncodedCommand, encodeMsetRecords } from './mset-records.ts';

/** Default keys per MSET command (about 100 KB of user records). */
export const DEFAULT_BATCH_KEYS = 1000;
/** Default MSET commands awaiting their replies at once. */
export const DEFAULT_MAX_IN_FLIGHT = 4;

export interface LoadOptions {
  /** Keys written per MSET command (≥ 1); default 1000. */
  batchKeys?: number;
  /** Commands awaiting their replies at once (≥ 1); default 4. Bounds client and server buffers. */
  maxInFlight?: number;
  /** Size of the global popularity set; default 1000. */
  globalTopK?: number;
  /** Size of each regional popularity set; default 500. */
  regionTopK?: number;
  /**
   * Also write the subscription keys (`sub:u_<i>`, `upl:c_<i>`, see below); default true. Off, the
   * load is the records and popularity sets only (what bench/redis-load.ts compares with SET rates).
   */
  subscriptions?: boolean;
  /** `worldHash(world)` when the caller already has it (saves hashing ~300 MB at 1M × 1M). */
  worldHash?: string;
  /** Called after each command's reply arrives. */
  onProgress?: (e: { keysWritten: number; keysTotal: number }) => void;
}

/**
 * Loads a world's feature store into Redis with the core's key design (core/adapters/redis/keys.ts):
 * - `u:u_<i>` → user record i, `v:v_<i>` → video record i, as binary Float32 values (the bytes
 *   `encodeRecord` gives, core/features/schema.ts), written with MSET commands of `batchKeys` keys
 *   each, RESP-encoded straight from the record arrays (mset-records.ts);
 * - `pop:global`: sorted set of the top `globalTopK` videos by views (`expm1(logViews)`);
 * - `pop:r:<r>`: per region, the top `regionTopK` by views × `REGION_HOME_BOOST` (4) for videos
 *   whose home region is r; both sets are replaced (DEL + ZADD in one MULTI);
 * - `sub:u_<i>` (unless `subscriptions: false`): sorted set of the creators user i follows as of
 *   the world's now (`c_<j>`, score = follow time, 0: the world does not date follows), for each
 *   user who follows anyone;
 * - `upl:c_<j>` (same switch): sorted set of creator j's newest `CREATOR_UPLOADS_MAX` (100) videos
 *   uploaded by the world's now (`v_<i>`, score = `uploadTsS` of the video record given, so a caller
 *   that shifted upload times to the wall clock gets shifted scores); later arrivals join through
 *   `POST /v1/videos/fresh`. Both kinds are replaced (DEL + ZADD), `batchKeys` keys per pipeline;
 * - `meta:world_hash`: deleted first and written last, so a reader that sees the hash sees a
 *   complete load of that world (never an old hash over half-overwritten records).
 *
 * Why MSET, pre-encoded: the client, not Redis, was the bottleneck. One pipelined SET per key
 * reached about 95k keys/s here, under 20% of redis-benchmark's pipelined SET rate (issue 3 asks
 * for 50%): a command object, a promise and a reply per key. `redis.mset` batches of 1000 keys
 * reached about 130–390k keys/s, still spending ~1.5–2.5 µs of client CPU per key building strings
 * and argument buffers; encoding the RESP bytes directly (~0.4 µs per key) leaves Redis, at about
 * 1 µs of its CPU per key, as the limit (bench/redis-load.ts measures both). MSET needs every key on one node: against Redis Cluster,
 * batches would have to be split by hash slot.
 *
 * Memory on the client is bounded by `batchKeys × maxInFlight` keys awaiting replies.
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
  const batchKeys = Math.max(1, Math.floor(opts.batchKeys ?? DEFAULT_BATCH_KEYS));
  const maxInFlight = Math.max(1, Math.floor(opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT));
  const subscriptions = opts.subscriptions === false ? undefined : subscriptionKeys(world, videoRecords);
  const keysTotal = users + videos + 1 + NUM_REGIONS + 1 + (subscriptions?.keys ?? 0);
  let keysWritten = 0;

  await redis.del(keys.worldHash);

  const inFlight: Promise<void>[] = [];
  const track = async (reply: Promise<unknown>, keyCount: number) => {
    const done = reply.then(() => {
      keysWritten += keyCount;
      opts.onProgress?.({ keysWritten, keysTotal });
    });
    done.catch(() => {}); // awaited below; this only keeps an early failure from being "unhandled"
    inFlight.push(done);
    if (inFlight.length >= maxInFlight) await inFlight.shift();
  };

  // Keys the core reads (`u:u_<i>`, `v:v_<i>`), plus the client's own keyPrefix, which ioredis
  // applies to its own commands but not to pre-encoded ones.
  const clientPrefix = redis.options.keyPrefix ?? '';
  const writeRecords = async (count: number, len: number, records: Float32Array, prefix: string) => {
    for (let start = 0; start < count; start += batchKeys) {
      const end = Math.min(count, start + batchKeys);
      const command = new EncodedCommand('mset', encodeMsetRecords(prefix, records, len, start, end));
      await track(redis.sendCommand(command) as Promise<unknown>, end - start);
    }
  };
  await writeRecords(
    users,
    USER_RECORD_LEN,
    userRecords,
    clientPrefix + decimalKeyPrefix((i) => keys.user(userId(i))),
  );
  await writeRecords(
    videos,
    VIDEO_RECORD_LEN,
    videoRecords,
    clientPrefix + decimalKeyPrefix((i) => keys.video(videoId(i))),
  );

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
  await track(
    sets.exec().then((replies) => {
      const failed = replies?.find(([err]) => err);
      if (failed) throw failed[0];
    }),
    1 + NUM_REGIONS,
  );
  if (subscriptions) {
    for (const batch of subscriptions.batches(batchKeys)) {
      const p = redis.pipeline();
      for (const { key, args } of batch) {
        p.del(key);
        p.zadd(key, ...args);
      }
      await track(
        p.exec().then((replies) => {
          const failed = replies?.find(([err]) => err);
          if (failed) throw failed[0];
        }),
        batch.length,
      );
    }
  }
  await Promise.all(inFlight);

  await redis.set(keys.worldHash, opts.worldHash ?? worldHash(world));
  keysWritten += 1;
  opts.onProgress?.({ keysWritten, keysTotal });
  return { keys: keysWritten, seconds: (performance.now() - started) / 1000 };
}

/** One sorted set to write: its key and the ZADD score/member arguments. */
interface SortedSetWrite {
  key: string;
  args: (string | number)[];
}

/**
 * The subscription keys of a world (see `loadIntoRedis`): how many, and a generator of them in
 * batches of at most `size` sets (built lazily, so memory stays bounded by one batch plus the
 * per-creator video lists).
 */
function subscriptionKeys(
  world: World,
  videoRecords: Float32Array,
): { keys: number; batches(size: number): Generator<SortedSetWrite[]> } {
  const { users, creators } = world.config;
  const { subscriptionOffsets: offsets, subscriptionCreators: followed } = world;
  const uploadTs = (v: number) => videoRecords[v * VIDEO_RECORD_LEN + VIDEO_RECORD.uploadTsS];
  // Videos uploaded by now, grouped by creator (CSR), each group newest first and cut to the bound.
  const live = Math.min(world.initialVideos, world.config.videos);
  const start = new Uint32Array(creators + 1);
  for (let v = 0; v < live; v++) start[world.videoCreator[v] + 1]++;
  for (let c = 0; c < creators; c++) start[c + 1] += start[c];
  const byCreator = new Uint32Array(live);
  const fill = start.slice(0, creators);
  for (let v = 0; v < live; v++) byCreator[fill[world.videoCreator[v]]++] = v;
  let followers = 0;
  for (let u = 0; u < users; u++) if (offsets[u + 1] > offsets[u]) followers++;
  let uploaders = 0;
  for (let c = 0; c < creators; c++) if (start[c + 1] > start[c]) uploaders++;

  function* sets(): Generator<SortedSetWrite> {
    for (let u = 0; u < users; u++) {
      if (offsets[u + 1] === offsets[u]) continue;
      const args: (string | number)[] = [];
      for (let j = offsets[u]; j < offsets[u + 1]; j++) args.push(0, creatorId(followed[j]));
      yield { key: keys.subscriptions(userId(u)), args };
    }
    for (let c = 0; c < creators; c++) {
      if (start[c + 1] === start[c]) continue;
      const vs = Array.from(byCreator.subarray(start[c], start[c + 1]));
      vs.sort((a, b) => uploadTs(b) - uploadTs(a) || a - b);
      const args: (string | number)[] = [];
      for (const v of vs.slice(0, CREATOR_UPLOADS_MAX)) args.push(uploadTs(v), videoId(v));
      yield { key: keys.creatorUploads(creatorId(c)), args };
    }
  }

  return {
    keys: followers + uploaders,
    *batches(size: number) {
      let batch: SortedSetWrite[] = [];
      for (const s of sets()) {
        batch.push(s);
        if (batch.length >= size) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    },
  };
}
