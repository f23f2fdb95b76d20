import type { World } from '../world/world.ts';
import type { BehaviorParams } from './behavior-params.ts';
import { clickProbabilities } from './click-probabilities.ts';
import { videoClickbait } from './clickbait.ts';
import { checkUser, checkVideos } from './input-checks.ts';
import { itemTruth, newItemTruth } from './item-truth.ts';
import { examinationProbability } from './position-bias.ts';
import { type ReactionProbabilities, reactionProbabilities } from './reactions.ts';
import { expectedCompletion, finishProbability } from './watch-time.ts';

/**
 * What the behaviour model's response to one list is worth on average — the exact expectation of
 * `BehaviorModel.respond` over all its random draws (examination, choice, watch noise, reaction),
 * computed analytically, not sampled.
 */
export interface ExpectedResponse {
  /** P(click on position i): `Float64Array(list length)`; the entries sum to at most 1. */
  readonly clickProbability: Float64Array;
  /** Expected clicks on the list (= P(any click): at most one click per list, RecSim's single choice). */
  readonly expectedClicks: number;
  /** Expected seconds watched: Σᵢ P(click i) × durationᵢ × bounce factorᵢ × E[unbounced completionᵢ]. */
  readonly expectedWatchTimeS: number;
  /** Expected likes: Σᵢ P(click i) × P(like | click i). */
  readonly expectedLikes: number;
  /** Expected dislikes: Σᵢ P(click i) × P(dislike | click i). */
  readonly expectedDislikes: number;
  /** Expected finished views (watched ≥ `finishCompletion`): Σᵢ P(click i) × P(finish | click i). */
  readonly expectedFinishes: number;
}

/**
 * The exact expected response of user `u` to `ranked` (video indices, best first): examination
 * `(1/log2(rank+2))^η`, multinomial-logit choice with a no-click option (`clickProbabilities`), then
 * the expected watch time (with the clickbait bounce), like, dislike and finish of the clicked item.
 * Cost ≈ 15–20 µs for 10 items.
 *
 * @param p resolved parameters (`resolveBehaviorParams`)
 * @param preferenceDelta drifted preference − base latent (`latentDim` wide), or undefined
 * @throws SimError `RECLAB_ERR_BEHAVIOR_INPUT_INVALID` for an unknown user or video index
 */
export function expectedResponse(
  world: World,
  p: Readonly<BehaviorParams>,
  u: number,
  ranked: ArrayLike<number>,
  preferenceDelta?: Float64Array,
): ExpectedResponse {
  checkUser(world, u);
  checkVideos(world, ranked);
  const n = ranked.length;
  const clickbait = videoClickbait(world);
  const utilities = new Float64Array(n);
  const examination = new Float64Array(n);
  const watchIfClickedS = new Float64Array(n);
  const like = new Float64Array(n);
  const dislike = new Float64Array(n);
  const finish = new Float64Array(n);
  const truth = newItemTruth();
  const reaction: ReactionProbabilities = { like: 0, dislike: 0 };
  for (let i = 0; i < n; i++) {
    itemTruth(world, p, u, ranked[i], clickbait, preferenceDelta, truth);
    utilities[i] = truth.clickUtility;
    examination[i] = examinationProbability(i, p.examinationExponent);
    watchIfClickedS[i] =
      truth.durationS * truth.watchFactor * expectedCompletion(truth.completionLogit, p.watchNoiseSigma);
    reactionProbabilities(p, truth.affinity, truth.quality, truth.clickbait, reaction);
    like[i] = reaction.like;
    dislike[i] = reaction.dislike;
    finish[i] = finishProbability(p, truth.completionLogit, truth.clickbait);
  }
  const clickProbability = clickProbabilities(
    utilities,
    examination,
    p.choiceBeta,
    p.noClickUtility,
    new Float64Array(n),
  );
  let expectedClicks = 0;
  let expectedWatchTimeS = 0;
  let expectedLikes = 0;
  let expectedDislikes = 0;
  let expectedFinishes = 0;
  for (let i = 0; i < n; i++) {
    const c = clickProbability[i];
    expectedClicks += c;
    expectedWatchTimeS += c * watchIfClickedS[i];
    expectedLikes += c * like[i];
    expectedDislikes += c * dislike[i];
    expectedFinishes += c * finish[i];
  }
  return {
    clickProbability,
    expectedClicks,
    expectedWatchTimeS,
    expectedLikes,
    expectedDislikes,
    expectedFinishes,
  };
}
