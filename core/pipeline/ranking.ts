import { type ErrorCode, errorCode, ReclabError } from '../errors.ts';
import { RANKER_INPUT_DIM, rankerRowDurationS } from '../features/schema.ts';
import type { Clock } from '../ports/clock.ts';
import type { Predictions, Ranker } from '../ports/ranker.ts';
import type { CircuitBreaker } from '../resilience/circuit-breaker.ts';
import type { FaultInjector } from '../resilience/fault-injection.ts';
import { guarded } from '../resilience/guard.ts';
import { type RankingWeights, resolveScoreWeights, type ScoreWeights } from './experiments.ts';

/** The rankers of one model set: the main (MMoE) tier and the in-process light ranker. */
export interface RankerTiers {
  /** The main ranker: a separate tier (core/ranker-tier/) or an in-process session. */
  main: Ranker;
  /** The light ranker (small MLP, in process): fallback tier and cascade pre-scorer. */
  light?: Ranker;
}

export interface RankingOptions {
  /** Deadline of each ranker call, ms. */
  deadlineMs: number;
  /** Cascade (seed 000 Q5): light-rank all, keep the top N for the main ranker; 0 = off. */
  cascadeTopN: number;
  /** The configured weights; unset ones come from the scoring ranker's `scoreWeights`. */
  weights: RankingWeights;
  /**
   * Admission browned the request out (core/resilience/brownout.ts): the main ranker is not asked
   * (failure `ranking` RECLAB_ERR_OVERLOADED) and the light ranker scores every row, no cascade.
   */
  skipMain?: boolean;
}

/** How the candidates were scored. */
export type RankedBy = 'main' | 'light' | 'retrieval';

export interface RankingOutcome {
  /** Indices into the input rows that go on to re-ranking, in input order (all of them without cascade). */
  kept: number[];
  /** Score per kept row (same order as `kept`), ≥ 0. */
  scores: Float64Array;
  /** Which tier produced `scores`; `retrieval` = merge order, no ranker answered. */
  by: RankedBy;
  /** Rows the main ranker scored (0 if it did not answer). */
  mainRows: number;
  /**
   * The click and watch-time heads behind `scores`, per kept row (same order); absent when no
   * ranker answered. Re-ranking reads its clickbait estimate from them (`clickbaitEstimate`).
   */
  heads?: { pClick: Float32Array; watchTimeS: Float32Array };
  /** Why a tier was skipped or failed, with the stage name (`ranking`, `light_ranking`). */
  failures: { stage: string; code: ErrorCode }[];
}

/**
 * Rejects a ranker output with NaN/Inf or the wrong length (seed 000 §6: "Model produces NaN/Inf").
 * @throws ReclabError RECLAB_ERR_RANKER_INVALID_OUTPUT
 */
export function validatePredictions(p: Predictions, n: number): Predictions {
  if (p.pClick.length !== n || p.watchTimeS.length !== n) {
    throw new ReclabError('RECLAB_ERR_RANKER_INVALID_OUTPUT', `${p.pClick.length} rows for ${n} candidates`);
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(p.pClick[i]) || !Number.isFinite(p.watchTimeS[i])) {
      throw new ReclabError('RECLAB_ERR_RANKER_INVALID_OUTPUT', `non-finite prediction at row ${i}`);
    }
  }
  if (!finiteHead(p.pLike, n) || !finiteHead(p.pFinish, n) || !finiteHead(p.pDislike, n)) {
    throw new ReclabError('RECLAB_ERR_RANKER_INVALID_OUTPUT', 'non-finite or short satisfaction head');
  }
  return p;
}

/** True when the optional head is absent, or has `n` values, all finite (a plain loop: 300 rows × 3 heads a request). */
function finiteHead(head: ArrayLike<number> | undefined, n: number): boolean {
  if (!head) return true;
  if (head.length !== n) return false;
  for (let i = 0; i < n; i++) if (!Number.isFinite(head[i])) return false;
  return true;
}

/**
 * One combined score per row from the task heads (formula: `ScoreWeights`,
 * core/pipeline/experiments.ts). Returns a `Float64Array` of length n, each ≥ 0: with a watch
 * baseline some rows score below 0, and then every score is shifted up by the lowest one (order and
 * differences kept, the lowest row at 0). Non-finite scores (an overflowing exponent) become the
 * lowest score.
 * @param durationS seconds per row, for the clickbait term (its factor is 1 without durations)
 */
