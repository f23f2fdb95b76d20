import type { ListJudge, ListScores, OfflineCandidates } from './offline-lists.ts';
import type { OfflineServing } from './offline-serving.ts';
import type { RankerPredictions } from './ranker.ts';
import { judgeScores } from './score-weights.ts';

/**
 * A diagnostic for the model card: the per-item score the list objective asks for under the
 * behaviour model's single-choice multinomial logit, in its textbook form (odds, plain order). The
 * core serves its own form of it: the `watchBaseline` θ of `ScoreWeights` (core/pipeline/
 * experiments.ts), tuned with the other weights on re-ranked pages.
 *
 * With attractiveness `xᵢ` and seconds per click `Wᵢ`, a list is worth about
 * `V = Σ xᵢWᵢ / (1 + Σ xᵢ)` (examination aside). Adding item k changes it by
 * `x_k (W_k − V) / (1 + Σ xᵢ + x_k)`: an attractive item whose watch time is below what the list
 * already earns *lowers* it, by taking the one click from a better item. The right order is by
 * `x (W − θ)` with θ about the list's value — the revenue-ordered assortments of choice-based
 * revenue management (Talluri & van Ryzin, "Revenue management under a general discrete choice model
 * of consumer behavior", Management Science 50(1), 2004). Without θ the core's formula
 * (`p_click^a · watch^b · …`) rises with `p_click` for every item, so a sharper click head also
 * promotes the items that steal clicks: with it, better heads can give worse lists
 * (docs/behavior-model.md).
 *
 * Here `x` is the odds of the ranker's `p_click` and θ is one value per ranker chosen on the
 * validation users; the score is shifted to be ≥ 0, as the core's scores are.
 */

/** θ values tried, seconds. */
export const LIST_AWARE_THETAS_S: readonly number[] = [0, 150, 300, 450, 600, 900, 1200];

/** `odds(p_click) × (watch_time_s − θ)` per candidate, shifted by its minimum to be ≥ 0. */
export function listAwareScore(
  p: Pick<RankerPredictions, 'pClick' | 'watchTimeS'>,
  thetaS: number,
): Float64Array {
  const n = p.pClick.length;
  const out = new Float64Array(n);
  let lo = 0;
  for (let i = 0; i < n; i++) {
    const q = Math.min(1 - 1e-6, Math.max(0, p.pClick[i]));
    out[i] = (q / (1 - q)) * (p.watchTimeS[i] - thetaS);
    if (out[i] < lo) lo = out[i];
  }
  for (let i = 0; i < n; i++) out[i] -= lo;
  return out;
}

/** The θ chosen on validation and the held-out quality of the lists it makes. */
export interface ListAwareResult {
  thetaS: number;
  validation: ListScores;
  heldOut: ListScores;
}

/**
 * Picks θ from `LIST_AWARE_THETAS_S` on the validation candidates: the highest expected watch time
 * per list among the θ whose NDCG@10 is at least `ndcgFloor`, θ = 0 (the plain odds × watch) always
 * admitted; then judges the held-out candidates with it. Lists are made as `serving` says.
 */
export function tuneListAware(
  judge: ListJudge,
  val: { c: OfflineCandidates; p: Pick<RankerPredictions, 'pClick' | 'watchTimeS'> },
  test: { c: OfflineCandidates; p: Pick<RankerPredictions, 'pClick' | 'watchTimeS'> },
  ndcgFloor: number,
  length: number,
  serving?: OfflineServing,
): ListAwareResult {
  let best: { thetaS: number; scores: ListScores } | undefined;
  for (const thetaS of LIST_AWARE_THETAS_S) {
    const scores = judgeScores(judge, val.c, val.p, listAwareScore(val.p, thetaS), length, serving);
    const feasible = scores.ndcgAt10 >= ndcgFloor || thetaS === 0;
    if (feasible && (!best || scores.expectedWatchTimeS > best.scores.expectedWatchTimeS)) {
      best = { thetaS, scores };
    }
  }
  const chosen = best!;
  return {
    thetaS: chosen.thetaS,
    validation: chosen.scores,
    heldOut: judgeScores(judge, test.c, test.p, listAwareScore(test.p, chosen.thetaS), length, serving),
  };
}
