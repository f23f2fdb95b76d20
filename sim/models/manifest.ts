import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TrainingDistribution } from '../../core/observability/drift-monitor.ts';
import type { ScoreWeights } from '../../core/pipeline/experiments.ts';
import type { ListAwareResult } from './list-aware-score.ts';
import type { ListScores } from './offline-lists.ts';
import type { OfflineRerankConfig } from './offline-serving.ts';
import type { HeadAgreement } from './truth-heads.ts';

/**
 * Version of the artifact-building code. Bump it whenever logs, records, training, a model's
 * architecture (e.g. `EMB_DIM`) or export change meaning: a cached `manifest.json` with another
 * version is rebuilt, and a registry version published from another build under the same name is
 * refused (sim/registry/publish.ts). History: `artifacts-3` = 64-d two-tower embeddings, two-tower
 * trained on the fit slice only (the latest 15 % of the training period is validation); `artifacts-4` =
 * watch head on the watched share (served as duration × share), no dislike head, early stopping on
 * the validation loss, ranking-score weights tuned on validation lists, offline rung evaluation;
 * `artifacts-5` = the offline lists (weight tuning and the card's rungs) are re-ranked as the core
 * serves them, so the tuned weights change; ground-truth diagnostics on the card; `artifacts-6` =
 * the score's watch baseline (`watchBaseline`) tuned, lists re-ranked with rank-normalised MMR;
 * `artifacts-7` = video records carry region and engagement statistics, the ranker row has the main
 * ranker's extended columns (core/features/schema.ts `EXTENDED_FEATURE_DIM`); `artifacts-8` = user
 * records carry per-category click and watch lifts and follow shares, three more main-ranker columns;
 * the light ranker has 8 hidden units (was 32); `artifacts-9` = the main ranker's NDCG@10 floor in
 * the score tuning is 3 % above the light ranker's tuned validation NDCG@10 (was equal to it).
 */
export const ARTIFACTS_CODE_VERSION = 'artifacts-9';

/** File names inside an artifact directory. */
export const ARTIFACT_FILES = {
  userTower: 'user_tower.onnx',
  itemTower: 'item_tower.onnx',
  /** The MMoE ranker (outputs p_click, watch_time_s, p_like, p_finish). */
  ranker: 'ranker.onnx',
  /** The light ranker for the CPU fallback tier (outputs p_click, watch_time_s). */
  lightRanker: 'light_ranker.onnx',
  /** Raw little-endian Float32, `videos × embDim`, row i = video i (L2-normalised). */
  itemEmbeddings: 'item_embeddings.f32',
  /**
   * Raw little-endian Float32, `users × USER_RECORD_LEN`, row i = user i: the records as of the end
   * of the logs' history period, i.e. exactly what the models were trained on.
   */
  userRecords: 'user_records.f32',
  /** Raw little-endian Float32, `videos × VIDEO_RECORD_LEN`, row i = video i (same period). */
  videoRecords: 'video_records.f32',
  /** Raw little-endian Float32, `videos × contentDim`, row i = video i (L2-normalised; content ANN). */
  contentEmbeddings: 'content_embeddings.f32',
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
  /** Share of held-out clicks in the top 100 of content retrieval (profile = mean of history clicks). */
  contentRecall100: number;
  /**
   * Mean share of each sampled user's true top 100 (world affinity, unseen by models) that each
   * source's top 100 contains.
   */
  groundTruthRecall100TwoTower: number;
  groundTruthRecall100Content: number;
  groundTruthRecall100Popularity: number;
  /** Users sampled for the ground-truth figures. */
  groundTruthUsers: number;
  /** ROC AUC of the MMoE's p_like / p_finish on held-out clicked impressions. */
  likeAuc: number;
  finishAuc: number;
  /** Light ranker on the same impressions. */
  lightClickAuc: number;
  lightWatchTimeRmseS: number;
  /**
   * Mean NDCG@10 on held-out sessions (gain 2^g − 1, g = click + like + finish − dislike ≥ 0) of
   * re-ordering each logged list by: the MMoE's score with its tuned weights, its plain
   * p_click × watch_time_s, the light ranker's score with its tuned weights, `logViews`, and the
   * logged order.
   */
  ndcg10Mmoe: number;
  ndcg10MmoeCoreScore: number;
  ndcg10Light: number;
  ndcg10Popularity: number;
  ndcg10Logged: number;
  /** Wall time spent training all models, seconds. */
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
    /**
     * Per-epoch validation on the held-out slice (the latest 15 % of the training period): two-tower
     * recall@100 over all videos of `twoTowerClicks` clicks; click AUC of the MMoE and of the light
     * ranker on `rankerRows` impressions. What the training progress showed.
     */
    validation: {
      twoTowerClicks: number;
      rankerRows: number;
      twoTower: { name: string; value: number }[];
      ranker: { name: string; value: number }[];
      lightRanker: { name: string; value: number }[];
    };
  };
  metrics: ArtifactMetrics;
  /**
   * What each rung of the fallback ladder would serve to held-out users, judged against the world's
   * ground truth (sim/models/offline-lists.ts): mean expected watch seconds per list of `listLength`
   * and NDCG@10 against the oracle, per rung, on `users` users of the held-out period (none of them
   * among the `validationUsers` the weights were tuned on).
   */
  offlineLists: OfflineListMetrics;
  /** How the rankers were built and are to be read (see sim/models/ranker.ts). */
  ranker: {
    arch: string;
    experts: number;
    expertUnits: number;
    towerUnits: number;
    lightHiddenUnits: number;
    /** Loss weight per task in training. */
    lossWeights: Record<string, number>;
    /** Weights of `scoreFormula` for the MMoE, tuned on validation lists (core/pipeline/experiments.ts). */
    scoreWeights: ScoreWeights;
    /** The same for the light ranker (its heads: click and watch time). */
    lightScoreWeights: ScoreWeights;
    scoreFormula: string;
    /** How the weights were tuned, and their validation quality before (default weights) and after. */
    scoreTuning: {
      method: string;
      validationUsers: number;
      ndcgTolerance: number;
      /** The main ranker's floor is (1 + ndcgMargin) × the light ranker's tuned validation NDCG@10. */
      ndcgMargin: number;
      /** `ndcgFloor`: the NDCG@10 the tuned weights had to keep on validation. */
      ranker: { start: ListScores; tuned: ListScores; evaluated: number; ndcgFloor: number };
      lightRanker: { start: ListScores; tuned: ListScores; evaluated: number; ndcgFloor: number };
    };
    /** 1-based epoch whose weights were kept (early stopping on the validation loss). */
    bestEpoch: number;
    lightBestEpoch: number;
    /** Dislikes among the training rows (why there is no dislike head: ranker.ts). */
    trainingDislikes: number;
    /** The position feature: learned click-logit offset per logged position, fed `servingPosition` in the graph. */
    position: { handling: string; servingPosition: number; logitByPosition: number[] };
    /**
     * Platt map (`σ(a·z + b)`) per probability head of each model, fit on `calibrationRows` held-out
     * rows of the training period; ECE (15 bins, Guo et al. 2017) on held-out test rows at the
     * logged positions, before and after.
     */
    calibration: Record<string, { a: number; b: number; eceBefore: number; eceAfter: number }>;
    calibrationRows: number;
    lightEpochLosses: number[];
  };
  /** Content embeddings (sim/models/content-embeddings.ts). */
  content: { dim: number; method: string };
  /** Largest ONNX-vs-tfjs difference per model output (absolute up to 1, relative above). */
  parity: Record<string, number>;
  /**
   * The served features' and the ranker score's distribution in training (decile edges and
   * proportions), what the core's drift PSI compares against. Absent in builds made before it.
   */
  trainingDistribution?: TrainingDistribution;
  /** ISO 8601 build time (the only non-deterministic field). */
  createdAt: string;
}

