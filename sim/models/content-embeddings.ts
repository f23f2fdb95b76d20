import { NUM_CATEGORIES, VIDEO_RECORD, VIDEO_RECORD_LEN } from '../../core/features/schema.ts';
import { normalizeRow } from '../util/vector.ts';
import type { LogSlice } from './simulate-logs.ts';

/**
 * Content-based item embeddings for the content ANN source (seed 000 §2.2): built only from what a
 * video's record says about it (category, creator, duration), so a brand-new upload has one before
 * anyone watched it. Deterministic, no training:
 *
 *   e(v) = normalise( [ onehot(category) · W_CAT | r(creator) · W_CREATOR | onehot(durationBucket) · W_DURATION ] )
 *
 * where `r(c)` is a fixed pseudo-random unit vector of `CREATOR_DIMS` dimensions derived by hashing
 * the creator id (feature hashing with signs, Weinberger et al., "Feature Hashing for Large Scale
 * Multitask Learning", ICML 2009; as a random projection of the creator one-hot, two different
 * creators are near-orthogonal, the same creator scores W_CREATOR²). Duration buckets: < 4 min,
 * < 20 min, < 60 min, longer. A user's content profile is the mean embedding of the videos they
 * clicked; retrieval scores videos by ⟨profile, e(v)⟩.
 */
export const CONTENT_DIM = NUM_CATEGORIES + 12 + 4;
const CREATOR_DIMS = 12;
const W_CATEGORY = 1;
const W_CREATOR = 1;
const W_DURATION = 0.5;
const DURATION_EDGES_S = [240, 1200, 3600];

/** 32-bit integer hash (Murmur3 finaliser) of `x` and a salt. */
function hash32(x: number, salt: number): number {
  let h = (x ^ Math.imul(salt, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Content embeddings of all videos from their records.
 * @param videoRec `Float32Array(videos × VIDEO_RECORD_LEN)`
 * @returns `Float32Array(videos × CONTENT_DIM)`, rows L2-normalised
 */
export function contentEmbeddings(videoRec: Float32Array): Float32Array {
  const videos = videoRec.length / VIDEO_RECORD_LEN;
  const out = new Float32Array(videos * CONTENT_DIM);
  const creatorVec = new Float64Array(CREATOR_DIMS);
  for (let v = 0; v < videos; v++) {
    const rec = v * VIDEO_RECORD_LEN;
    const row = v * CONTENT_DIM;
    out[row + Math.min(NUM_CATEGORIES - 1, Math.max(0, videoRec[rec + VIDEO_RECORD.category] | 0))] =
      W_CATEGORY;
    const creator = videoRec[rec + VIDEO_RECORD.creator] | 0;
    let norm = 0;
    for (let d = 0; d < CREATOR_DIMS; d++) {
      // Uniform in [−1, 1) from the hash; then scaled to a unit vector.
      creatorVec[d] = hash32(creator, d + 1) / 2 ** 31 - 1;
      norm += creatorVec[d] ** 2;
    }
    const scale = W_CREATOR / Math.sqrt(Math.max(norm, 1e-12));
    for (let d = 0; d < CREATOR_DIMS; d++) out[row + NUM_CATEGORIES + d] = creatorVec[d] * scale;
    const duration = videoRec[rec + VIDEO_RECORD.durationS];
    let bucket = 0;
    while (bucket < DURATION_EDGES_S.length && duration >= DURATION_EDGES_S[bucket]) bucket++;
    out[row + NUM_CATEGORIES + CREATOR_DIMS + bucket] = W_DURATION;
    normalizeRow(out, v, CONTENT_DIM);
  }
  return out;
}

/**
 * Content profiles: each user's mean content embedding over their clicks in `slice` (all zeros for
 * users without a click there).
 * @returns `Float32Array(users × dim)`
 */
export function contentProfiles(
  slice: LogSlice,
  users: number,
  emb: Float32Array,
  dim: number,
): Float32Array {
  const { log, startSession, endSession } = slice;
  const sum = new Float32Array(users * dim);
  const count = new Uint32Array(users);
  for (let i = startSession * log.k; i < endSession * log.k; i++) {
    if (!log.clicked[i]) continue;
    const u = log.user[i];
    const v = log.video[i];
    count[u]++;
    for (let d = 0; d < dim; d++) sum[u * dim + d] += emb[v * dim + d];
  }
  for (let u = 0; u < users; u++) {
    if (count[u] === 0) continue;
    for (let d = 0; d < dim; d++) sum[u * dim + d] /= count[u];
  }
  return sum;
}
