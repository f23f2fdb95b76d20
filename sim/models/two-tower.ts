import { USER_FEATURE_DIM, VIDEO_FEATURE_DIM } from '../../core/features/schema.ts';
import type { RandomStream } from '../../core/ports/random.ts';
import { seededRandom } from '../../core/random/seeded-random.ts';
import { seededDense, tf } from './tf-runtime.ts';
import { type TrainProgress, TrainReporter, type ValMetric } from './train-progress.ts';

/** Width of the two-tower embeddings (the FAISS index dimension). */
export const EMB_DIM = 64;

/** User tower (USER_FEATURE_DIM → hidden → EMB_DIM) and item tower (VIDEO_FEATURE_DIM → hidden → EMB_DIM). */
export interface TwoTower {
  readonly userTower: tf.Sequential;
  readonly itemTower: tf.Sequential;
}

/**
 * Positive (user, clicked video) pairs. Rows are aligned: pair i is row i of `userX` and `videoX`.
 */
export interface TwoTowerData {
  readonly pairs: number;
  /** `userModelInput` rows: `Float32Array(pairs × USER_FEATURE_DIM)`. */
  readonly userX: Float32Array;
  /** `videoModelInput` rows: `Float32Array(pairs × VIDEO_FEATURE_DIM)`. */
  readonly videoX: Float32Array;
  /** Video index per pair (duplicate masking in the batch): `Uint32Array(pairs)`. */
  readonly video: Uint32Array;
  /** ln of the video's share of all positive pairs (sampling-bias correction): `Float32Array(pairs)`. */
  readonly logQ: Float32Array;
}

export interface TwoTowerOptions {
  seed: number;
  /** Passes over the pairs; default 3. */
  epochs?: number;
  /** In-batch softmax size; default 256. */
  batchSize?: number;
  /** Adam learning rate; default 0.01. */
  learningRate?: number;
  /** Softmax temperature on the cosine similarity; default 0.05. */
  temperature?: number;
  /** Hidden units of each tower; default 64. */
  hiddenUnits?: number;
  /**
   * Held-out metric computed at each epoch's end (e.g. recall@100 of held-out clicks; build-artifacts
   * passes one), reported in the progress events and returned per epoch. Keep it cheap: it runs
   * `epochs` times.
   */
  validate?: (model: TwoTower) => ValMetric | Promise<ValMetric>;
  onProgress?: (e: TrainProgress) => void;
}

/**
 * Trains the two towers with a sampled softmax over in-batch negatives: for a batch of B positive
 * pairs, the logits are `cos(uᵢ, vⱼ)/τ − ln qⱼ` and the loss is the cross-entropy of the diagonal.
 * The `− ln qⱼ` term is the logQ sampling-bias correction (popular items are over-represented as
 * in-batch negatives); other copies of the positive video in the batch are masked out.
 * Outputs are L2-normalised, so an inner-product index (FAISS) ranks by cosine.
 *
 * Source: Covington et al., "Deep Neural Networks for YouTube Recommendations", RecSys 2016;
 * Yi et al., "Sampling-Bias-Corrected Neural Modeling for Large Corpus Item Recommendations",
 * RecSys 2019.
 *
 * @returns the towers, the mean training loss of each epoch and, with `validate`, the held-out
 *   metric after each epoch
 */
