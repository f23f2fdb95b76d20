import type { RandomStream } from '../../core/ports/random.ts';
import { type BehaviorParams, resolveBehaviorParams } from '../behavior/behavior-params.ts';
import { videoClickbait } from '../behavior/clickbait.ts';
import { checkUser } from '../behavior/input-checks.ts';
import { newItemTruth } from '../behavior/item-truth.ts';
import { topK } from '../util/top-k.ts';
import type { World } from '../world/world.ts';
import { itemGainS } from './item-gain.ts';

/** Options of the reference lists. */
export interface ReferenceListOptions {
  /** Only videos uploaded by this time (Unix seconds, world time) are eligible; default the world's `nowS`. */
  nowS?: number;
  /** A session's drifted preference − base latent (oracle only); default none. */
  preferenceDelta?: Float64Array;
}

/**
 * The oracle's list for user `u`: the `k` videos uploaded by `nowS` with the largest ground-truth
 * value `itemGainS` (expected seconds watched if shown at the top), best first; ties go to the lower
 * index. An exact full scan of the catalogue, ≈ 150 ns a video (1M videos ≈ 0.17 s): a reference
 * for comparisons and tests, not something to run per request at scale.
 *
 * @returns `Uint32Array(min(k, eligible videos))`
 * @throws SimError `RECLAB_ERR_BEHAVIOR_INPUT_INVALID` for an unknown user or invalid parameters
 */
export function oracleList(
  world: World,
  params: Partial<BehaviorParams>,
  u: number,
  k: number,
  opts: ReferenceListOptions = {},
): Uint32Array {
  checkUser(world, u);
  const p = resolveBehaviorParams(params);
  const clickbait = videoClickbait(world);
  const scratch = newItemTruth();
  const nowS = opts.nowS ?? world.config.nowS;
  const delta = opts.preferenceDelta;
  return topK(world.config.videos, k, (v) =>
    world.videoUploadTsS[v] <= nowS
      ? itemGainS(world, p, u, v, clickbait, delta, scratch)
      : Number.NEGATIVE_INFINITY,
  );
}

/**
 * `k` distinct videos uploaded by `nowS` (default the world's), drawn uniformly, in draw order — the
 * floor any recommender should beat. When `k` reaches the number of eligible videos, all of them,
 * shuffled. Draws only from `rnd`.
 *
 * @returns `Uint32Array(min(k, eligible videos))`
 */
export function randomList(
  world: World,
  rnd: RandomStream,
  k: number,
  nowS = world.config.nowS,
): Uint32Array {
  const { videos } = world.config;
  const eligible = (v: number) => world.videoUploadTsS[v] <= nowS;
  if (k <= videos / 4) {
    // Small k: rejection. Arrivals are at most half a world's catalogue, so this takes ≤ 2 draws per
    // item on average; a `nowS` long before the world's falls through to the enumeration below.
    const out = new Uint32Array(Math.max(0, k));
    const seen = new Set<number>();
    let i = 0;
    for (let attempt = 0; i < out.length && attempt < 64 * out.length + 1024; attempt++) {
      const v = rnd.int(videos);
      if (seen.has(v) || !eligible(v)) continue;
      seen.add(v);
      out[i++] = v;
    }
    if (i === out.length) return out;
  }
  // Large k: enumerate the eligible videos and shuffle a prefix (Fisher–Yates).
  const all: number[] = [];
  for (let v = 0; v < videos; v++) if (eligible(v)) all.push(v);
  const n = Math.max(0, Math.min(k, all.length));
  for (let i = 0; i < n; i++) {
    const j = i + rnd.int(all.length - i);
    const t = all[i];
    all[i] = all[j];
    all[j] = t;
  }
  return Uint32Array.from(all.slice(0, n));
}
