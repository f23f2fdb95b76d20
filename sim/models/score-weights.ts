import { DEFAULT_SCORE_WEIGHTS, type ScoreWeights } from '../../core/pipeline/experiments.ts';
import { type ListJudge, type ListScores, type OfflineCandidates, rankedList } from './offline-lists.ts';
import { type OfflineServing, servedList } from './offline-serving.ts';
import { combinedScore, type RankerPredictions } from './ranker.ts';

/**
 * Tuning the task weights of the ranking score on validation data (seed 000 §7's "weighted
 * combination", chosen on held-out data rather than by hand): coordinate ascent over a grid per
 * weight, maximising the ground-truth objective — the expected watch time of the served list — with
 * NDCG@10 against the oracle as a guard. The lists are the pages the core would serve
 * (`OfflineServing`: its re-ranking applied to the scores), since re-ranking reacts to the score's
 * shape as well as its order (sim/models/offline-serving.ts).
 */

/** Values tried for each weight (exponents for click and watch time; factors for the others). */
export const SCORE_WEIGHT_GRID: Readonly<Record<keyof ScoreWeights, readonly number[]>> = {
  click: [0, 0.25, 0.5, 0.75, 1, 1.5],
  watchTime: [0.5, 1, 1.5, 2, 3, 4],
  like: [0, 0.5, 1, 2, 4],
  finish: [-0.5, -0.25, 0, 0.5, 1],
  dislike: [0, 1, 2, 4],
  clickbait: [0, 0.25, 0.5, 0.75, 1],
  watchBaseline: [0, 150, 300, 450, 600, 900],
};

/**
 * The order coordinate ascent visits the weights in: the watch baseline first, since it changes
 * which way the click exponent pulls (with θ = 0 a sharper click head favours click-stealers).
 */
export const SCORE_WEIGHT_TUNING_ORDER: readonly (keyof ScoreWeights)[] = [
  'watchBaseline',
  'click',
  'watchTime',
  'clickbait',
  'like',
  'finish',
  'dislike',
];

export interface TuneOptions {
  /** Weights tuned; the others stay at `start`. Default: those of the heads the predictions have. */
  names?: readonly (keyof ScoreWeights)[];
  /** Starting point; default `DEFAULT_SCORE_WEIGHTS` (the plain expected watch time). */
  start?: Readonly<ScoreWeights>;
  /**
   * The guard: a candidate is feasible when its NDCG@10 ≥ the start's × (1 − ndcgTolerance).
   * Default 0.02 (at most 2 % below the expected-watch-time ranking's NDCG).
   */
  ndcgTolerance?: number;
  /** An absolute NDCG@10 floor instead of the one `ndcgTolerance` derives from the start. */
  ndcgFloor?: number;
  /** Passes over all weights; default 2. */
  rounds?: number;
  /** Length of the judged lists (the live scenarios ask for 30); default 30. */
  listLength?: number;
  /** How lists are made from the scores; default the plain order of the scores (no re-ranking). */
  serving?: OfflineServing;
}

export interface TuneResult {
  weights: ScoreWeights;
  /** Validation quality of the start and of the tuned weights. */
  start: ListScores;
  tuned: ListScores;
  /** Weight settings judged. */
  evaluated: number;
}

/**
 * The quality of the lists made from `c`'s candidates by `combinedScore(p, c.x, w)`, `length` items
 * each: served through `serving` (the core's re-ranking), or in the plain order of the scores.
 */
export function judgeWeights(
  judge: ListJudge,
  c: OfflineCandidates,
  p: RankerPredictions,
  w: Readonly<ScoreWeights>,
  length: number,
  serving?: OfflineServing,
): ListScores {
  return judgeScores(judge, c, p, combinedScore(p, c.x, w), length, serving);
}

/** `judgeWeights` for any score per candidate (`p` gives the heads re-ranking reads). */
export function judgeScores(
  judge: ListJudge,
  c: OfflineCandidates,
  p: Pick<RankerPredictions, 'pClick' | 'watchTimeS'>,
  score: ArrayLike<number>,
  length: number,
  serving?: OfflineServing,
): ListScores {
  const rerank = serving?.rerank;
  if (!serving || !rerank) return judge.judge(c.users, (i) => rankedList(c, i, score, length));
  return judge.judge(c.users, (i) =>
    servedList(c, i, score, p.pClick, p.watchTimeS, length, rerank, serving.seed),
  );
}

/**
 * Tunes the score weights of one ranker's predictions `p` on the validation candidates `c`:
 * coordinate ascent (each weight over `SCORE_WEIGHT_GRID` with the others fixed, `rounds` passes),
 * keeping a change only when it raises the mean expected watch time per list and keeps NDCG@10
 * within the guard. Deterministic: the grid order and the strict "raises" break ties.
 */
export function tuneScoreWeights(
  judge: ListJudge,
  c: OfflineCandidates,
  p: RankerPredictions,
  opts: TuneOptions = {},
): TuneResult {
  const length = opts.listLength ?? 30;
  const tolerance = opts.ndcgTolerance ?? 0.02;
  const names =
    opts.names ??
    SCORE_WEIGHT_TUNING_ORDER.filter(
      (n) => (n !== 'like' || p.pLike) && (n !== 'finish' || p.pFinish) && (n !== 'dislike' || p.pDislike),
    );
  const startWeights = { ...(opts.start ?? DEFAULT_SCORE_WEIGHTS) };
  const start = judgeWeights(judge, c, p, startWeights, length, opts.serving);
  const floor = opts.ndcgFloor ?? start.ndcgAt10 * (1 - tolerance);
  let best = { weights: startWeights, scores: start };
  let evaluated = 1;
  for (let round = 0; round < (opts.rounds ?? 2); round++) {
    let changed = false;
    for (const name of names) {
      for (const value of SCORE_WEIGHT_GRID[name]) {
        if (value === best.weights[name]) continue;
        const weights = { ...best.weights, [name]: value };
        const scores = judgeWeights(judge, c, p, weights, length, opts.serving);
        evaluated++;
        if (scores.ndcgAt10 >= floor && scores.expectedWatchTimeS > best.scores.expectedWatchTimeS) {
          best = { weights, scores };
          changed = true;
        }
      }
    }
    if (!changed) break;
  }
  return { weights: best.weights, start, tuned: best.scores, evaluated };
}
