import { RANKER_INPUT_DIM } from '../../core/features/schema.ts';
import { seededRandom } from '../../core/random/seeded-random.ts';
import { seededDense, tf, yieldToEventLoop } from './tf-runtime.ts';
import type { TrainProgress } from './train-progress.ts';
import { gatherRows, shuffle } from './two-tower.ts';

/**
 * Multi-task ranker: a shared trunk (RANKER_INPUT_DIM → 64 → 32, ReLU) and two heads.
 * - click head: one logit; `p_click = sigmoid(logit)`, trained with binary cross-entropy on every
 *   impression;
 * - watch head: `z` ≈ ln(1 + watch seconds | click), trained with squared error on clicked
 *   impressions only; served as `watch_time_s = relu(exp(z) − 1)` — seconds watched *given a click*,
 *   so expected watch time of an impression is `p_click × watch_time_s`. Fitting the log keeps the
 *   heavy tail of long videos from dominating the loss; the price is that exp(z) estimates a
 *   geometric rather than an arithmetic mean (a slight under-prediction in seconds).
 */
export interface Ranker {
  readonly trunk: tf.Sequential;
  readonly clickHead: tf.Sequential;
  readonly watchHead: tf.Sequential;
}

/** Impressions to train on; row i is `rankerInput()` row i. */
export interface RankerData {
  readonly rows: number;
  /** `Float32Array(rows × RANKER_INPUT_DIM)`. */
  readonly x: Float32Array;
  /** 1 when clicked: `Uint8Array(rows)`. */
  readonly clicked: Uint8Array;
  /** Seconds watched (0 unless clicked): `Float32Array(rows)`. */
  readonly watchTimeS: Float32Array;
}

export interface RankerOptions {
  seed: number;
  /** Default 3. */
  epochs?: number;
  /** Default 512. */
  batchSize?: number;
  /** Adam learning rate; default 0.01. */
  learningRate?: number;
  /** Weight of the watch-time loss next to the click loss; default 0.5. */
  watchLossWeight?: number;
  onProgress?: (e: TrainProgress) => void;
}

/**
 * Trains the ranker (multi-task: click BCE + masked log-watch-time MSE), Adam, shuffled minibatches.
 * @returns the model and the mean total loss of each epoch
 */
export async function trainRanker(
  data: RankerData,
  opts: RankerOptions,
): Promise<{ model: Ranker; epochLosses: number[] }> {
  const epochs = opts.epochs ?? 3;
  const batchSize = Math.min(opts.batchSize ?? 512, data.rows);
  const watchWeight = opts.watchLossWeight ?? 0.5;
  const random = seededRandom(opts.seed);
  const init = random.stream('train.ranker.init');
  const shuffleRng = random.stream('train.ranker.shuffle');

  const trunk = tf.sequential({
    layers: [
      seededDense(64, init.int(2 ** 31), 'relu', RANKER_INPUT_DIM),
      seededDense(32, init.int(2 ** 31), 'relu'),
    ],
  });
  const clickHead = tf.sequential({ layers: [seededDense(1, init.int(2 ** 31), 'linear', 32)] });
  const watchHead = tf.sequential({ layers: [seededDense(1, init.int(2 ** 31), 'linear', 32)] });
  // Start the watch head near the mean log watch time so early steps do not chase the offset.
  let logSum = 0;
  let clicks = 0;
  for (let i = 0; i < data.rows; i++) {
    if (data.clicked[i]) {
      logSum += Math.log1p(data.watchTimeS[i]);
      clicks++;
    }
  }
  // getWeights() hands out the live variables: copy, never dispose them.
  const [wk] = watchHead.layers[0].getWeights();
  const bias = tf.fill([1], clicks > 0 ? logSum / clicks : 0);
  watchHead.layers[0].setWeights([wk, bias]);
  bias.dispose();

  const optimizer = tf.train.adam(opts.learningRate ?? 0.01);
  const order = Uint32Array.from({ length: data.rows }, (_, i) => i);
  const steps = Math.floor(data.rows / batchSize);
  const epochLosses: number[] = [];
  for (let epoch = 1; epoch <= epochs; epoch++) {
    shuffle(order, shuffleRng);
    let lossSum = 0;
    for (let step = 0; step < steps; step++) {
      const rows = order.subarray(step * batchSize, (step + 1) * batchSize);
      const y = new Float32Array(batchSize);
      const logWatch = new Float32Array(batchSize);
      for (let i = 0; i < batchSize; i++) {
        y[i] = data.clicked[rows[i]];
        logWatch[i] = Math.log1p(data.watchTimeS[rows[i]]);
      }
      const x = tf.tensor2d(gatherRows(data.x, RANKER_INPUT_DIM, rows), [batchSize, RANKER_INPUT_DIM]);
      const yT = tf.tensor2d(y, [batchSize, 1]);
      const wT = tf.tensor2d(logWatch, [batchSize, 1]);
      const nClicked = Math.max(
        1,
        y.reduce((a, b) => a + b, 0),
      );
      const loss = optimizer.minimize(() => {
        const h = trunk.apply(x) as tf.Tensor2D;
        const logit = clickHead.apply(h) as tf.Tensor2D;
        const z = watchHead.apply(h) as tf.Tensor2D;
        const clickLoss = tf.losses.sigmoidCrossEntropy(yT, logit);
        const watchLoss = z.sub(wT).square().mul(yT).sum().div(nClicked);
        return clickLoss.add(watchLoss.mul(watchWeight)) as tf.Scalar;
      }, true);
      lossSum += loss!.dataSync()[0];
      tf.dispose([x, yT, wT, loss!]);
      if ((step + 1) % 20 === 0 || step === steps - 1) {
        opts.onProgress?.({
          model: 'ranker',
          epoch,
          epochs,
          step: step + 1,
          steps,
          loss: lossSum / (step + 1),
        });
        await yieldToEventLoop();
      }
    }
    epochLosses.push(lossSum / Math.max(1, steps));
  }
  optimizer.dispose();
  return { model: { trunk, clickHead, watchHead }, epochLosses };
}

/**
 * Scores ranker input rows with the tfjs model (the reference the ONNX export is checked against).
 * @param x `Float32Array(rows × RANKER_INPUT_DIM)`
 * @returns `pClick` in [0, 1] and `watchTimeS` in seconds (given a click), each `Float32Array(rows)`
 */
export function predictRanker(
  ranker: Ranker,
  x: Float32Array,
  batchRows = 8192,
): { pClick: Float32Array; watchTimeS: Float32Array } {
  const rows = x.length / RANKER_INPUT_DIM;
  const pClick = new Float32Array(rows);
  const watchTimeS = new Float32Array(rows);
  for (let start = 0; start < rows; start += batchRows) {
    const n = Math.min(batchRows, rows - start);
    tf.tidy(() => {
      const input = tf.tensor2d(x.subarray(start * RANKER_INPUT_DIM, (start + n) * RANKER_INPUT_DIM), [
        n,
        RANKER_INPUT_DIM,
      ]);
      const h = ranker.trunk.apply(input) as tf.Tensor2D;
      const p = tf.sigmoid(ranker.clickHead.apply(h) as tf.Tensor2D);
      const w = tf.relu(tf.exp(ranker.watchHead.apply(h) as tf.Tensor2D).sub(1));
      pClick.set(p.dataSync() as Float32Array, start);
      watchTimeS.set(w.dataSync() as Float32Array, start);
    });
  }
  return { pClick, watchTimeS };
}
