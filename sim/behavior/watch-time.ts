import { sigmoid } from '../util/vector.ts';

/** Parameters of the watch-time model (completion is a logistic function of these terms). */
export interface WatchTimeParams {
  /** Intercept of the completion logit. */
  intercept: number;
  /** Weight of the user–video affinity. */
  affinityWeight: number;
  /** Weight of `(quality − 0.5)`. */
  qualityWeight: number;
  /** Weight of `ln(durationS / 240)` (negative: long videos are finished less often). */
  durationWeight: number;
  /** Standard deviation of the per-view noise on the logit. */
  noiseSigma: number;
}

export const DEFAULT_WATCH_TIME_PARAMS: Readonly<WatchTimeParams> = Object.freeze({
  intercept: 0,
  affinityWeight: 2,
  qualityWeight: 2,
  durationWeight: -0.5,
  noiseSigma: 0.7,
});

/**
 * Seconds watched after a click: `durationS × completion`, with completion =
 * `sigmoid(intercept + wa·affinity + wq·(quality − 0.5) + wd·ln(durationS/240) + σ·z)`, z ~ N(0,1).
 * Higher affinity and quality mean a larger share watched; long videos are watched longer in
 * seconds but a smaller share of them. Result is in `[0, durationS]`.
 */
export function watchTimeS(
  affinity: number,
  quality: number,
  durationS: number,
  z: number,
  p: Readonly<WatchTimeParams> = DEFAULT_WATCH_TIME_PARAMS,
): number {
  const logit =
    p.intercept +
    p.affinityWeight * affinity +
    p.qualityWeight * (quality - 0.5) +
    p.durationWeight * Math.log(durationS / 240) +
    p.noiseSigma * z;
  return durationS * sigmoid(logit);
}
