import type { ModelInputSchema } from './input-schema.ts';

/** File name of the model card inside a registry version directory. */
export const MODEL_CARD_FILE = 'model-card.json';
/** Format of `model-card.json`; bump when a field changes meaning. */
export const MODEL_CARD_FORMAT_VERSION = 1;

/**
 * What a registry version is (seed 000 §7: every deployed model traceable to its data and code):
 * `<registryDir>/<modelVersion>/model-card.json`, written by `reclab models train` next to the
 * ONNX files, embeddings and editorial list it describes.
 */
export interface ModelCard {
  formatVersion: number;
  /** The registry version name (= the directory name; served as `meta.model_version`). */
  modelVersion: string;
  /** ISO 8601 time the version was published. */
  createdAt: string;
  /** Code that built it: artifact-code version, package version, git commit (or `unknown`). */
  codeVersion: { artifacts: string; package: string; gitCommit: string };
  /** The training data: the world's seed and hash and size, and the build options. */
  training: {
    seed: number;
    worldHash: string;
    world: { users: number; videos: number; nowS: number };
    /** The artifact manifest's `modelVersion` (`m-<seed>-<hash12>`) the files came from. */
    manifestModelVersion: string;
    options: Record<string, number>;
    logs: Record<string, number>;
  };
  /**
   * Offline metrics, copied from the manifest (recall@100, AUC, RMSE in seconds, …): numbers, or
   * objects of numbers for per-source breakdowns.
   */
  metrics: Record<string, unknown>;
  /**
   * How the rankers' heads combine into the ranking score (core/pipeline/experiments.ts): the
   * weights tuned on validation data for the main ranker and the light ranker, the formula, and the
   * tuning's validation figures. The core uses these weights for every weight its configuration
   * leaves unset. Absent in cards of builds made before the weights were tuned.
   */
  ranking?: {
    scoreFormula: string;
    scoreWeights: Record<string, number>;
    lightScoreWeights: Record<string, number>;
    tuning: Record<string, unknown>;
  };
  /** Input columns of the towers and the ranker, by name and order. */
  inputSchema: ModelInputSchema;
  /** Every file of the version with its size (bytes) and SHA-256 (hex). */
  files: Record<string, { sizeBytes: number; sha256: string }>;
}

/** Returns the card when `value` has the fields the core relies on, else `undefined`. */
export function parseModelCard(value: unknown): ModelCard | undefined {
  const c = value as Partial<ModelCard> | null;
  if (!c || typeof c !== 'object') return undefined;
  if (typeof c.modelVersion !== 'string' || typeof c.createdAt !== 'string') return undefined;
  if (!c.metrics || typeof c.metrics !== 'object' || !c.training || typeof c.training !== 'object') {
    return undefined;
  }
  return c as ModelCard;
}
