/**
 * The feature contract between the world loader, training and serving.
 *
 * One definition used on both sides is what keeps training and serving consistent: the lab builds
 * its training rows with `rankerInput()` from the same records the core reads from Redis.
 *
 * Storage layout (SETUP-NOTES, "Measured costs"): each user and each video is ONE binary value, a
 * little-endian Float32Array record, read with MGET as Buffers. Hashes read with HGETALL cost about
 * 13× more per request; the storage layout decides the core's capacity more than any other choice.
 */

/** Regions of the world; a user's region selects the regional popularity set. */
export const REGIONS = ['na', 'latam', 'eu', 'africa', 'mena', 'south_asia', 'east_asia', 'oceania'] as const;
/** Client device classes. */
export const DEVICES = ['mobile', 'desktop', 'tv'] as const;
/** The category taxonomy (flat, 16 top-level categories). */
export const CATEGORIES = [
  'music',
  'gaming',
  'news',
  'sports',
  'comedy',
  'education',
  'science',
  'cooking',
  'travel',
  'fashion',
  'film',
  'animals',
  'autos',
  'diy',
  'fitness',
  'kids',
] as const;

export const NUM_REGIONS = REGIONS.length;
export const NUM_DEVICES = DEVICES.length;
export const NUM_CATEGORIES = CATEGORIES.length;

/**
 * User record fields (Float32 each), stored at `u:{userId}`:
 * `[regionIdx, deviceIdx, tenureDays, watchCount, catShare_0 … catShare_15, catClickLift_0 … _15,
 * catWatchLift_0 … _15, subCatShare_0 … _15]` where
 * - `catShare` is the share of the user's logged watches in each category (sums to 1, or all 0 for a
 *   cold user);
 * - `catClickLift` is, per category, the log of the user's position-debiased click-through rate on
 *   the category's impressions over the platform's, shrunk towards the platform's (0 = no evidence):
 *   unlike `catShare` it divides by what the user was shown, so exposure does not pass for taste;
 * - `catWatchLift` is, per category, the log of the user's mean watched share per click over the
 *   platform's, shrunk the same way (0 = no evidence);
 * - `subCatShare` is the share of the creators the user follows whose home category is each
 *   category (all 0 for a user who follows nobody).
 * The last three are batch features of the user's history and follows (seed 001 "user-item
 * crosses"); only the main ranker reads them, one entry per candidate (`extendedModelInput`).
 */
export const USER_RECORD = {
  region: 0,
  device: 1,
  tenureDays: 2,
  watchCount: 3,
  catShare: 4,
  catClickLift: 4 + NUM_CATEGORIES,
  catWatchLift: 4 + 2 * NUM_CATEGORIES,
  subCatShare: 4 + 3 * NUM_CATEGORIES,
} as const;
export const USER_RECORD_LEN = 4 + 4 * NUM_CATEGORIES;

/**
 * Video record fields (Float32 each), stored at `v:{videoId}`:
 * `[creatorId, categoryIdx, durationS, uploadTsS, logViews, logCreatorFollowers, regionIdx,
 * ctrLogit, watchShare, likeRate]`. `uploadTsS` is Unix seconds; Float32 keeps it to ±64 s, ample
 * for ages in hours. `regionIdx` is the video's home region (language, locale).
 *
 * The last three are the video's engagement in the logged history, as a platform's counters hold
 * them (seed 001 "Feature Engineering": item statistics next to user-creator crosses): `ctrLogit`
 * the log-odds of its position-debiased click-through rate, `watchShare` the mean share of the video
 * watched per click, `likeRate` likes per click. Each is shrunk towards its creator's, and the
 * creator's towards the platform's (empirical Bayes), so a fresh upload carries its creator's
 * track record. Only the main ranker reads them (`EXTENDED_FEATURE_DIM`).
 */
export const VIDEO_RECORD = {
  creator: 0,
  category: 1,
  durationS: 2,
  uploadTsS: 3,
  logViews: 4,
  logCreatorFollowers: 5,
  region: 6,
  ctrLogit: 7,
  watchShare: 8,
  likeRate: 9,
} as const;
export const VIDEO_RECORD_LEN = 10;

/** Width of the user tower's input (`userModelInput`). */
export const USER_FEATURE_DIM = NUM_REGIONS + NUM_DEVICES + 2 + NUM_CATEGORIES;
/** Width of the item tower's input (`videoModelInput`). */
export const VIDEO_FEATURE_DIM = NUM_CATEGORIES + 4;
/**
 * Width of the core ranker columns: user features, video features, two-tower affinity. The light
 * ranker (the cheap CPU fallback) reads only these: seed 000 Q5's cascade runs the light ranker on
 * "only core features" and the full ranker on all of them.
 */
