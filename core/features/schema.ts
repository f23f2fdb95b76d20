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
 * `[regionIdx, deviceIdx, tenureDays, watchCount, catShare_0 … catShare_15]` where catShare is the
 * share of the user's logged watches in each category (sums to 1, or all 0 for a cold user).
 */
export const USER_RECORD = { region: 0, device: 1, tenureDays: 2, watchCount: 3, catShare: 4 } as const;
export const USER_RECORD_LEN = 4 + NUM_CATEGORIES;

/**
 * Video record fields (Float32 each), stored at `v:{videoId}`:
 * `[creatorId, categoryIdx, durationS, uploadTsS, logViews, logCreatorFollowers]`.
 * `uploadTsS` is Unix seconds; Float32 keeps it to ±64 s, ample for ages in hours.
 */
export const VIDEO_RECORD = {
  creator: 0,
  category: 1,
  durationS: 2,
  uploadTsS: 3,
  logViews: 4,
  logCreatorFollowers: 5,
} as const;
export const VIDEO_RECORD_LEN = 6;

/** Width of the user tower's input (`userModelInput`). */
export const USER_FEATURE_DIM = NUM_REGIONS + NUM_DEVICES + 2 + NUM_CATEGORIES;
/** Width of the item tower's input (`videoModelInput`). */
export const VIDEO_FEATURE_DIM = NUM_CATEGORIES + 4;
/** Width of one ranker input row: user features, video features, two-tower affinity. */
export const RANKER_INPUT_DIM = USER_FEATURE_DIM + VIDEO_FEATURE_DIM + 1;

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
 * The floats are read one by one (`Buffer.readFloatLE`/`BE`, host order as `encodeRecord` writes)
 * into a small array V8 keeps on its heap. Copying the bytes through `new Uint8Array(out.buffer)`
 * instead forces V8 to give every record its own off-heap ArrayBuffer: at the ~300 video records a
 * request decodes, that cost ≈ 250–400 µs CPU (mostly garbage collection) against ≈ 35 µs this way
 * (bench/pipeline-overhead.ts, bench/README.md).
 */
export function decodeRecord(bytes: Buffer | null | undefined, len: number): Float32Array | undefined {
  if (!bytes || bytes.byteLength !== len * 4) return undefined;
  const out = new Float32Array(len);
  if (HOST_LITTLE_ENDIAN) for (let i = 0; i < len; i++) out[i] = bytes.readFloatLE(i * 4);
  else for (let i = 0; i < len; i++) out[i] = bytes.readFloatBE(i * 4);
  return out;
}

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
 * Builds the ranker's input matrix: `Float32Array` of length `videos.length × RANKER_INPUT_DIM`,
 * row i = [userModelInput(user), videoModelInput(videos[i]), affinity[i]] where `affinity[i]` is the
 * two-tower dot product of the user and the video (0 when unknown).
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
    out[row + RANKER_INPUT_DIM - 1] = affinity[i] ?? 0;
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
