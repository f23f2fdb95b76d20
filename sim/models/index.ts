export {
  type BuildArtifactsOptions,
  type BuildProgress,
  type BuildStage,
  buildArtifacts,
  defaultSessions,
  PARITY_TOLERANCE,
} from './build-artifacts.ts';
export {
  expectedCalibrationError,
  fitPlatt,
  IDENTITY_PLATT,
  type Platt,
} from './calibration.ts';
export { CONTENT_DIM, contentEmbeddings, contentProfiles } from './content-embeddings.ts';
export {
  clickedAuc,
  embeddingRecall,
  groundTruthRecall,
  impressionGain,
  ndcgAt,
  rankerQuality,
  retrievalRecall,
} from './evaluate.ts';
export {
  LIST_AWARE_THETAS_S,
  type ListAwareResult,
  listAwareScore,
  tuneListAware,
} from './list-aware-score.ts';
export {
  ARTIFACT_FILES,
  ARTIFACTS_CODE_VERSION,
  type ArtifactManifest,
  type ArtifactMetrics,
  readCachedManifest,
} from './manifest.ts';
export { rankOf, rmse, rocAuc, spearman } from './metrics.ts';
export {
  ListJudge,
  type ListScores,
  mergeOrderList,
  type OfflineCandidates,
  offlineCandidates,
  rankedList,
  rungOrderViolations,
  sampleUsers,
} from './offline-lists.ts';
export {
  OFFLINE_RERANK,
  type OfflineRerankConfig,
  type OfflineServing,
  servedList,
} from './offline-serving.ts';
export { exportRankerOnnx, exportTowerOnnx, ONNX_NAMES, RANKER_OUTPUT_NAMES } from './onnx-export.ts';
export { BATCH_DIM, ONNX_IR_VERSION, ONNX_OPSET } from './onnx-graph.ts';
export { onnxParity } from './onnx-parity.ts';
export {
  combinedScore,
  DEFAULT_LOSS_WEIGHTS,
  disposeRanker,
  LIGHT_RANKER_TASKS,
  MAX_POSITIONS,
  PROBABILITY_TASKS,
  type ProbabilityTask,
  positionLogits,
  predictRanker,
  RANKER_TASKS,
  type Ranker,
  type RankerData,
  type RankerOptions,
  type RankerPredictions,
  type RankerTask,
  rankerLogits,
  rankerLoss,
  SERVING_POSITION,
  trainRanker,
} from './ranker.ts';
export { PRIOR_VIEWS_PER_USER, userRecords, videoRecords } from './records.ts';
export { judgeScores, judgeWeights, SCORE_WEIGHT_GRID, tuneScoreWeights } from './score-weights.ts';
export {
  historySlice,
  type ImpressionLog,
  type LogOptions,
  type LogSlice,
  simulateLogs,
  testSlice,
  trainSlice,
} from './simulate-logs.ts';
export type { TrainProgress } from './train-progress.ts';
export { type HeadAgreement, headAgreement, type TruthHeads, truthHeads } from './truth-heads.ts';
export {
  EMB_DIM,
  embed,
  type TwoTower,
  type TwoTowerData,
  type TwoTowerOptions,
  trainTwoTower,
} from './two-tower.ts';
