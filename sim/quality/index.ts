export { itemGainS } from './item-gain.ts';
export {
  type CreatorConcentration,
  creatorConcentration,
  freshShare,
  intraListDiversity,
} from './list-metrics.ts';
export {
  DEFAULT_SAMPLE_CAPACITY,
  type MetricSummary,
  QUALITY_METRICS,
  QualityAggregator,
  type QualityGroupSummary,
  type QualityMetric,
  type QualityScope,
  type QualitySummary,
  type QualityTags,
} from './quality-aggregator.ts';
export {
  createQualityScorer,
  DEFAULT_FRESH_WINDOW_S,
  DEFAULT_IDEAL_CACHE_USERS,
  DEFAULT_IDEAL_POOL_SIZE,
  type ListQuality,
  NDCG_CUTOFF,
  type QualityScorer,
  type QualityScorerOptions,
  type ScoreOptions,
} from './quality-scorer.ts';
export { oracleList, type ReferenceListOptions, randomList } from './reference-lists.ts';
export { type ServedVideos, servedVideos } from './served-items.ts';
