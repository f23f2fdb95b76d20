export {
  type BehaviorModel,
  type BehaviorSession,
  createBehaviorModel,
  type ListResponse,
} from './behavior-model.ts';
export { type BehaviorParams, DEFAULT_BEHAVIOR_PARAMS, resolveBehaviorParams } from './behavior-params.ts';
export { chooseMultinomialLogit } from './choice-model.ts';
export { clickProbabilities } from './click-probabilities.ts';
export { videoClickbait } from './clickbait.ts';
export { driftPreference } from './drift.ts';
export { type ExpectedResponse, expectedResponse } from './expected-response.ts';
export { type ItemTruth, itemTruth, newItemTruth } from './item-truth.ts';
export { normalCdf } from './normal.ts';
export { examinationProbability } from './position-bias.ts';
export { type ReactionProbabilities, reactionProbabilities, sampleReaction } from './reactions.ts';
export {
  bounceProbability,
  bounceWatchFactor,
  completionLogitMean,
  completionLogitOffset,
  expectedCompletion,
  finishProbability,
  sampledCompletion,
} from './watch-time.ts';
