import { type BehaviorParams, resolveBehaviorParams } from '../behavior/behavior-params.ts';
import { videoClickbait } from '../behavior/clickbait.ts';
import { itemTruth, newItemTruth } from '../behavior/item-truth.ts';
import { expectedCompletion } from '../behavior/watch-time.ts';
import type { World } from '../world/world.ts';
import { spearman } from './metrics.ts';
import type { OfflineCandidates } from './offline-lists.ts';

/**
 * The ground truth a ranker's click and watch heads estimate, per offline candidate, from the
 * world's behaviour model (docs/behavior-model.md) — for the model card only: how well each ranker's
 * heads order a user's candidates, and what perfect heads would serve under the same score formula.
 * No model ever trains on these.
 */

/** True heads per candidate (the layout of `OfflineCandidates.videos`), `Float32Array` each. */
export interface TruthHeads {
  /**
   * P(click) if the video were shown alone at the top of a list: `sigmoid(β(clickUtility − a₀))`
   * (the choice model with only the no-click option competing) — a monotone function of the
   * video's attractiveness `exp(β(clickUtility − a₀))`, which is what competes in a list.
   */
  pClick: Float32Array;
  /** Expected seconds watched given a click: duration × bounce factor × E[completion]. */
  watchTimeS: Float32Array;
}

/** The true heads of every candidate of `c` under behaviour parameters `params` (default: the world's defaults). */
export function truthHeads(
  world: World,
  c: OfflineCandidates,
  params: Readonly<BehaviorParams> = resolveBehaviorParams(),
): TruthHeads {
  const n = c.videos.length;
  const pClick = new Float32Array(n);
  const watchTimeS = new Float32Array(n);
  const clickbait = videoClickbait(world);
  const t = newItemTruth();
  for (let i = 0; i < c.users.length; i++) {
    for (let j = c.offsets[i]; j < c.offsets[i + 1]; j++) {
      itemTruth(world, params, c.users[i], c.videos[j], clickbait, undefined, t);
      pClick[j] = 1 / (1 + Math.exp(-params.choiceBeta * (t.clickUtility - params.noClickUtility)));
      watchTimeS[j] =
        t.durationS * t.watchFactor * expectedCompletion(t.completionLogit, params.watchNoiseSigma);
    }
  }
  return { pClick, watchTimeS };
}

/** How well a ranker's heads order each user's candidates: mean over users of Spearman's ρ. */
export interface HeadAgreement {
  /** ρ(p_click, true P(click)) within a user's candidates, averaged over users. */
  clickSpearman: number;
  /** ρ(watch_time_s, true seconds per click), same. */
  watchSpearman: number;
}

/**
 * Mean per-user Spearman correlation of predicted heads `p` and the truth `t` over the candidates of
 * `c` (users whose correlation is undefined — fewer than two candidates, a constant head — are skipped).
 */
export function headAgreement(
  c: OfflineCandidates,
  p: Pick<TruthHeads, 'pClick' | 'watchTimeS'>,
  t: TruthHeads,
): HeadAgreement {
  const mean = (pred: Float32Array, truth: Float32Array) => {
    let sum = 0;
    let n = 0;
    for (let i = 0; i < c.users.length; i++) {
      const r = spearman(
        pred.subarray(c.offsets[i], c.offsets[i + 1]),
        truth.subarray(c.offsets[i], c.offsets[i + 1]),
      );
      if (Number.isFinite(r)) {
        sum += r;
        n++;
      }
    }
    return n > 0 ? sum / n : Number.NaN;
  };
  return { clickSpearman: mean(p.pClick, t.pClick), watchSpearman: mean(p.watchTimeS, t.watchTimeS) };
}