export async function trainTwoTower(
  data: TwoTowerData,
  opts: TwoTowerOptions,
): Promise<{ model: TwoTower; epochLosses: number[]; epochVal: ValMetric[] }> {
  const epochs = opts.epochs ?? 3;
  const batchSize = Math.min(opts.batchSize ?? 256, data.pairs);
  const invTau = 1 / (opts.temperature ?? 0.05);
  const hidden = opts.hiddenUnits ?? 64;
  const random = seededRandom(opts.seed);
  const init = random.stream('train.two-tower.init');
  const shuffleRng = random.stream('train.two-tower.shuffle');

  const userTower = tf.sequential({
    layers: [
      seededDense(hidden, init.int(2 ** 31), 'relu', USER_FEATURE_DIM),
      seededDense(EMB_DIM, init.int(2 ** 31), 'linear'),
    ],
  });
  const itemTower = tf.sequential({
    layers: [
      seededDense(hidden, init.int(2 ** 31), 'relu', VIDEO_FEATURE_DIM),
      seededDense(EMB_DIM, init.int(2 ** 31), 'linear'),
    ],
  });
  const optimizer = tf.train.adam(opts.learningRate ?? 0.01);
  const order = Uint32Array.from({ length: data.pairs }, (_, i) => i);
  const steps = Math.floor(data.pairs / batchSize);
  const epochLosses: number[] = [];
  const epochVal: ValMetric[] = [];
  const model: TwoTower = { userTower, itemTower };
  const reporter = new TrainReporter('two-tower', epochs, steps, opts.onProgress);
  const validate = opts.validate;

  for (let epoch = 1; epoch <= epochs; epoch++) {
    shuffle(order, shuffleRng);
    let lossSum = 0;
    for (let step = 0; step < steps; step++) {
      const rows = order.subarray(step * batchSize, (step + 1) * batchSize);
      const xu = tf.tensor2d(gatherRows(data.userX, USER_FEATURE_DIM, rows), [batchSize, USER_FEATURE_DIM]);
      const xv = tf.tensor2d(gatherRows(data.videoX, VIDEO_FEATURE_DIM, rows), [
        batchSize,
        VIDEO_FEATURE_DIM,
      ]);
      const logQ = new Float32Array(batchSize);
      for (let i = 0; i < batchSize; i++) logQ[i] = data.logQ[rows[i]];
      const logQRow = tf.tensor2d(logQ, [1, batchSize]);
      const logQCol = tf.tensor2d(logQ, [batchSize, 1]);
      const mask = tf.tensor2d(duplicateMask(data.video, rows), [batchSize, batchSize]);
      const loss = optimizer.minimize(() => {
        const eu = l2Normalize(userTower.apply(xu) as tf.Tensor2D);
        const ev = l2Normalize(itemTower.apply(xv) as tf.Tensor2D);
        const logits = tf.matMul(eu, ev, false, true).mul(invTau).sub(logQRow).add(mask);
        const positive = eu.mul(ev).sum(1, true).mul(invTau).sub(logQCol);
        return tf.logSumExp(logits, 1, true).sub(positive).mean() as tf.Scalar;
      }, true);
      lossSum += loss!.dataSync()[0];
      tf.dispose([xu, xv, logQRow, logQCol, mask, loss!]);
      await reporter.step(epoch, step, lossSum);
    }
    epochLosses.push(lossSum / Math.max(1, steps));
    const val = await reporter.epochEnd(epoch, lossSum, validate && (() => validate(model)));
    if (val) epochVal.push(val);
  }
  optimizer.dispose();
  return { model, epochLosses, epochVal };
}

/** `x / sqrt(max(Σx², 1e-12))` per row — the same formula the ONNX graph uses. */
export function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  return x.div(x.square().sum(1, true).maximum(1e-12).sqrt());
}

/**
 * Runs a tower on `rows` input rows and returns L2-normalised embeddings:
 * `Float32Array(rows × EMB_DIM)`. Processes `batchRows` rows per call to bound memory.
 */
export function embed(tower: tf.Sequential, x: Float32Array, inDim: number, batchRows = 4096): Float32Array {
  const rows = x.length / inDim;
  const out = new Float32Array(rows * EMB_DIM);
  for (let start = 0; start < rows; start += batchRows) {
    const n = Math.min(batchRows, rows - start);
    const values = tf.tidy(() => {
      const input = tf.tensor2d(x.subarray(start * inDim, (start + n) * inDim), [n, inDim]);
      return l2Normalize(tower.apply(input) as tf.Tensor2D).dataSync() as Float32Array;
    });
    out.set(values, start * EMB_DIM);
  }
  return out;
}

/** Fisher–Yates shuffle in place. */
export function shuffle(a: Uint32Array, rng: RandomStream): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

/** Copies the given rows of a row-major matrix into a new `Float32Array(rows.length × dim)`. */
export function gatherRows(m: Float32Array, dim: number, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * dim);
  for (let i = 0; i < rows.length; i++) out.set(m.subarray(rows[i] * dim, (rows[i] + 1) * dim), i * dim);
  return out;
}

/** −1e9 where column j holds the same video as row i (j ≠ i): a copy of the positive is not a negative. */
function duplicateMask(video: Uint32Array, rows: Uint32Array): Float32Array {
  const b = rows.length;
  const mask = new Float32Array(b * b);
  const first = new Map<number, number[]>();
  for (let i = 0; i < b; i++) {
    const v = video[rows[i]];
    const list = first.get(v);
    if (list) list.push(i);
    else first.set(v, [i]);
  }
  for (const list of first.values()) {
    if (list.length < 2) continue;
    for (const i of list) for (const j of list) if (i !== j) mask[i * b + j] = -1e9;
  }
  return mask;
}
