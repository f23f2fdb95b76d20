import { affinity } from '../world/affinity.ts';
import type { World } from '../world/world.ts';
import type { BehaviorParams } from './behavior-params.ts';
import { bounceWatchFactor, completionLogitMean } from './watch-time.ts';

/** Ground truth of one (user, video) pair under the behaviour model. */
export interface ItemTruth {
  /** The world's affinity (`sim/world/affinity.ts`), plus the drift term when a preference delta is given. */
  affinity: number;
  /** Utility in the choice model: `affinity + choiceClickbaitWeight × clickbait`. */
  clickUtility: number;
  /** Mean of the completion logit (`completionLogitMean`). */
  completionLogit: number;
  /** Expected share of the unbounced watch time a click keeps (`bounceWatchFactor`), in (0, 1]. */
  watchFactor: number;
  /** Video duration, seconds. */
  durationS: number;
  /** Video quality in [0, 1]. */
  quality: number;
  /** Video clickbait score in [0, 1] (0 when the world has none). */
  clickbait: number;
}

/**
 * Computes the ground truth of user `u` and video `v`. With `preferenceDelta` (the session's
 * drifted preference minus the user's base latent, `latentDim` wide) the affinity becomes
 * `affinity(world, u, v) + ⟨delta, latent_v⟩` — i.e. the world's affinity with the drifted vector
 * in place of the base one, whatever other terms the world's affinity has.
 *
 * @param clickbait the world's clickbait array (`videoClickbait(world)`), or undefined for none
 * @param out filled and returned (no allocation in hot loops)
 */
export function itemTruth(
  world: World,
  p: Readonly<BehaviorParams>,
  u: number,
  v: number,
  clickbait: Float32Array | undefined,
  preferenceDelta: Float64Array | undefined,
  out: ItemTruth = newItemTruth(),
): ItemTruth {
  const a = driftedAffinity(world, u, v, preferenceDelta);
  const cb = clickbait ? clickbait[v] : 0;
  const quality = world.videoQuality[v];
  const durationS = world.videoDurationS[v];
  out.affinity = a;
  out.clickUtility = a + p.choiceClickbaitWeight * cb;
  out.completionLogit = completionLogitMean(p, a, quality, durationS);
  out.watchFactor = bounceWatchFactor(p, cb);
  out.durationS = durationS;
  out.quality = quality;
  out.clickbait = cb;
  return out;
}

/**
 * `itemTruth(…).clickUtility` alone, bit for bit (the same terms in the same order), without the
 * watch-time terms: what the choice among a list's items needs for each item (issue 10: the lab's
 * simulated users react to every list during a measured phase).
 */
export function clickUtility(
  world: World,
  p: Readonly<BehaviorParams>,
  u: number,
  v: number,
  clickbait: Float32Array | undefined,
  preferenceDelta: Float64Array | undefined,
): number {
  const cb = clickbait ? clickbait[v] : 0;
  return driftedAffinity(world, u, v, preferenceDelta) + p.choiceClickbaitWeight * cb;
}

/** The user's affinity for `v`, plus the drift of their preference along the video's latent. */
function driftedAffinity(
  world: World,
  u: number,
  v: number,
  preferenceDelta: Float64Array | undefined,
): number {
  let a = affinity(world, u, v);
  if (preferenceDelta) {
    const d = preferenceDelta.length;
    const o = v * d;
    const latent = world.videoLatent;
    for (let k = 0; k < d; k++) a += preferenceDelta[k] * latent[o + k];
  }
  return a;
}

/** A zeroed `ItemTruth` to reuse as `out`. */
export function newItemTruth(): ItemTruth {
  return {
    affinity: 0,
    clickUtility: 0,
    completionLogit: 0,
    watchFactor: 1,
    durationS: 0,
    quality: 0,
    clickbait: 0,
  };
}
