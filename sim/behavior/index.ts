export {
  type BehaviorModel,
  type BehaviorParams,
  createBehaviorModel,
  DEFAULT_BEHAVIOR_PARAMS,
  type ListResponse,
} from './behavior-model.ts';
export { chooseMultinomialLogit } from './choice-model.ts';
export { examinationProbability } from './position-bias.ts';
export { DEFAULT_WATCH_TIME_PARAMS, type WatchTimeParams, watchTimeS } from './watch-time.ts';
