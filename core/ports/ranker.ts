import type { ScoreWeights } from '../pipeline/experiments.ts';

/** Per-candidate predictions of the ranking model. */
export interface Predictions {
  /** Click probability per row, length n, in [0, 1]. */
  pClick: Float32Array;
  /** Expected watch time given a click, seconds, length n, ≥ 0. */
  watchTimeS: Float32Array;
  /**
   * Optional heads of a multi-task (MMoE) ranker, each length n in [0, 1] and *given a click*:
   * P(like), P(finish), P(dislike). Absent for models without them (the light ranker, simulated
   * rankers); the ranking score counts a missing head as 0 (core/pipeline/experiments.ts).
   */
  pLike?: Float32Array;
  pFinish?: Float32Array;
  pDislike?: Float32Array;
}

/**
 * Ranker — scores a batch of candidates in one call (seed 000 §2.5: batch inference, 300 × MMoE).
 * Real adapter: ONNX Runtime session. Simulated adapter: service-time model + surrogate scores.
 */
export interface Ranker {
  readonly modelVersion: string;
  /**
   * The ranking-score weights this model's heads were tuned with on validation data (its model
   * card's `ranker.scoreWeights`, or `lightScoreWeights` for the light ranker); the ranking uses them
   * for every weight the configuration leaves unset (core/pipeline/experiments.ts). Absent: defaults.
   */
  readonly scoreWeights?: Readonly<Partial<ScoreWeights>>;
  /** `features`: `Float32Array` of length n × RANKER_INPUT_DIM. Throws on failure. */
  score(features: Float32Array, n: number): Promise<Predictions>;
}

/** UserEncoder — the user tower of the two-tower model (user features → embedding). */
export interface UserEncoder {
  readonly dim: number;
  /** `features`: `Float32Array` of USER_FEATURE_DIM; returns the L2-normalised embedding (length `dim`). */
  encode(features: Float32Array): Promise<Float32Array>;
}
