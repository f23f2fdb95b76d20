import type { World } from '../world/world.ts';

/**
 * Ground-truth-free descriptive metrics of a served list (no user model involved). All take video
 * indices in served order and return 0 for an empty list.
 */

/**
 * Intra-list diversity: mean over all pairs of `1 − cos(latent_i, latent_j)` of the videos' latent
 * vectors (unit rows, so cos is the dot product); in [0, 2], 0 for fewer than two items. After
 * Ziegler et al., "Improving recommendation lists through topic diversification", WWW 2005.
 * Cost O(n² · latentDim): ≈ 3 µs for 20 items at latentDim 16.
 */
export function intraListDiversity(world: World, served: ArrayLike<number>): number {
  const n = served.length;
  if (n < 2) return 0;
  const d = world.config.latentDim;
  const m = world.videoLatent;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const oi = served[i] * d;
    for (let j = i + 1; j < n; j++) {
      const oj = served[j] * d;
      let dot = 0;
      for (let k = 0; k < d; k++) dot += m[oi + k] * m[oj + k];
      sum += 1 - dot;
    }
  }
  return sum / ((n * (n - 1)) / 2);
}

/** Creator concentration of a list: the most frequent creator's share and the Herfindahl–Hirschman index. */
export interface CreatorConcentration {
  /** Share of the list held by its most frequent creator, in [1/n, 1]. */
  creatorTopShare: number;
  /** Σ over creators of (share)², in [1/n, 1]; 1/n when every item has its own creator. */
  creatorHhi: number;
}

/** Creator concentration of `served`; O(n²), n is a list length. */
export function creatorConcentration(world: World, served: ArrayLike<number>): CreatorConcentration {
  const n = served.length;
  if (n === 0) return { creatorTopShare: 0, creatorHhi: 0 };
  let top = 0;
  let hhi = 0;
  for (let i = 0; i < n; i++) {
    const c = world.videoCreator[served[i]];
    let seenBefore = false;
    for (let j = 0; j < i && !seenBefore; j++) seenBefore = world.videoCreator[served[j]] === c;
    if (seenBefore) continue;
    let count = 1;
    for (let j = i + 1; j < n; j++) if (world.videoCreator[served[j]] === c) count++;
    if (count > top) top = count;
    hhi += (count / n) ** 2;
  }
  return { creatorTopShare: top / n, creatorHhi: hhi };
}

/**
 * Share of `served` uploaded within `freshWindowS` seconds before `nowS` (upload time ≥
 * `nowS − freshWindowS`), in [0, 1].
 *
 * @param nowS reference time, Unix seconds (the world's `nowS`, or the run's clock mapped to it)
 * @param freshWindowS window, seconds (48 h = 172 800)
 */
export function freshShare(
  world: World,
  served: ArrayLike<number>,
  nowS: number,
  freshWindowS: number,
): number {
  const n = served.length;
  if (n === 0) return 0;
  const since = nowS - freshWindowS;
  let fresh = 0;
  for (let i = 0; i < n; i++) if (world.videoUploadTsS[served[i]] >= since) fresh++;
  return fresh / n;
}
