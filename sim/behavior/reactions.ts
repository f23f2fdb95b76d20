import type { BehaviorParams } from './behavior-params.ts';

/**
 * Like and dislike after a click, as one 3-way multinomial logit over {like, dislike, neither}
 * (the same choice form RecSim uses for clicks; "neither" has logit 0), so the two are mutually
 * exclusive and their probabilities always sum to at most 1:
 *
 *   l = likeIntercept + likeAffinityWeight·affinity + likeQualityWeight·(quality − 0.5) + likeClickbaitWeight·clickbait
 *   d = dislikeIntercept + dislikeAffinityWeight·affinity + dislikeQualityWeight·(quality − 0.5) + dislikeClickbaitWeight·clickbait
 *   P(like) = eˡ / (1 + eˡ + eᵈ),  P(dislike) = eᵈ / (1 + eˡ + eᵈ)
 *
 * The reaction does not depend on the watch-time noise, so its expectation is closed-form.
 */
export interface ReactionProbabilities {
  /** P(like | click), in [0, 1). */
  like: number;
  /** P(dislike | click), in [0, 1). */
  dislike: number;
}

/** The reaction probabilities of one click; `out` is filled and returned (no allocation when given). */
export function reactionProbabilities(
  p: Readonly<BehaviorParams>,
  affinity: number,
  quality: number,
  clickbait: number,
  out: ReactionProbabilities = { like: 0, dislike: 0 },
): ReactionProbabilities {
  const q = quality - 0.5;
  const l =
    p.likeIntercept +
    p.likeAffinityWeight * affinity +
    p.likeQualityWeight * q +
    p.likeClickbaitWeight * clickbait;
  const d =
    p.dislikeIntercept +
    p.dislikeAffinityWeight * affinity +
    p.dislikeQualityWeight * q +
    p.dislikeClickbaitWeight * clickbait;
  // Shift by the largest logit (including "neither" = 0) so exp never overflows.
  const max = Math.max(0, l, d);
  const el = Math.exp(l - max);
  const ed = Math.exp(d - max);
  const total = Math.exp(-max) + el + ed;
  out.like = el / total;
  out.dislike = ed / total;
  return out;
}

/** Samples a reaction from a uniform draw: 1 like, −1 dislike, 0 neither. */
export function sampleReaction(r: ReactionProbabilities, u01: number): 1 | -1 | 0 {
  if (u01 < r.like) return 1;
  if (u01 < r.like + r.dislike) return -1;
  return 0;
}