export function combineScores(
  p: Predictions,
  n: number,
  w: Readonly<ScoreWeights>,
  durationS?: ArrayLike<number>,
): Float64Array {
  const out = new Float64Array(n);
  const baseline = Math.max(0, w.watchBaseline) ** w.watchTime;
  let lowest = 0;
  for (let i = 0; i < n; i++) {
    const pClick = Math.max(0, p.pClick[i]);
    const watchS = Math.max(0, p.watchTimeS[i]);
    const satisfaction =
      1 +
      w.like * (p.pLike?.[i] ?? 0) +
      w.finish * (p.pFinish?.[i] ?? 0) -
      w.dislike * (p.pDislike?.[i] ?? 0);
    const clickbait = w.clickbait !== 0 && durationS ? clickbaitEstimate(pClick, watchS, durationS[i]) : 0;
    // x ** 1 is x, bit for bit (checked over 2·10^7 random doubles and the special values): the
    // tuned weights' exponents are usually 1, and a power costs tens of ns, 600 a request.
    const value =
      (w.watchTime === 1 ? watchS : watchS ** w.watchTime) *
      Math.max(0, satisfaction) *
      Math.max(0, 1 - w.clickbait * clickbait);
    const score = (w.click === 1 ? pClick : pClick ** w.click) * (value - baseline);
    out[i] = Number.isFinite(score) ? score : Number.NaN;
    if (out[i] < lowest) lowest = out[i];
  }
  for (let i = 0; i < n; i++) out[i] = Number.isNaN(out[i]) ? 0 : out[i] - lowest;
  return out;
}

/** Durations (seconds) of `n` ranker rows, from their duration feature (`rankerRowDurationS`). */
function rowDurations(input: Float32Array, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = rankerRowDurationS(input, i);
  return out;
}

/**
 * Clickbait estimate of one candidate from the ranker's own heads, in [0, 1]: seed 001's "clickbait
 * (high CTR, low watch time)" as P(click) × (1 − expected completion), where expected completion =
 * min(1, E[watch_s | click] / duration_s). High when many are expected to click and few to stay.
 * 0 for an unknown duration.
 */
export function clickbaitEstimate(pClick: number, watchTimeS: number, durationS: number): number {
  if (!(durationS > 0)) return 0;
  const completion = Math.min(1, Math.max(0, watchTimeS / durationS));
  return Math.min(1, Math.max(0, pClick)) * (1 - completion);
}

/** Rows `idx` of each head. */
function pickHeads(
  p: Predictions,
  idx: readonly number[],
): { pClick: Float32Array; watchTimeS: Float32Array } {
  return {
    pClick: Float32Array.from(idx, (i) => p.pClick[i]),
    watchTimeS: Float32Array.from(idx, (i) => p.watchTimeS[i]),
  };
}

/** Copies rows `idx` of a row-major n × RANKER_INPUT_DIM matrix. */
function selectRows(input: Float32Array, idx: readonly number[]): Float32Array {
  const out = new Float32Array(idx.length * RANKER_INPUT_DIM);
  idx.forEach((r, j) => {
    out.set(input.subarray(r * RANKER_INPUT_DIM, (r + 1) * RANKER_INPUT_DIM), j * RANKER_INPUT_DIM);
  });
  return out;
}

/** Indices of the `k` highest scores, returned in ascending index order (the merge order). */
function topKIndices(scores: Float64Array, k: number): number[] {
  const idx = Array.from(scores.keys());
  idx.sort((a, b) => scores[b] - scores[a] || a - b);
  return idx.slice(0, k).sort((a, b) => a - b);
}

