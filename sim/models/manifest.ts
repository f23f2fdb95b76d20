import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Version of the artifact-building code. Bump it whenever logs, records, training or export change
 * meaning: a cached `manifest.json` with another version is rebuilt.
 */
export const ARTIFACTS_CODE_VERSION = 'artifacts-1';

/** File names inside an artifact directory. */
export const ARTIFACT_FILES = {
  userTower: 'user_tower.onnx',
  itemTower: 'item_tower.onnx',
  ranker: 'ranker.onnx',
  /** Raw little-endian Float32, `videos × embDim`, row i = video i (L2-normalised). */
  itemEmbeddings: 'item_embeddings.f32',
  /**
   * Raw little-endian Float32, `users × USER_RECORD_LEN`, row i = user i: the records as of the end
   * of the logs' history period, i.e. exactly what the models were trained on.
   */
  userRecords: 'user_records.f32',
  /** Raw little-endian Float32, `videos × VIDEO_RECORD_LEN`, row i = video i (same period). */
  videoRecords: 'video_records.f32',
  manifest: 'manifest.json',
} as const;

/** Offline quality of the models on the held-out period of the logs. */
export interface ArtifactMetrics {
  /** Share of held-out clicks whose video is in the user's two-tower top 100 (of all videos). */
  twoTowerRecall100: number;
  /** Same with the global top 100 by `logViews` (the popularity baseline). */
  popularityRecall100: number;
  /** ROC AUC of the ranker's `p_click` on held-out impressions. */
  clickAuc: number;
  /** ROC AUC of `logViews` on the same impressions (the popularity baseline). */
  popularityClickAuc: number;
  /** RMSE of `watch_time_s` on held-out clicked impressions, seconds. */
  watchTimeRmseS: number;
  /** RMSE of predicting the mean training watch time for every click, seconds (baseline). */
  baselineWatchTimeRmseS: number;
  /** Wall time spent training both models, seconds. */
  trainSeconds: number;
  /** Wall time of the whole build (logs, training, evaluation, export, parity), seconds. */
  buildSeconds: number;
  /** Held-out clicks and impressions the figures above were computed on. */
  evalClicks: number;
  evalImpressions: number;
}

export interface ArtifactManifest {
  codeVersion: string;
  /** `m-<seed>-<first 12 hex of worldHash>`. */
  modelVersion: string;
  worldHash: string;
  seed: number;
  world: { users: number; videos: number; nowS: number };
  /** Width of the embeddings (two-tower output). */
  embDim: number;
  featureDims: { user: number; video: number; ranker: number; userRecord: number; videoRecord: number };
  /** The build options (after defaults); part of the cache key. */
  options: { sessions: number; epochs: number; maxTwoTowerPairs: number; maxRankerSessions: number };
  files: typeof ARTIFACT_FILES;
  logs: {
    sessions: number;
    impressions: number;
    clicks: number;
    historySessions: number;
    trainSessions: number;
  };
  training: {
    twoTowerPairs: number;
    rankerRows: number;
    twoTowerEpochLosses: number[];
    rankerEpochLosses: number[];
  };
  metrics: ArtifactMetrics;
  /** Largest ONNX-vs-tfjs difference per model output (absolute up to 1, relative above). */
  parity: Record<string, number>;
  /** ISO 8601 build time (the only non-deterministic field). */
  createdAt: string;
}

/**
 * Reads `outDir/manifest.json` when it exists, was built by this code version from the same world
 * hash, seed and options, and every file it lists is present. Otherwise `undefined`.
 */
export function readCachedManifest(
  outDir: string,
  want: { worldHash: string; seed: number; options: ArtifactManifest['options'] },
): ArtifactManifest | undefined {
  const path = join(outDir, ARTIFACT_FILES.manifest);
  if (!existsSync(path)) return undefined;
  let m: ArtifactManifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as ArtifactManifest;
  } catch {
    return undefined;
  }
  const same =
    m.codeVersion === ARTIFACTS_CODE_VERSION &&
    m.worldHash === want.worldHash &&
    m.seed === want.seed &&
    JSON.stringify(m.options) === JSON.stringify(want.options);
  if (!same) return undefined;
  for (const file of Object.values(ARTIFACT_FILES)) if (!existsSync(join(outDir, file))) return undefined;
  return m;
}
