/**
 * The feature store's contents for a high-fidelity run, in memory: what `loadIntoRedis`
 * (sim/loader/redis-loader.ts) writes to Redis for a live run, with the same rules — user and video
 * records, the global top 1000 and regional top 500 by views (× `REGION_HOME_BOOST` at home), each
 * follower's creators, each creator's newest `CREATOR_UPLOADS_MAX` uploads, the load marker.
 *
 * Upload times are moved to the run's clock, as `prepareWorld` moves them to the wall clock for a
 * live run: every `uploadTsS` is shifted by (virtual epoch − `world.config.nowS`), so the core sees the
 * video ages the models were trained on.
 */
import { CREATOR_UPLOADS_MAX } from '../../core/adapters/redis/subscriptions.ts';
import { NUM_REGIONS, USER_RECORD_LEN, VIDEO_RECORD, VIDEO_RECORD_LEN } from '../../core/features/schema.ts';
import type { RecentUpload } from '../../core/retrieval/subscriptions-source.ts';
import { SimError } from '../sim-error.ts';
import { topK } from '../util/top-k.ts';
import { REGION_HOME_BOOST } from '../world/priors.ts';
import type { World } from '../world/world.ts';

/** Sizes of the popularity sets the loader writes (its defaults). */
const GLOBAL_TOP = 1000;
const REGION_TOP = 500;

export interface WorldData {
  users: number;
  videos: number;
  /** `Float32Array(users × USER_RECORD_LEN)`. */
  userRecords: Float32Array;
  /** `Float32Array(videos × VIDEO_RECORD_LEN)`, upload times on the run's clock. */
  videoRecords: Float32Array;
  /** Best first: `global` and one list per region index. */
  popularity: { global: { video: number; score: number }[]; byRegion: { video: number; score: number }[][] };
  /** Creators user `u` follows, in the order Redis answers them: `followed[followOffsets[u] … followOffsets[u + 1])`. */
  followOffsets: Uint32Array;
  followed: Uint32Array;
  /** Creator `c`'s newest uploads (at most CREATOR_UPLOADS_MAX), newest first; absent: none. */
  uploads: Map<number, RecentUpload[]>;
  /** The load marker's value (the world hash). */
  marker: string;
}

/**
 * Builds the in-memory store of `world` from its artifact records, upload times moved to `epochS`.
 * @param records `userRecords`/`videoRecords` as `buildArtifacts` writes them (not modified)
 * @throws SimError RECLAB_ERR_LOADER_INPUT_INVALID when the arrays do not match the world
 */
export function worldData(
  world: World,
  records: { userRecords: Float32Array; videoRecords: Float32Array },
  hash: string,
  epochS: number,
): WorldData {
  const { users, videos, creators } = world.config;
  if (
    records.userRecords.length !== users * USER_RECORD_LEN ||
    records.videoRecords.length !== videos * VIDEO_RECORD_LEN
  ) {
    throw new SimError(
      'RECLAB_ERR_LOADER_INPUT_INVALID',
      `records do not match the world (${users} users, ${videos} videos)`,
    );
  }
  const videoRecords = records.videoRecords.slice();
  const shiftS = epochS - world.config.nowS;
  for (let v = 0; v < videos; v++) videoRecords[v * VIDEO_RECORD_LEN + VIDEO_RECORD.uploadTsS] += shiftS;

  const views = new Float64Array(videos);
  for (let v = 0; v < videos; v++)
    views[v] = Math.round(Math.expm1(videoRecords[v * VIDEO_RECORD_LEN + VIDEO_RECORD.logViews]));
  const ranked = (k: number, score: (v: number) => number) =>
    Array.from(topK(videos, k, score), (video) => ({ video, score: score(video) }));
  const global = ranked(GLOBAL_TOP, (v) => views[v]);
  const byRegion = Array.from({ length: NUM_REGIONS }, (_, r) =>
    ranked(REGION_TOP, (v) => views[v] * (world.videoRegion[v] === r ? REGION_HOME_BOOST : 1)),
  );

  // Uploads by now, per creator, newest first, cut to the bound (the loader's `upl:c_<j>`).
  const uploadTs = (v: number) => videoRecords[v * VIDEO_RECORD_LEN + VIDEO_RECORD.uploadTsS];
  const live = Math.min(world.initialVideos, videos);
  const byCreator = new Map<number, number[]>();
  for (let v = 0; v < live; v++) {
    const c = world.videoCreator[v];
    if (c >= creators) continue;
    const list = byCreator.get(c);
    if (list) list.push(v);
    else byCreator.set(c, [v]);
  }
  // Redis answers a sorted set's members by score, then by member in reverse byte order on ties
  // (ZREVRANGE): `c_<j>`/`v_<i>` strings, so `c_9` before `c_10`. The reads below keep that order.
  const reverseByName = (prefix: string) => (a: number, b: number) => {
    const x = `${prefix}${a}`;
    const y = `${prefix}${b}`;
    return x < y ? 1 : x > y ? -1 : 0;
  };
  const byVideoName = reverseByName('v_');
  const uploads = new Map<number, RecentUpload[]>();
  for (const [c, vs] of byCreator) {
    // The loader's choice of the newest CREATOR_UPLOADS_MAX, then Redis's order among them.
    vs.sort((a, b) => uploadTs(b) - uploadTs(a) || a - b);
    const kept = vs.slice(0, CREATOR_UPLOADS_MAX);
    kept.sort((a, b) => uploadTs(b) - uploadTs(a) || byVideoName(a, b));
    uploads.set(
      c,
      kept.map((video) => ({ video, uploadTsS: uploadTs(video) })),
    );
  }
  // Followed creators all have score 0 (the world does not date follows): name order, reversed.
  const followed = world.subscriptionCreators.slice();
  const offsets = world.subscriptionOffsets;
  const byCreatorName = reverseByName('c_');
  for (let u = 0; u < users; u++) followed.subarray(offsets[u], offsets[u + 1]).sort(byCreatorName);
  return {
    users,
    videos,
    userRecords: records.userRecords,
    videoRecords,
    popularity: { global, byRegion },
    followOffsets: offsets,
    followed,
    uploads,
    marker: hash,
  };
}
