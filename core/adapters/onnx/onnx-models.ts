import ort from 'onnxruntime-node';
import { ReclabError } from '../../errors.ts';
import { RANKER_INPUT_DIM, USER_FEATURE_DIM } from '../../features/schema.ts';
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
  readonly #session: ort.InferenceSession;

  private constructor(session: ort.InferenceSession, modelVersion: string) {
    this.#session = session;
    this.modelVersion = modelVersion;
  }

  /** @throws ReclabError RECLAB_ERR_ARTIFACT_INVALID when the file is missing or breaks the contract */
  static async load(path: string, modelVersion: string, threads: number): Promise<OnnxRanker> {
    return new OnnxRanker(
      await open(path, threads, ['features'], [...RANKER_REQUIRED_OUTPUTS]),
      modelVersion,
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
 * The user tower of the two-tower model (Yi et al. 2019) in ONNX Runtime. Model contract: input
 * `user_features` float32 [batch, USER_FEATURE_DIM]; output `user_embedding` float32 [batch, dim],
 * L2-normalised inside the graph.
 */
export class OnnxUserEncoder implements UserEncoder {
  readonly dim: number;
  readonly #session: ort.InferenceSession;

  private constructor(session: ort.InferenceSession, dim: number) {
    this.#session = session;
    this.dim = dim;
  }

  /** @throws ReclabError RECLAB_ERR_ARTIFACT_INVALID when the file is missing or breaks the contract */
  static async load(path: string, dim: number, threads: number): Promise<OnnxUserEncoder> {
    return new OnnxUserEncoder(await open(path, threads, ['user_features'], ['user_embedding']), dim);
  }

  async encode(features: Float32Array): Promise<Float32Array> {
    const out = await this.#session.run({
      user_features: new ort.Tensor('float32', features, [1, USER_FEATURE_DIM]),
    });
    return out.user_embedding.data as Float32Array;
  }

  async release(): Promise<void> {
    await this.#session.release();
  }
}
