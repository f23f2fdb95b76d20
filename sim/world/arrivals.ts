import type { RandomStream } from '../../core/ports/random.ts';
import type { World } from './world.ts';

/**
 * Arrivals as data: cold-start users and videos that join the world after its `nowS`.
 *
 * With `arrivalWindowS > 0`, the last `users − initialUsers` users and the last
 * `videos − initialVideos` videos are arrivals: their `userSignupS` / `videoUploadTsS` lie in
 * `(nowS, nowS + arrivalWindowS]` and do not decrease with the index. Everything before them (the
 * initial population, all timestamped at or before `nowS`) is byte-identical to the same world
 * generated without arrivals. So the entities live at a time `t ≥ nowS` are always an index prefix:
 * a loader can load `[0, arrivedVideos(world, nowS))` up front and the rest as time passes.
 */

/** A half-open range of entity indices `[start, end)`. */
export interface IndexRange {
  readonly start: number;
  readonly end: number;
}

/**
 * `count` arrival times, Unix seconds, uniform over `(nowS, nowS + windowS]` and sorted ascending:
 * `Uint32Array(count)`. Draws `count` values from `rng`.
 */
export function drawArrivalTimes(
  rng: RandomStream,
  count: number,
  nowS: number,
  windowS: number,
): Uint32Array {
  const offsets = new Float64Array(count);
  for (let i = 0; i < count; i++) offsets[i] = rng.next();
  offsets.sort();
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = nowS + 1 + Math.floor(offsets[i] * windowS);
  return out;
}

/**
 * Number of users signed up at or before `atS` (Unix seconds). For `atS ≥ nowS` these are exactly
 * users `[0, result)` (binary search over the arrivals); for an earlier `atS` it counts the initial
 * users by scanning `userSignupS` (O(users)), and they are not a prefix.
 */
export function arrivedUsers(world: World, atS: number): number {
  return arrivedCount(world.userSignupS, world.initialUsers, world.config.users, world.config.nowS, atS);
}

/** Number of videos uploaded at or before `atS`; same contract as `arrivedUsers`. */
export function arrivedVideos(world: World, atS: number): number {
  return arrivedCount(world.videoUploadTsS, world.initialVideos, world.config.videos, world.config.nowS, atS);
}

/**
 * Users and videos that arrive in `(fromS, toS]` (Unix seconds), as index ranges. Only entities after
 * `nowS` count as arrivals, so `fromS` below `nowS` is treated as `nowS`; an empty window gives empty
 * ranges. O(log arrivals).
 */
export function arrivalsBetween(
  world: World,
  fromS: number,
  toS: number,
): { users: IndexRange; videos: IndexRange } {
  const { users, videos, nowS } = world.config;
  const from = Math.max(fromS, nowS);
  const range = (ts: Uint32Array, initial: number, n: number): IndexRange => {
    const start = upperBound(ts, initial, n, from);
    return { start, end: toS > from ? upperBound(ts, start, n, toS) : start };
  };
  return {
    users: range(world.userSignupS, world.initialUsers, users),
    videos: range(world.videoUploadTsS, world.initialVideos, videos),
  };
}

function arrivedCount(ts: Uint32Array, initial: number, n: number, nowS: number, atS: number): number {
  if (atS >= nowS) return upperBound(ts, initial, n, atS);
  let count = 0;
  for (let i = 0; i < initial; i++) if (ts[i] <= atS) count++;
  return count;
}

/** First index in `[lo, hi)` with `ts[i] > t` (`ts` non-decreasing there), or `hi`. */
function upperBound(ts: Uint32Array, lo: number, hi: number, t: number): number {
  let a = lo;
  let b = hi;
  while (a < b) {
    const m = (a + b) >>> 1;
    if (ts[m] <= t) a = m + 1;
    else b = m;
  }
  return a;
}