/**
 * Stage 6 of the pipeline (seed 000 §2.5, §6, Q5): scores `n` candidate rows with the ranker tiers,
 * stepping down instead of failing —
 * - main ranker (batched, one call) → `by: 'main'`;
 * - main failed, late or NaN/Inf → light ranker on the same rows → `by: 'light'` (rung `light_ranker`);
 * - both failed → merge order → `by: 'retrieval'` (rung `retrieval_scores`).
 * With `cascadeTopN` > 0 and more rows than that, the light ranker scores all rows first and only
 * its top N go to the main ranker (and on to re-ranking); a failed light ranker then means the main
 * ranker scores all rows (no rung change: the page is as good, only dearer).
 * With `skipMain` (a brownout) the light ranker scores every row without asking the main one.
 * Each call runs under `opts.deadlineMs` and its tier's breaker. Never throws.
 * @param input row-major `Float32Array` of n × RANKER_INPUT_DIM (core/features/schema.ts)
 */
export async function rankCandidates(
  clock: Clock,
  tiers: RankerTiers,
  breakers: { main: CircuitBreaker; light: CircuitBreaker },
  input: Float32Array,
  n: number,
  opts: RankingOptions,
  faults?: FaultInjector,
): Promise<RankingOutcome> {
  const failures: RankingOutcome['failures'] = [];
  const call = (ranker: Ranker, breaker: CircuitBreaker, rows: Float32Array, m: number) =>
    guarded(
      clock,
      breaker,
      opts.deadlineMs,
      { timeout: 'RECLAB_ERR_RANKER_TIMEOUT', unavailable: 'RECLAB_ERR_RANKER_UNAVAILABLE' },
      async () => validatePredictions(await ranker.score(rows, m), m),
      faults,
    );
  const all: number[] = [];
  for (let i = 0; i < n; i++) all.push(i);
  let kept = all;
  let keptInput = input;
  let lightScores: Float64Array | undefined;
  let lightHeads: RankingOutcome['heads'];

  if (opts.skipMain) {
    failures.push({ stage: 'ranking', code: 'RECLAB_ERR_OVERLOADED' });
  } else {
    if (opts.cascadeTopN > 0 && n > opts.cascadeTopN && tiers.light) {
      try {
        const lightPreds = await call(tiers.light, breakers.light, input, n);
        const light = combineScores(
          lightPreds,
          n,
          resolveScoreWeights(opts.weights, tiers.light.scoreWeights),
          rowDurations(input, n),
        );
        kept = topKIndices(light, opts.cascadeTopN);
        keptInput = selectRows(input, kept);
        lightScores = Float64Array.from(kept, (i) => light[i]);
        lightHeads = pickHeads(lightPreds, kept);
      } catch (err) {
        failures.push({ stage: 'light_ranking', code: errorCode(err, 'RECLAB_ERR_RANKER_UNAVAILABLE') });
      }
    }

    try {
      const preds = await call(tiers.main, breakers.main, keptInput, kept.length);
      return {
        kept,
        scores: combineScores(
          preds,
          kept.length,
          resolveScoreWeights(opts.weights, tiers.main.scoreWeights),
          rowDurations(keptInput, kept.length),
        ),
        by: 'main',
        mainRows: kept.length,
        heads: { pClick: preds.pClick, watchTimeS: preds.watchTimeS },
        failures,
      };
    } catch (err) {
      failures.push({ stage: 'ranking', code: errorCode(err, 'RECLAB_ERR_RANKER_UNAVAILABLE') });
    }
  }

  if (lightScores)
    return { kept, scores: lightScores, by: 'light', mainRows: 0, heads: lightHeads, failures };
  if (tiers.light && failures.every((f) => f.stage !== 'light_ranking')) {
    try {
      const preds = await call(tiers.light, breakers.light, input, n);
      return {
        kept: all,
        scores: combineScores(
          preds,
          n,
          resolveScoreWeights(opts.weights, tiers.light.scoreWeights),
          rowDurations(input, n),
        ),
        by: 'light',
        mainRows: 0,
        heads: { pClick: preds.pClick, watchTimeS: preds.watchTimeS },
        failures,
      };
    } catch (err) {
      failures.push({ stage: 'light_ranking', code: errorCode(err, 'RECLAB_ERR_RANKER_UNAVAILABLE') });
    }
  } else if (!tiers.light) {
    failures.push({ stage: 'light_ranking', code: 'RECLAB_ERR_RANKER_UNAVAILABLE' });
  }
  // Merge order interleaves each source's best first: that order is the retrieval-score ranking.
  const scores = Float64Array.from(all, (i) => 1 - i / n);
  return { kept: all, scores, by: 'retrieval', mainRows: 0, failures };
}
