import { SimError } from '../sim-error.ts';

/**
 * Every parameter of the simulated user, in one flat, JSON-serialisable object. Weights are signed
 * and added: a logit is `intercept + Σ weight × term`. Utilities are on the affinity scale of
 * `sim/world/affinity.ts` (about [−1.4, 1.4]). docs/behavior-model.md gives the default, meaning and
 * source of each one.
 */
export interface BehaviorParams {
  /** Inverse temperature β of the multinomial-logit choice (sharper choices when larger). */
  choiceBeta: number;
  /** Utility a₀ of not clicking (RecSim's no-click option), on the affinity scale. */
  noClickUtility: number;
  /** Weight of the video's clickbait score (in [0, 1]) in its click utility. */
  choiceClickbaitWeight: number;
  /** η in the examination probability `(1 / log2(rank + 2))^η`; 0 turns position bias off. */
  examinationExponent: number;

  /** Intercept of the completion logit (share of the video watched after a click). */
  watchIntercept: number;
  /** Weight of the affinity in the completion logit. */
  watchAffinityWeight: number;
  /** Weight of `(quality − 0.5)` in the completion logit. */
  watchQualityWeight: number;
  /** Weight of `ln(durationS / watchDurationRefS)` in the completion logit (negative: long videos are finished less). */
  watchDurationWeight: number;
  /** Reference duration of the duration term, seconds. */
  watchDurationRefS: number;
  /** Standard deviation of the per-view normal noise on the completion logit. */
  watchNoiseSigma: number;
  /** A view counts as finished when the watched share is at least this (0.95 = 95 % of the duration). */
  finishCompletion: number;
  /**
   * Clickbait bounce: a click on a video with clickbait score cb bounces (the content is not what the
   * thumbnail promised) with probability `min(1, bounceClickbaitWeight × cb)`.
   */
  bounceClickbaitWeight: number;
  /** A bounced view watches this share of what it would have watched otherwise. */
  bounceCompletionFactor: number;

  /** Like logit: intercept (reaction is a 3-way logit: like / dislike / neither, given a click). */
  likeIntercept: number;
  /** Like logit: weight of the affinity. */
  likeAffinityWeight: number;
  /** Like logit: weight of `(quality − 0.5)`. */
  likeQualityWeight: number;
  /** Like logit: weight of the clickbait score. */
  likeClickbaitWeight: number;
  /** Dislike logit: intercept. */
  dislikeIntercept: number;
  /** Dislike logit: weight of the affinity. */
  dislikeAffinityWeight: number;
  /** Dislike logit: weight of `(quality − 0.5)`. */
  dislikeQualityWeight: number;
  /** Dislike logit: weight of the clickbait score. */
  dislikeClickbaitWeight: number;

  /**
   * Interest drift within a session: after watching share `c` of video v, the preference vector
   * becomes `normalise((1 − driftStep·c)·pref + driftStep·c·latent_v)`. 0 turns drift off.
   */
  driftStep: number;
}

/** Defaults; docs/behavior-model.md explains each value and where it comes from. */
export const DEFAULT_BEHAVIOR_PARAMS: Readonly<BehaviorParams> = Object.freeze({
  choiceBeta: 5,
  noClickUtility: 0.65,
  choiceClickbaitWeight: 0.15,
  examinationExponent: 1,

  watchIntercept: 0,
  watchAffinityWeight: 2,
  watchQualityWeight: 2,
  watchDurationWeight: -0.5,
  watchDurationRefS: 240,
  watchNoiseSigma: 0.7,
  finishCompletion: 0.95,
  bounceClickbaitWeight: 0.9,
  bounceCompletionFactor: 0.1,

  likeIntercept: -4,
  likeAffinityWeight: 2,
  likeQualityWeight: 1.5,
  likeClickbaitWeight: -1.5,
  dislikeIntercept: -5,
  dislikeAffinityWeight: -1.5,
  dislikeQualityWeight: -1.5,
  dislikeClickbaitWeight: 2.5,

  driftStep: 0.1,
});

/**
 * Fills defaults, validates and freezes. `overrides` may come from a scenario file, so every value
 * is checked: finite numbers everywhere; `choiceBeta > 0`; `examinationExponent ≥ 0`;
 * `watchDurationRefS > 0`; `watchNoiseSigma ≥ 0`; `finishCompletion` in (0, 1];
 * `bounceClickbaitWeight ≥ 0`; `bounceCompletionFactor` and `driftStep` in [0, 1].
 *
 * @throws SimError `RECLAB_ERR_BEHAVIOR_INPUT_INVALID` listing every bad or unknown key at once.
 */
export function resolveBehaviorParams(overrides: Partial<BehaviorParams> = {}): Readonly<BehaviorParams> {
  if (RESOLVED.has(overrides)) return overrides as Readonly<BehaviorParams>;
  if (Object.keys(overrides).length === 0) return DEFAULT_BEHAVIOR_PARAMS;
  const p: BehaviorParams = { ...DEFAULT_BEHAVIOR_PARAMS, ...overrides };
  const problems: string[] = [];
  for (const key of Object.keys(overrides)) {
    if (!(key in DEFAULT_BEHAVIOR_PARAMS)) problems.push(`unknown parameter ${key}`);
  }
  for (const [key, value] of Object.entries(p)) {
    if (typeof value !== 'number' || !Number.isFinite(value))
      problems.push(`${key}=${value} (want a number)`);
  }
  const ranges: [keyof BehaviorParams, boolean][] = [
    ['choiceBeta', p.choiceBeta > 0],
    ['examinationExponent', p.examinationExponent >= 0],
    ['watchDurationRefS', p.watchDurationRefS > 0],
    ['watchNoiseSigma', p.watchNoiseSigma >= 0],
    ['finishCompletion', p.finishCompletion > 0 && p.finishCompletion <= 1],
    ['bounceClickbaitWeight', p.bounceClickbaitWeight >= 0],
    ['bounceCompletionFactor', p.bounceCompletionFactor >= 0 && p.bounceCompletionFactor <= 1],
    ['driftStep', p.driftStep >= 0 && p.driftStep <= 1],
  ];
  for (const [key, ok] of ranges) if (!ok) problems.push(`${key}=${p[key]} (out of range)`);
  if (problems.length > 0) throw new SimError('RECLAB_ERR_BEHAVIOR_INPUT_INVALID', problems.join('; '));
  const resolved = Object.freeze(p);
  RESOLVED.add(resolved);
  return resolved;
}

/** Objects returned by `resolveBehaviorParams`: resolving one again is free (callers may pass either). */
const RESOLVED = new WeakSet<object>();
RESOLVED.add(DEFAULT_BEHAVIOR_PARAMS);