export const CORE_RANKER_INPUT_DIM = USER_FEATURE_DIM + VIDEO_FEATURE_DIM + 1;
/**
 * Columns only the main ranker reads, after the core ones: `[sameRegion, ctrLogit / 4, watchShare,
 * likeRate, catClickLift[c], catWatchLift[c], subCatShare[c]]` — the user-video region cross, the
 * video's engagement statistics (`VIDEO_RECORD`), and the user's history and follows in the
 * candidate's category `c` (`USER_RECORD`).
 */
export const EXTENDED_FEATURE_DIM = 7;
/** Width of one ranker input row: the core columns, then the extended ones. */
export const RANKER_INPUT_DIM = CORE_RANKER_INPUT_DIM + EXTENDED_FEATURE_DIM;
/** The `ctrLogit` feature is `ctrLogit / CTR_LOGIT_FEATURE_SCALE`. */
export const CTR_LOGIT_FEATURE_SCALE = 4;

/** Encodes a record (Float32Array) as the bytes stored in Redis. */
export function encodeRecord(record: Float32Array): Buffer {
  return Buffer.from(record.buffer, record.byteOffset, record.byteLength);
}

/** True on a little-endian host: `encodeRecord` stores the host's byte order. */
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Decodes bytes read from Redis into a new Float32Array record of `len` floats (a copy: Redis
 * buffers are not 4-byte aligned, and each record is the caller's own). Returns `undefined` when the
 * length does not match `len` (missing or foreign value).
 *
 * The bytes are copied (one `set`, a memcpy) into a 4-byte aligned scratch block and the floats read
 * from it in host order (as `encodeRecord` writes) into a small array V8 keeps on its heap (issue 10:
 * 300 records 33–36 µs with ten `Buffer.readFloatLE` calls a record, 23–28 µs this way, two runs of
 * a micro-benchmark each). Copying the bytes through `new Uint8Array(out.buffer)` instead forces V8
 * to give every record its own off-heap ArrayBuffer: at the ~300 video records a request decodes,
 * that cost ≈ 250–400 µs CPU (mostly garbage collection) against ≈ 35 µs with `readFloatLE`
 * (bench/pipeline-overhead.ts, bench/README.md).
 */
export function decodeRecord(bytes: Buffer | null | undefined, len: number): Float32Array | undefined {
  if (!bytes || bytes.byteLength !== len * 4) return undefined;
  const out = new Float32Array(len);
  if (len <= DECODE_SCRATCH_FLOATS) {
    // One memcpy into an aligned scratch block, then the floats in host order (as encodeRecord wrote).
    DECODE_SCRATCH_BYTES.set(bytes);
    for (let i = 0; i < len; i++) out[i] = DECODE_SCRATCH[i];
  } else if (HOST_LITTLE_ENDIAN) for (let i = 0; i < len; i++) out[i] = bytes.readFloatLE(i * 4);
  else for (let i = 0; i < len; i++) out[i] = bytes.readFloatBE(i * 4);
  return out;
}

/** Floats the decode scratch holds (records are 10 and 20 floats wide). */
const DECODE_SCRATCH_FLOATS = 64;
/** 4-byte aligned scratch for `decodeRecord` (synchronous, so one per process is enough). */
const DECODE_SCRATCH = new Float32Array(DECODE_SCRATCH_FLOATS);
const DECODE_SCRATCH_BYTES = new Uint8Array(DECODE_SCRATCH.buffer);

/** Writes the user tower's input for one user record into `out` at `offset`. */
export function userModelInput(user: Float32Array, out: Float32Array, offset = 0): void {
  out.fill(0, offset, offset + USER_FEATURE_DIM);
  out[offset + (user[USER_RECORD.region] | 0)] = 1;
  out[offset + NUM_REGIONS + (user[USER_RECORD.device] | 0)] = 1;
  let o = offset + NUM_REGIONS + NUM_DEVICES;
  out[o++] = Math.log1p(user[USER_RECORD.tenureDays]) / 8;
  out[o++] = Math.log1p(user[USER_RECORD.watchCount]) / 8;
  for (let c = 0; c < NUM_CATEGORIES; c++) out[o + c] = user[USER_RECORD.catShare + c];
}

/** The duration feature is `ln(1 + durationS) / DURATION_FEATURE_SCALE`. */
export const DURATION_FEATURE_SCALE = 8;
/** Column of the duration feature in a ranker input row (`rankerInput`). */
export const RANKER_DURATION_COLUMN = USER_FEATURE_DIM + NUM_CATEGORIES;

/**
 * The video duration in seconds encoded in a ranker row's duration feature: the inverse of
 * `videoModelInput`'s `ln(1 + durationS) / 8`, clamped at 0. The ranker's watch head and the ranking
 * score's clickbait term read it, so they need no other input than the row.
 * @param rows row-major `n × RANKER_INPUT_DIM`; `row` 0-based
 */
export function rankerRowDurationS(rows: ArrayLike<number>, row: number): number {
  return Math.max(
    0,
    Math.expm1(DURATION_FEATURE_SCALE * rows[row * RANKER_INPUT_DIM + RANKER_DURATION_COLUMN]),
  );
}

/** Writes the item tower's input for one video record into `out` at `offset`; `nowS` is Unix seconds. */
export function videoModelInput(video: Float32Array, nowS: number, out: Float32Array, offset = 0): void {
  out.fill(0, offset, offset + VIDEO_FEATURE_DIM);
  out[offset + (video[VIDEO_RECORD.category] | 0)] = 1;
  let o = offset + NUM_CATEGORIES;
  const ageH = Math.max(0, (nowS - video[VIDEO_RECORD.uploadTsS]) / 3600);
  out[o++] = Math.log1p(video[VIDEO_RECORD.durationS]) / DURATION_FEATURE_SCALE;
  out[o++] = Math.log1p(ageH) / 10;
  out[o++] = video[VIDEO_RECORD.logViews] / 16;
  out[o++] = video[VIDEO_RECORD.logCreatorFollowers] / 16;
}

/**
 * Writes the extended (main-ranker-only) columns for one user and one video record into `out` at
 * `offset`: `[user region = video region ? 1 : 0, ctrLogit / 4, watchShare, likeRate,
 * catClickLift[c], catWatchLift[c], subCatShare[c]]` with `c` the video's category.
 */
export function extendedModelInput(
  user: Float32Array,
  video: Float32Array,
  out: Float32Array,
  offset = 0,
): void {
  out[offset] = (user[USER_RECORD.region] | 0) === (video[VIDEO_RECORD.region] | 0) ? 1 : 0;
  out[offset + 1] = video[VIDEO_RECORD.ctrLogit] / CTR_LOGIT_FEATURE_SCALE;
  out[offset + 2] = video[VIDEO_RECORD.watchShare];
  out[offset + 3] = video[VIDEO_RECORD.likeRate];
  const c = Math.min(NUM_CATEGORIES - 1, Math.max(0, video[VIDEO_RECORD.category] | 0));
  out[offset + 4] = user[USER_RECORD.catClickLift + c];
  out[offset + 5] = user[USER_RECORD.catWatchLift + c];
  out[offset + 6] = user[USER_RECORD.subCatShare + c];
}

/**
 * Builds the ranker's input matrix: `Float32Array` of length `videos.length × RANKER_INPUT_DIM`,
 * row i = [userModelInput(user), videoModelInput(videos[i]), affinity[i],
 * extendedModelInput(user, videos[i])] where `affinity[i]` is the two-tower dot product of the user
 * and the video (0 when unknown).
 */
export function rankerInput(
  user: Float32Array,
  videos: readonly Float32Array[],
  affinity: ArrayLike<number>,
  nowS: number,
): Float32Array {
  const n = videos.length;
  const out = new Float32Array(n * RANKER_INPUT_DIM);
  const userPart = new Float32Array(USER_FEATURE_DIM);
  userModelInput(user, userPart);
  for (let i = 0; i < n; i++) {
    const row = i * RANKER_INPUT_DIM;
    out.set(userPart, row);
    videoModelInput(videos[i], nowS, out, row + USER_FEATURE_DIM);
    out[row + CORE_RANKER_INPUT_DIM - 1] = affinity[i] ?? 0;
    extendedModelInput(user, videos[i], out, row + CORE_RANKER_INPUT_DIM);
  }
  return out;
}

/** A user record for a user unknown to the feature store (cold start / store down). */
export function defaultUserRecord(regionIdx = 0, deviceIdx = 0): Float32Array {
  const r = new Float32Array(USER_RECORD_LEN);
  r[USER_RECORD.region] = regionIdx;
  r[USER_RECORD.device] = deviceIdx;
  return r;
}
