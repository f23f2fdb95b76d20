import ort from 'onnxruntime-node';
import { ReclabError } from '../../errors.ts';
import { RANKER_INPUT_DIM, USER_FEATURE_DIM, VIDEO_FEATURE_DIM } from '../../features/schema.ts';
import type { ScoreWeights } from '../../pipeline/experiments.ts';
import type { Predictions, Ranker, UserEncoder } from '../../ports/ranker.ts';

/** Session options shared by both models: CPU, `threads` intra-op threads, no inter-op pool. */
function sessionOptions(threads: number): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
}

async function open(
  path: string,
  threads: number,
  inputs: string[],
  outputs: string[],
): Promise<ort.InferenceSession> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path, sessionOptions(threads));
  } catch (err) {
    throw new ReclabError(
      'RECLAB_ERR_ARTIFACT_INVALID',
      `cannot load ONNX model ${path}: ${(err as Error).message}`,
    );
  }
  for (const name of inputs) {
    if (!session.inputNames.includes(name))
      throw new ReclabError('RECLAB_ERR_ARTIFACT_INVALID', `${path}: no input '${name}'`);
  }
  for (const name of outputs) {
    if (!session.outputNames.includes(name))
      throw new ReclabError('RECLAB_ERR_ARTIFACT_INVALID', `${path}: no output '${name}'`);
  }
  return session;
}

/** Outputs every ranker model must have (`ranker.onnx`, `light_ranker.onnx`). */
export const RANKER_REQUIRED_OUTPUTS = ['p_click', 'watch_time_s'] as const;
/** Outputs a multi-task ranker may add; read when present. */
export const RANKER_OPTIONAL_OUTPUTS = {
  p_like: 'pLike',
  p_finish: 'pFinish',
  p_dislike: 'pDislike',
} as const;

/**
 * A ranking model in ONNX Runtime (seed 000 §2.5: one batched inference for all candidates).
 * Model contract: input `features` float32 [batch, RANKER_INPUT_DIM]; outputs `p_click` (calibrated
 * click probability) and `watch_time_s` (seconds given a click), float32 [batch, 1]. Optional outputs
 * `p_like`, `p_finish`, `p_dislike` [batch, 1] (the MMoE `ranker.onnx`) are returned as
 * `Predictions.pLike` / `pFinish` / `pDislike` when the model has them.
 *
 * Both artifact rankers satisfy this contract, so either loads with the same call:
 * `OnnxRanker.load(join(dir, 'ranker.onnx'), …)` (MMoE) or `OnnxRanker.load(join(dir,
 * 'light_ranker.onnx'), …)` (the light CPU-fallback ranker).
 */
export class OnnxRanker implements Ranker {
  readonly modelVersion: string;
  readonly scoreWeights?: Readonly<Partial<ScoreWeights>>;
  readonly #session: ort.InferenceSession;

  private constructor(
    session: ort.InferenceSession,
    modelVersion: string,
    scoreWeights: Readonly<Partial<ScoreWeights>> | undefined,
  ) {
    this.#session = session;
    this.modelVersion = modelVersion;
    if (scoreWeights) this.scoreWeights = scoreWeights;
  }

  /**
   * @param scoreWeights the ranking-score weights tuned for this model (its card's), if any
   * @throws ReclabError RECLAB_ERR_ARTIFACT_INVALID when the file is missing or breaks the contract
   */
  static async load(
    path: string,
    modelVersion: string,
    threads: number,
    scoreWeights?: Readonly<Partial<ScoreWeights>>,
  ): Promise<OnnxRanker> {
    return new OnnxRanker(
      await open(path, threads, ['features'], [...RANKER_REQUIRED_OUTPUTS]),
      modelVersion,
      scoreWeights,
    );
  }

  /** Names of the model's outputs (the required two, plus any optional heads). */
  get outputNames(): readonly string[] {
    return this.#session.outputNames;
  }

  async score(features: Float32Array, n: number): Promise<Predictions> {
    const out = await this.#session.run({
      features: new ort.Tensor('float32', features, [n, RANKER_INPUT_DIM]),
    });
    const predictions: Predictions = {
      pClick: out.p_click.data as Float32Array,
      watchTimeS: out.watch_time_s.data as Float32Array,
    };
    for (const [name, key] of Object.entries(RANKER_OPTIONAL_OUTPUTS)) {
      const t = out[name];
      if (t) predictions[key] = t.data as Float32Array;
    }
    return predictions;
  }

  async release(): Promise<void> {
    await this.#session.release();
  }
}

/**
 * One tower of the two-tower model (Yi et al. 2019) in ONNX Runtime: features → L2-normalised
 * embedding (normalised inside the graph). Model contracts:
 * - user tower: input `user_features` float32 [batch, USER_FEATURE_DIM] → `user_embedding` [batch, dim];
 * - item tower: input `video_features` float32 [batch, VIDEO_FEATURE_DIM] → `item_embedding` [batch, dim]
 *   (embeds fresh uploads for the fresh-uploads index, seed 000 §7).
 */
export class OnnxTower implements UserEncoder {
  readonly dim: number;
  readonly #session: ort.InferenceSession;
  readonly #names: { input: string; output: string };
  readonly #inDim: number;

  private constructor(
    session: ort.InferenceSession,
    names: { input: string; output: string },
    inDim: number,
    dim: number,
  ) {
    this.#session = session;
    this.#names = names;
    this.#inDim = inDim;
    this.dim = dim;
  }

  /** @throws ReclabError RECLAB_ERR_ARTIFACT_INVALID when the file is missing or breaks the contract */
  static async load(
    path: string,
    names: { input: string; output: string },
    inDim: number,
    dim: number,
    threads: number,
  ): Promise<OnnxTower> {
    return new OnnxTower(await open(path, threads, [names.input], [names.output]), names, inDim, dim);
  }

  /** One row: `features` of length inDim → embedding of length `dim`. */
  encode(features: Float32Array): Promise<Float32Array> {
    return this.encodeBatch(features, 1);
  }

  /** `n` rows: `features` of length n × inDim → `Float32Array` of length n × dim. */
  async encodeBatch(features: Float32Array, n: number): Promise<Float32Array> {
    const out = await this.#session.run({
      [this.#names.input]: new ort.Tensor('float32', features, [n, this.#inDim]),
    });
    return out[this.#names.output].data as Float32Array;
  }

  async release(): Promise<void> {
    await this.#session.release();
  }
}

/** The user tower (see OnnxTower). */
export type OnnxUserEncoder = OnnxTower;
export const OnnxUserEncoder = {
  load: (path: string, dim: number, threads: number): Promise<OnnxTower> =>
    OnnxTower.load(
      path,
      { input: 'user_features', output: 'user_embedding' },
      USER_FEATURE_DIM,
      dim,
      threads,
    ),
};

/** The item tower (see OnnxTower). */
export const OnnxItemEncoder = {
  load: (path: string, dim: number, threads: number): Promise<OnnxTower> =>
    OnnxTower.load(
      path,
      { input: 'video_features', output: 'item_embedding' },
      VIDEO_FEATURE_DIM,
      dim,
      threads,
    ),
};
