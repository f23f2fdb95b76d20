import { SimError } from '../sim-error.ts';

/**
 * String ids of world entities as the serving core sees them: users `u_<index>`, videos
 * `v_<index>`, creators `c_<index>`. The index is the row in the world's typed arrays.
 */

/** `u_<i>` for user index `i`. */
export function userId(i: number): string {
  return `u_${i}`;
}

/** `v_<i>` for video index `i`. */
export function videoId(i: number): string {
  return `v_${i}`;
}

/** `c_<i>` for creator index `i`. */
export function creatorId(i: number): string {
  return `c_${i}`;
}

const USER_ID = /^u_(0|[1-9]\d{0,9})$/;
const VIDEO_ID = /^v_(0|[1-9]\d{0,9})$/;

/**
 * Index of a `u_<i>` id. With `users` given, also checks `i < users`.
 * @throws SimError `RECLAB_ERR_WORLD_ID_INVALID` for anything else.
 */
export function parseUserId(id: string, users?: number): number {
  return parseIndex(id, USER_ID, users);
}

/**
 * Index of a `u_<i>` id of a world of `users` users, or -1 for any other string (a user the world
 * does not hold: what Redis answers as a missing key). Same grammar as `parseUserId`, without throwing.
 */
export function userIndexOrMissing(id: string, users: number): number {
  return indexOrMissing(id, USER_ID, users);
}

/**
 * Index of a `v_<i>` id. With `videos` given, also checks `i < videos`.
 * @throws SimError `RECLAB_ERR_WORLD_ID_INVALID` for anything else.
 */
export function parseVideoId(id: string, videos?: number): number {
  return parseIndex(id, VIDEO_ID, videos);
}

function parseIndex(id: string, pattern: RegExp, limit: number | undefined): number {
  const i = indexOrMissing(id, pattern, limit ?? Number.POSITIVE_INFINITY);
  if (i < 0) {
    throw new SimError(
      'RECLAB_ERR_WORLD_ID_INVALID',
      `${JSON.stringify(id)}${limit === undefined ? '' : ` (limit ${limit})`}`,
    );
  }
  return i;
}

/** The index `pattern` captures from `id` when it is below `limit`, else -1. */
function indexOrMissing(id: string, pattern: RegExp, limit: number): number {
  const m = pattern.exec(id);
  const i = m ? Number(m[1]) : -1;
  return i < limit ? i : -1;
}
