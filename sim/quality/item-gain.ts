import type { BehaviorParams } from '../behavior/behavior-params.ts';
import { type ItemTruth, itemTruth } from '../behavior/item-truth.ts';
import { expectedCompletion } from '../behavior/watch-time.ts';
import type { World } from '../world/world.ts';

/**
 * Ground-truth value of video `v` for user `u`: the expected seconds watched if `v` were shown alone
 * at the top of a list — `P(click) × durationS × E[completion]`, with `P(click) =
 * sigmoid(β(clickUtility − a₀))` (the multinomial logit with only the no-click option competing;
 * the top position is always examined). This is the gain of NDCG and the ranking of the oracle.
 *
 * It is a per-item value: the list that maximises the expected watch time of the whole list under
 * the choice model (items compete for the single click) may order things differently, so the oracle
 * is "the ground-truth ranking", not "the best possible list". Being seconds, it favours long
 * videos the user would watch, as a watch-time objective does (Covington et al. 2016).
 *
 * @param clickbait `videoClickbait(world)` (undefined: none)
 * @param preferenceDelta drifted preference − base latent, or undefined
 * @param scratch reused `ItemTruth` (no allocation in hot loops)
 * @returns seconds, > 0
 */
export function itemGainS(
  world: World,
  p: Readonly<BehaviorParams>,
  u: number,
  v: number,
  clickbait: Float32Array | undefined,
  preferenceDelta: Float64Array | undefined,
  scratch: ItemTruth,
): number {
  const t = itemTruth(world, p, u, v, clickbait, preferenceDelta, scratch);
  return gainS(p, t.clickUtility, t.completionLogit, t.durationS * t.watchFactor);
}

/**
 * The gain from its parts (shared with the scorer's precomputed fast path, so both give identical
 * numbers): `sigmoid(β(clickUtility − a₀)) × scaleS × E[sigmoid(completionLogit + σz)]`, where
 * `scaleS` is the duration times the bounce factor (`ItemTruth.watchFactor`).
 */
export function gainS(
  p: Readonly<BehaviorParams>,
  clickUtility: number,
  completionLogit: number,
  scaleS: number,
): number {
  const pClick = 1 / (1 + Math.exp(-p.choiceBeta * (clickUtility - p.noClickUtility)));
  return pClick * scaleS * expectedCompletion(completionLogit, p.watchNoiseSigma);
}
