import { sigmoid } from '../util/vector.ts';
import type { BehaviorParams } from './behavior-params.ts';
import { normalCdf } from './normal.ts';

/**
 * Watch time after a click, in the spirit of Covington et al., "Deep Neural Networks for YouTube
 * Recommendations" (RecSys 2016), where watch time — not the click — is the objective. The share of
 * the video watched ("completion") is logistic in affinity, quality and duration, plus per-view
 * noise; a click on clickbait may bounce:
 *
 *   m = watchIntercept + watchAffinityWeight·affinity + watchQualityWeight·(quality − 0.5)
 *       + watchDurationWeight·ln(durationS / watchDurationRefS)
 *   bounced with probability b = min(1, bounceClickbaitWeight · clickbait)
 *   completion = sigmoid(m + watchNoiseSigma·z) × (bounced ? bounceCompletionFactor : 1),  z ~ N(0, 1)
 *   watched seconds = durationS × completion;  finished ⇔ completion ≥ finishCompletion
 *
 * Long videos are watched longer in seconds but a smaller share of them. The bounce is a mixture,
 * so an impression's expected watch time scales by exactly `1 − b·(1 − bounceCompletionFactor)`
 * whatever the affinity; with `choiceBeta × choiceClickbaitWeight ≤ bounceClickbaitWeight ×
 * (1 − bounceCompletionFactor)` (0.75 ≤ 0.81 by default) clickbait therefore never raises the
 * expected watch time of an impression, while it always raises clicks (docs/behavior-model.md).
 * The short, unsatisfying click is the "short dwell" of click-satisfaction models (Kim et al.,
 * "Modeling dwell time to predict click-level satisfaction", WSDM 2014). The affinity here is the
 * world's, without the clickbait click boost.
 */

/** Mean `m` of the completion logit for one (user, video) pair; see the module comment. */
export function completionLogitMean(
  p: Readonly<BehaviorParams>,
  affinity: number,
  quality: number,
  durationS: number,
): number {
  return completionLogitOffset(p, quality, durationS) + p.watchAffinityWeight * affinity;
}

/**
 * The part of the completion logit that does not depend on the user: `m − watchAffinityWeight ·
 * affinity`. Precomputed per video by the quality scorer; `completionLogitMean` adds the affinity
 * term in the same order, so both give bit-identical results.
 */
export function completionLogitOffset(
  p: Readonly<BehaviorParams>,
  quality: number,
  durationS: number,
): number {
  return (
    p.watchIntercept +
    p.watchQualityWeight * (quality - 0.5) +
    p.watchDurationWeight * Math.log(durationS / p.watchDurationRefS)
  );
}

/** P(a click bounces) = `min(1, bounceClickbaitWeight × clickbait)`. */
export function bounceProbability(p: Readonly<BehaviorParams>, clickbait: number): number {
  return Math.min(1, p.bounceClickbaitWeight * clickbait);
}

/** Expected share of the unbounced watch time that a click keeps: `1 − b·(1 − bounceCompletionFactor)`. */
export function bounceWatchFactor(p: Readonly<BehaviorParams>, clickbait: number): number {
  return 1 - bounceProbability(p, clickbait) * (1 - p.bounceCompletionFactor);
}

/** Share watched for one view: `sigmoid(m + σ·z)`, times `bounceCompletionFactor` when bounced. `z` ~ N(0, 1). */
export function sampledCompletion(
  p: Readonly<BehaviorParams>,
  logitMean: number,
  z: number,
  bounced = false,
): number {
  const c = sigmoid(logitMean + p.watchNoiseSigma * z);
  return bounced ? c * p.bounceCompletionFactor : c;
}

/**
 * `E[sigmoid(m + σz)]`, z ~ N(0, 1): the expected share watched after a click, from a table per σ
 * (built once, about 7 ms: trapezoid rule over z ∈ [−9, 9], step 0.05; then linear interpolation in
 * m with step 1/32 over [−30, 30]; error below 1e-5). Outside [−30, 30] the value is clamped.
 */
export function expectedCompletion(logitMean: number, sigma: number): number {
  if (sigma === 0) return sigmoid(logitMean);
  const t = sigma === last.sigma ? last.table : completionTable(sigma);
  const x = (logitMean + TABLE_M_MAX) * TABLE_STEPS_PER_UNIT;
  if (!(x > 0)) return t[0];
  if (x >= t.length - 1) return t[t.length - 1];
  const i = Math.floor(x);
  return t[i] + (t[i + 1] - t[i]) * (x - i);
}

/**
 * P(finished | click) = `(1 − b)·Φ((m − logit(f)) / σ) + b·Φ((m − logit(f / κ)) / σ)`, with f =
 * `finishCompletion`, κ = `bounceCompletionFactor`, b the bounce probability; a term is 0 when its
 * threshold is out of reach (f = 1, or f ≥ κ for a bounced view).
 */
export function finishProbability(p: Readonly<BehaviorParams>, logitMean: number, clickbait = 0): number {
  const b = bounceProbability(p, clickbait);
  const full = reachProbability(p, logitMean, p.finishCompletion);
  if (b === 0) return full;
  const bounced =
    p.bounceCompletionFactor > 0
      ? reachProbability(p, logitMean, p.finishCompletion / p.bounceCompletionFactor)
      : 0;
  return (1 - b) * full + b * bounced;
}

/** P(sigmoid(m + σz) ≥ share). */
function reachProbability(p: Readonly<BehaviorParams>, logitMean: number, share: number): number {
  if (share >= 1) return 0;
  const threshold = Math.log(share / (1 - share));
  if (p.watchNoiseSigma === 0) return logitMean >= threshold ? 1 : 0;
  return normalCdf((logitMean - threshold) / p.watchNoiseSigma);
}

const TABLE_M_MAX = 30;
const TABLE_STEPS_PER_UNIT = 32;
const tables = new Map<number, Float64Array>();
/** The table used last: skips the map lookup in hot loops (σ rarely changes within a run). */
const last: { sigma: number; table: Float64Array } = { sigma: Number.NaN, table: new Float64Array(0) };

function completionTable(sigma: number): Float64Array {
  const cached = tables.get(sigma);
  if (cached) {
    last.sigma = sigma;
    last.table = cached;
    return cached;
  }
  const zStep = 0.05;
  const nz = Math.round(18 / zStep) + 1;
  const zs = new Float64Array(nz);
  const ws = new Float64Array(nz);
  let wTotal = 0;
  for (let j = 0; j < nz; j++) {
    zs[j] = -9 + j * zStep;
    ws[j] = Math.exp(-0.5 * zs[j] * zs[j]);
    wTotal += ws[j];
  }
  const n = 2 * TABLE_M_MAX * TABLE_STEPS_PER_UNIT + 1;
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const m = -TABLE_M_MAX + i / TABLE_STEPS_PER_UNIT;
    let s = 0;
    for (let j = 0; j < nz; j++) s += ws[j] / (1 + Math.exp(-(m + sigma * zs[j])));
    t[i] = s / wTotal;
  }
  if (tables.size >= 16) tables.clear(); // params rarely vary within a process; bound it anyway
  tables.set(sigma, t);
  last.sigma = sigma;
  last.table = t;
  return t;
}