/** Offline list quality of every rung (`ArtifactManifest.offlineLists`). */
export interface OfflineListMetrics {
  users: number;
  validationUsers: number;
  listLength: number;
  /**
   * The core's re-ranking applied to the `full`, `fullDefaultWeights`, `light_ranker` and
   * `retrieval_scores` lists (and to the lists the weights were tuned on): sim/models/offline-serving.ts.
   */
  reranking: OfflineRerankConfig;
  /** The MMoE with its tuned weights (rung `full`). */
  full: ListScores;
  /** The MMoE with the default weights (plain expected watch time), for reference. */
  fullDefaultWeights: ListScores;
  light_ranker: ListScores;
  retrieval_scores: ListScores;
  popularity: ListScores;
  editorial: ListScores;
  /** The ground-truth best list of the whole catalogue (the live report's `oracle`). */
  oracle: ListScores;
  /** Ground-truth diagnostics of the rankers on the same held-out candidates (docs/behavior-model.md). */
  diagnostics: {
    /** Per-user Spearman ρ of each ranker's click and watch heads against the truth (sim/models/truth-heads.ts). */
    headAgreement: { full: HeadAgreement; light_ranker: HeadAgreement };
    /**
     * Perfect heads (the true P(click) alone at the top and seconds per click) through the same
     * formula, with watch-baseline, click, watch-time and clickbait weights tuned the same way and held to the
     * main ranker's NDCG@10 floor: what a ranker that knew the truth would serve with this formula.
     */
    perfectHeads: { weights: ScoreWeights; lists: ListScores };
    /**
     * `full`, `light_ranker` and `perfectHeads` with the same weights in the plain order of the
     * scores, without re-ranking: the baseline of `listAwareScore`.
     */
    plainOrder: { full: ListScores; light_ranker: ListScores; perfectHeads: ListScores };
    /**
     * The textbook list-aware score (the core serves its own form, `watchBaseline`, re-ranked):
     * lists in the plain order of `odds(p_click) × (watch_time_s − θ)`
     * (no re-ranking), θ chosen on validation (sim/models/list-aware-score.ts) under each ranker's
     * NDCG@10 floor (perfect heads: the main ranker's), for each ranker and for perfect heads.
     */
    listAwareScore: { full: ListAwareResult; light_ranker: ListAwareResult; perfectHeads: ListAwareResult };
  };
}

/**
 * Reads `outDir/manifest.json` when it exists, was built by this code version from the same world
 * hash, seed and options, with the same embedding width (`want.embDim`, the building code's `EMB_DIM`), and every file it lists is present. Otherwise `undefined`: the cache directory
 * is keyed by world hash and seed only, so this check is what keeps a changed model from being
 * served from a stale cache.
 */
export function readCachedManifest(
  outDir: string,
  want: { worldHash: string; seed: number; options: ArtifactManifest['options']; embDim: number },
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
    m.embDim === want.embDim &&
    JSON.stringify(m.options) === JSON.stringify(want.options);
  if (!same) return undefined;
  for (const file of Object.values(ARTIFACT_FILES)) if (!existsSync(join(outDir, file))) return undefined;
  return m;
}
