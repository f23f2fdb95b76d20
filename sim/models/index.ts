export {
  type BuildArtifactsOptions,
  type BuildProgress,
  type BuildStage,
  buildArtifacts,
  defaultSessions,
  PARITY_TOLERANCE,
} from './build-artifacts.ts';
export {
  ARTIFACT_FILES,
  ARTIFACTS_CODE_VERSION,
  type ArtifactManifest,
  type ArtifactMetrics,
  readCachedManifest,
} from './manifest.ts';
export { rankOf, rmse, rocAuc } from './metrics.ts';
export { exportRankerOnnx, exportTowerOnnx, ONNX_NAMES } from './onnx-export.ts';
export { BATCH_DIM, ONNX_IR_VERSION, ONNX_OPSET } from './onnx-graph.ts';
export { onnxParity } from './onnx-parity.ts';
export { predictRanker, type Ranker, type RankerData, type RankerOptions, trainRanker } from './ranker.ts';
export { PRIOR_VIEWS_PER_USER, userRecords, videoRecords } from './records.ts';
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
export {
  EMB_DIM,
  embed,
  type TwoTower,
  type TwoTowerData,
  type TwoTowerOptions,
  trainTwoTower,
} from './two-tower.ts';
