/**
 * Public ids of the catalogue: `v_<index>` for videos (index = row in the embedding matrix and the
 * FAISS label), `u_<…>` for users (opaque to the core). Redis keys and popularity members use the
 * public ids (core/adapters/redis/keys.ts).
 */
export const videoIdOf = (video: number): string => `v_${video}`;

/**
 * The largest catalogue index: the fresh-uploads index and FAISS label lists hold video indices as
 * int32 (core/retrieval/fresh-index.ts), so 2^31 − 1.
 */
export const MAX_VIDEO_INDEX = 2 ** 31 - 1;

/** The one canonical form of a video id: `v_` + decimal digits without leading zeros (`v_0` is 0). */
export const VIDEO_ID_PATTERN = '^v_(0|[1-9][0-9]*)$';

/** Longest canonical video id: `v_2147483647`. */
export const VIDEO_ID_MAX_LENGTH = 2 + String(MAX_VIDEO_INDEX).length;

/**
 * The catalogue index of a canonical video id (VIDEO_ID_PATTERN, index ≤ MAX_VIDEO_INDEX), or -1
 * for anything else: `v_`, `v_007`, `v_0x10`, `v_1.0`, `v_1e3`, `v_+1`, `v_ 1`, `v_2147483648` and
 * non-ASCII digits are not ids, so one video never has two ids (an alias would be indexed, counted
 * and filtered as a second video). Reads the digits one by one: this runs for every member of the
 * popularity and trending sets on every request (core/adapters/redis/ranked-videos.ts).
 */
export function parseVideoIndex(id: string): number {
  const len = id.length;
  if (len < 3 || len > VIDEO_ID_MAX_LENGTH) return -1;
  if (id.charCodeAt(0) !== 0x76 /* v */ || id.charCodeAt(1) !== 0x5f /* _ */) return -1;
  if (id.charCodeAt(2) === 0x30 /* 0 */) return len === 3 ? 0 : -1; // no leading zeros
  let v = 0;
  for (let i = 2; i < len; i++) {
    const d = id.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v <= MAX_VIDEO_INDEX ? v : -1;
}
