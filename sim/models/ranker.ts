import {
  CORE_RANKER_INPUT_DIM,
  DURATION_FEATURE_SCALE,
  RANKER_DURATION_COLUMN,
  RANKER_INPUT_DIM,
  rankerRowDurationS,
} from '../../core/features/schema.ts';
import { DEFAULT_SCORE_WEIGHTS, type ScoreWeights } from '../../core/pipeline/experiments.ts';
import { combineScores } from '../../core/pipeline/ranking.ts';
import { seededRandom } from '../../core/random/seeded-random.ts';
import { IDENTITY_PLATT, type Platt } from './calibration.ts';
import { tf } from './tf-runtime.ts';
import { type TrainProgress, TrainReporter, type ValMetric } from './train-progress.ts';
import { gatherRows, shuffle } from './two-tower.ts';

/**
 * The rankers: the MMoE multi-task ranker (`ranker.onnx`) and the light ranker (`light_ranker.onnx`,
 * the CPU fallback tier of seed 001 "Simplified Ranking" mode).
 *
 * Tasks (each head outputs one logit `z`):
 * - `click`: `p_click = σ(z)`, BCE on every impression;
 * - `watch`: the share of the video watched given a click, `σ(z) ≈ E[watch seconds / duration |
 *   click]`, BCE with the fractional label (Papke & Wooldridge's fractional logit) on clicked
 *   impressions; served as `watch_time_s = duration_s × σ(z)` with the duration read back from the
 *   row's own duration feature (`rankerRowDurationS`), so the head estimates the *mean* seconds
 *   watched (the expected watch time of an impression is `p_click × watch_time_s`, Covington et al.
 *   2016) and long videos, whose shares are small but whose seconds are many, need no extra capacity.
 *   (An earlier head fit `ln(1 + seconds)` by squared error; `exp` of that is a geometric mean, which
 *   under-predicted long watches so much that its RMSE in seconds lost to the light ranker's.)
 * - `like`, `finish`: probabilities *given a click* (like `watch_time_s`), BCE on clicked
 *   impressions; labels are the behaviour model's reactions in the logs.
 *
 * No dislike head: the world's users dislike rarely (dislike logit intercept −5, docs/behavior-model.md)
 * — the default build's 100 000 training rows (seed 7) hold 29 dislikes among about 6 500 clicks
 * (`manifest.ranker.trainingDislikes`), and even 400 000 rows held 88 — so a dislike head fit on them
 * ranked held-out dislikes at chance (AUC 0.44–0.70 on a handful of positives; 0.50 on the card
 * before this change, where Platt scaling flattened it). The logs keep the label (NDCG's gain subtracts it) and the
 * ranking score keeps its `dislike` weight for models that have such a head.
 *
 * MMoE (Ma et al., "Modeling Task Relationships in Multi-task Learning with Multi-gate
 * Mixture-of-Experts", KDD 2018): `experts` one-layer ReLU experts (RANKER_INPUT_DIM → expertUnits)
 * shared by all tasks; each task t has its own softmax gate `g_t = softmax(x·W_t + b_t)` over experts
 * and a tower (expertUnits → towerUnits ReLU → 1) on `Σ_e g_t,e · expert_e(x)`.
 * Light ranker: one ReLU layer (CORE_RANKER_INPUT_DIM → hidden) shared by a click and a watch head.
 *
 * Inputs: the MMoE reads the whole `rankerInput` row; the light ranker, the cheap fallback, only its
 * first `CORE_RANKER_INPUT_DIM` columns (seed 000 Q5: the light ranker on the core features, the full
 * ranker on all): not the user-video region cross nor the videos' engagement statistics
 * (core/features/schema.ts `EXTENDED_FEATURE_DIM`). Its ONNX graph still takes the whole row, with
 * zero weights on the columns it does not read.
 *
 * Position bias (seed 001 "Position Feature during training, set to a default at inference"; the
 * shallow position tower of Zhao et al., "Recommending What Video to Watch Next", RecSys 2019):
 * training adds a learned per-position logit `positionLogit[position]` (logged 0-based position,
 * positions ≥ MAX_POSITIONS share the last slot) to the click logit only, so the towers need not
 * explain the click-through lost to low slots. The position never enters `rankerInput` (its layout is
 * unchanged): at serving the ONNX graph adds the constant `positionLogit[SERVING_POSITION]` itself,
 * so served `p_click` is the click probability *as if shown in the top slot*.
 *
 * Calibration (Platt 1999): `platt[task]` maps the (position-adjusted) logit to `σ(a·z + b)`; it is
 * fit after training on a held-out calibration slice and baked into the ONNX graph.
 */
export const RANKER_TASKS = ['click', 'watch', 'like', 'finish'] as const;
export type RankerTask = (typeof RANKER_TASKS)[number];
/** The heads served as probabilities (the others: `watch`). */
export const PROBABILITY_TASKS = ['click', 'like', 'finish'] as const;
export type ProbabilityTask = (typeof PROBABILITY_TASKS)[number];
/** Tasks of the light ranker. */
export const LIGHT_RANKER_TASKS = ['click', 'watch'] as const;

/** Positions the position term distinguishes (0 … MAX_POSITIONS − 1; larger share the last). */
export const MAX_POSITIONS = 16;
/** The position fed at serving time: the top slot. */
export const SERVING_POSITION = 0;

/** Loss weight of each task next to the click BCE (weight 1). */
export const DEFAULT_LOSS_WEIGHTS: Readonly<Record<RankerTask, number>> = {
  click: 1,
  watch: 1,
  like: 0.5,
  finish: 0.5,
};

/** A dense layer as tfjs variables: `kernel` [in, out], `bias` [out]. */
export interface DenseVars {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;
}

/** One layer of all task towers at once: `kernel` [tasks, in, out], `bias` [tasks, 1, out]. */
export interface TaskLayerVars {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;
}

/**
 * A trained ranker. The task dimension is batched (all towers and gates in single tensors, task t
 * at index t of `tasks`) so one training step is a handful of kernels, not one set per task.
 */
export interface Ranker {
  readonly arch: 'mmoe' | 'mlp';
  readonly tasks: readonly RankerTask[];
  /** Leading columns of the input row the model reads: RANKER_INPUT_DIM (mmoe) or CORE_RANKER_INPUT_DIM (mlp). */
  readonly inputDim: number;
  /** mmoe: all experts side by side, kernel [RANKER_INPUT_DIM, experts × expertUnits]; mlp: the trunk. */
  readonly shared: DenseVars;
  /** Number of experts (1 for the mlp). */
  readonly experts: number;
  /** Width of one expert's output (the trunk's width for the mlp). */
  readonly expertUnits: number;
  /** mmoe only: all gates side by side, kernel [RANKER_INPUT_DIM, tasks × experts] (task-major). */
  readonly gates?: DenseVars;
  /** Tower layers (ReLU between them); the last outputs one logit per task: [tasks, batch, 1]. */
  readonly towers: readonly TaskLayerVars[];
  /** Click-logit offset per logged position: [MAX_POSITIONS, 1]. */
  readonly positionLogit: tf.Variable;
  /** Platt maps of the probability heads (identity until calibrated). */
  platt: Partial<Record<ProbabilityTask, Platt>>;
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
  /** Logged 0-based position: `Uint8Array(rows)`. */
  readonly position: Uint8Array;
  /** 1 when the click was liked / finished / disliked (0 unless clicked): `Uint8Array(rows)` each. */
  readonly liked: Uint8Array;
  readonly finished: Uint8Array;
  readonly disliked: Uint8Array;
}

export interface RankerOptions {
  seed: number;
  /** `mmoe` (default) or the light `mlp`. */
  arch?: 'mmoe' | 'mlp';
  /** Default 3. */
  epochs?: number;
  /** Default 512. */
  batchSize?: number;
  /** Adam learning rate; default 0.01. */
  learningRate?: number;
  /** MMoE experts; default 4. */
  experts?: number;
  /** Units per expert (mmoe, default 32) or of the trunk (mlp, default 32). */
  expertUnits?: number;
  /** Hidden units of each MMoE tower; default 16. */
  towerUnits?: number;
  /** Loss weights; default `DEFAULT_LOSS_WEIGHTS`. */
  lossWeights?: Partial<Record<RankerTask, number>>;
  /**
   * Early stopping: a held-out criterion, higher is better (e.g. minus the held-out loss), computed
   * after each epoch; the best epoch's weights are kept. Without it every epoch runs and the last
   * weights are kept.
   */
  selectBy?: (model: Ranker) => number | Promise<number>;
  /** Epochs without improvement of `selectBy` before training stops; default 1. */
  patience?: number;
  /**
   * Held-out metric computed at each epoch's end (e.g. click AUC on a sample of held-out rows;
   * build-artifacts passes one), reported in the progress events and returned per epoch.
   */
  validate?: (model: Ranker) => ValMetric | Promise<ValMetric>;
  onProgress?: (e: TrainProgress) => void;
}

const logit = (p: number) => Math.log(p / (1 - p));

/** Share of the video watched on row `i` (the watch head's label): seconds ÷ the row's duration, in [0, 1]. */
export function watchedShare(data: Pick<RankerData, 'x' | 'watchTimeS'>, i: number): number {
  const durationS = rankerRowDurationS(data.x, i);
  return durationS > 0 ? Math.min(1, Math.max(0, data.watchTimeS[i] / durationS)) : 0;
}

/** Binary cross-entropy on logits, elementwise: `relu(z) − z·y + ln(1 + e^−|z|)`. */
function bceWithLogits(z: tf.Tensor, y: tf.Tensor): tf.Tensor {
  return tf
    .relu(z)
    .sub(z.mul(y))
    .add(tf.log1p(tf.exp(tf.neg(tf.abs(z)))));
}

function denseVars(inDim: number, outDim: number, seed: number, name: string): DenseVars {
  const init = tf.initializers.glorotUniform({ seed }).apply([inDim, outDim]) as tf.Tensor;
  const kernel = tf.variable(init, true, `${name}_kernel`);
  init.dispose();
  return { kernel, bias: tf.variable(tf.zeros([outDim]), true, `${name}_bias`) };
}

let modelCounter = 0;

/** Glorot-uniform kernels of one layer for every task, stacked: [tasks, inDim, outDim]. */
function taskLayer(
  tasks: number,
  inDim: number,
  outDim: number,
  init: { int(n: number): number },
  name: string,
): TaskLayerVars {
  const parts = Array.from(
    { length: tasks },
    () => tf.initializers.glorotUniform({ seed: init.int(2 ** 31) }).apply([inDim, outDim]) as tf.Tensor,
  );
  const stacked = tf.stack(parts);
  const kernel = tf.variable(stacked, true, `${name}_kernel`);
  tf.dispose([...parts, stacked]);
  return { kernel, bias: tf.variable(tf.zeros([tasks, 1, outDim]), true, `${name}_bias`) };
}

/** A fresh, untrained ranker; tower output biases start at the base rates of `data`. */
function createRanker(data: RankerData, opts: RankerOptions): Ranker {
  const arch = opts.arch ?? 'mmoe';
  const tasks = arch === 'mmoe' ? RANKER_TASKS : LIGHT_RANKER_TASKS;
  const experts = arch === 'mmoe' ? (opts.experts ?? 4) : 1;
  const units = opts.expertUnits ?? 32;
  const towerUnits = opts.towerUnits ?? 16;
  const init = seededRandom(opts.seed).stream(`train.ranker.${arch}.init`);
  const id = `${arch}${modelCounter++}`;
  const inputDim = arch === 'mmoe' ? RANKER_INPUT_DIM : CORE_RANKER_INPUT_DIM;
  // Experts are initialised one by one (Glorot on each expert's own fan-out), then laid side by side.
  const parts = Array.from({ length: experts }, (_, e) =>
    denseVars(inputDim, units, init.int(2 ** 31), `${id}_e${e}`),
  );
  const expertKernels = tf.concat(
    parts.map((p) => p.kernel),
    1,
  );
  const shared: DenseVars = {
    kernel: tf.variable(expertKernels, true, `${id}_experts_kernel`),
    bias: tf.variable(tf.zeros([experts * units]), true, `${id}_experts_bias`),
  };
  tf.dispose([expertKernels, ...parts.flatMap((p) => [p.kernel, p.bias])]);

  // Base rates: the click rate over impressions; mean watched share and reaction rates over clicks.
  let clicks = 0;
  let share = 0;
  const reactions = { like: 0, finish: 0 };
  for (let i = 0; i < data.rows; i++) {
    if (!data.clicked[i]) continue;
    clicks++;
    share += watchedShare(data, i);
    reactions.like += data.liked[i];
    reactions.finish += data.finished[i];
  }
  const clamp = (p: number) => Math.min(0.99, Math.max(0.01, p));
  const base: Record<RankerTask, number> = {
    click: logit(clamp(clicks / Math.max(1, data.rows))),
    watch: logit(clamp(share / Math.max(1, clicks))),
    like: logit(clamp(reactions.like / Math.max(1, clicks))),
    finish: logit(clamp(reactions.finish / Math.max(1, clicks))),
  };

  const gates =
    arch === 'mmoe'
      ? denseVars(RANKER_INPUT_DIM, tasks.length * experts, init.int(2 ** 31), `${id}_gates`)
      : undefined;
  const towers =
    arch === 'mmoe'
      ? [
          taskLayer(tasks.length, units, towerUnits, init, `${id}_tower0`),
          taskLayer(tasks.length, towerUnits, 1, init, `${id}_tower1`),
        ]
      : [taskLayer(tasks.length, units, 1, init, `${id}_heads`)];
  const last = towers[towers.length - 1];
  const baseBias = tf.tensor3d(
    Float32Array.from(tasks, (t) => base[t]),
    [tasks.length, 1, 1],
  );
  last.bias.assign(baseBias);
  baseBias.dispose();
  return {
    arch,
    tasks,
    inputDim,
    shared,
    experts,
    expertUnits: units,
    ...(gates ? { gates } : {}),
    towers,
    positionLogit: tf.variable(tf.zeros([MAX_POSITIONS, 1]), true, `${id}_position`),
    platt: {},
  };
}

/** All trainable variables of a ranker. */
function variablesOf(m: Ranker): tf.Variable[] {
  const out: tf.Variable[] = [m.shared.kernel, m.shared.bias, m.positionLogit];
  if (m.gates) out.push(m.gates.kernel, m.gates.bias);
  for (const l of m.towers) out.push(l.kernel, l.bias);
  return out;
}

/** Releases the ranker's tfjs variables. */
export function disposeRanker(m: Ranker): void {
  tf.dispose(variablesOf(m));
}

/**
 * The raw head logits (no position term, no Platt) for a batch `x` [B, m.inputDim] (or whole rows [B, RANKER_INPUT_DIM]), as one
 * tensor [tasks, B, 1] (task t = `m.tasks[t]`). MMoE: gates `softmax` over experts per task
 * [B, T, E], mixture `gates × experts` [B, T, E]·[B, E, H] → [B, T, H], towers batched over tasks.
 * Call inside `tf.tidy` or an optimizer closure.
 */
export function rankerLogitsT(m: Ranker, xRow: tf.Tensor2D): tf.Tensor3D {
  // Callers pass the model's own columns (`modelInputT`); whole rows are narrowed here.
  const x = xRow.shape[1] > m.inputDim ? tf.slice(xRow, [0, 0], [-1, m.inputDim]) : xRow;
  const h = tf.relu(tf.add(tf.matMul(x, m.shared.kernel), m.shared.bias)) as tf.Tensor2D;
  let z: tf.Tensor3D;
  if (m.gates) {
    const tasks = m.tasks.length;
    const g = tf.softmax(
      tf.reshape(tf.add(tf.matMul(x, m.gates.kernel), m.gates.bias), [-1, tasks, m.experts]),
    ) as tf.Tensor3D;
    const mix = tf.matMul(g, tf.reshape(h, [-1, m.experts, m.expertUnits]) as tf.Tensor3D);
    z = tf.transpose(mix, [1, 0, 2]) as tf.Tensor3D;
  } else {
    // Same trunk for every head (tiled: tfjs's BatchMatMul gradient does not broadcast batch dims).
    z = tf.tile(tf.expandDims(h, 0), [m.tasks.length, 1, 1]) as tf.Tensor3D;
  }
  m.towers.forEach((l, i) => {
    z = tf.add(tf.matMul(z, l.kernel as tf.Tensor3D), l.bias) as tf.Tensor3D;
    if (i < m.towers.length - 1) z = tf.relu(z) as tf.Tensor3D;
  });
  return z;
}

/**
 * `n` ranker rows (`Float32Array(n × RANKER_INPUT_DIM)`) as the model's input tensor
 * [n, m.inputDim]: narrowed in JS to the columns the model reads (the light ranker's core columns),
 * because tfjs's CPU slice of a column block copies element by element (it made light-ranker
 * training 5× slower).
 */
function modelInputT(m: Ranker, x: Float32Array, n: number): tf.Tensor2D {
  if (m.inputDim === RANKER_INPUT_DIM) return tf.tensor2d(x, [n, RANKER_INPUT_DIM]);
  const out = new Float32Array(n * m.inputDim);
  for (let i = 0; i < n; i++)
    out.set(x.subarray(i * RANKER_INPUT_DIM, i * RANKER_INPUT_DIM + m.inputDim), i * m.inputDim);
  return tf.tensor2d(out, [n, m.inputDim]);
}

/** One-hot rows of positions (clamped to MAX_POSITIONS − 1): `Float32Array(n × MAX_POSITIONS)`. */
function positionOneHot(position: ArrayLike<number>, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * MAX_POSITIONS);
  for (let i = 0; i < rows.length; i++)
    out[i * MAX_POSITIONS + Math.min(MAX_POSITIONS - 1, position[rows[i]])] = 1;
  return out;
}

/**
 * Targets and per-element loss weights of rows `rows` of `data`, each `Float32Array(tasks × B)`
 * (task-major, the layout of `rankerLogitsT`): click BCE on every row (weight w/B), the others on
 * clicked rows only (weight w/clicked rows), so each task's loss is a mean over the rows it applies to.
 */
function lossInputs(
  data: RankerData,
  rows: ArrayLike<number>,
  tasks: readonly RankerTask[],
  weights: Readonly<Record<RankerTask, number>>,
): { target: Float32Array; weight: Float32Array } {
  const b = rows.length;
  let nClicked = 0;
  for (let i = 0; i < b; i++) nClicked += data.clicked[rows[i]];
  nClicked = Math.max(1, nClicked);
  const target = new Float32Array(tasks.length * b);
  const weight = new Float32Array(tasks.length * b);
  tasks.forEach((task, ti) => {
    const w = weights[task];
    for (let i = 0; i < b; i++) {
      const r = rows[i];
      const c = data.clicked[r];
      const o = ti * b + i;
      if (task === 'click') {
        target[o] = c;
        weight[o] = w / b;
        continue;
      }
      weight[o] = c ? w / nClicked : 0;
      target[o] =
        task === 'watch'
          ? c
            ? watchedShare(data, r)
            : 0
          : task === 'like'
            ? data.liked[r]
            : data.finished[r];
    }
  });
  return { target, weight };
}

/**
 * The weighted loss `Σ_t w_t · loss_t` of a batch: BCE on logits for every head (the watch head's
 * label is the watched share), the click logit with the position term of each row's logged position.
 * Call inside `tf.tidy` or an optimizer closure.
 */
function batchLoss(
  m: Ranker,
  x: tf.Tensor2D,
  pos: tf.Tensor2D,
  target: tf.Tensor3D,
  weight: tf.Tensor3D,
  clickMask: tf.Tensor3D,
): tf.Scalar {
  const z = rankerLogitsT(m, x);
  // The position term enters the click logit only (clickMask selects the click task).
  const zp = z.add(tf.matMul(pos, m.positionLogit).expandDims(0).mul(clickMask));
  return bceWithLogits(zp, target).mul(weight).sum() as tf.Scalar;
}

/** The `batchLoss` of all rows of `data` (in chunks, no gradient): a held-out loss for early stopping. */
export function rankerLoss(
  m: Ranker,
  data: RankerData,
  lossWeights: Partial<Record<RankerTask, number>> = {},
  chunkRows = 8192,
): number {
  const weights = { ...DEFAULT_LOSS_WEIGHTS, ...lossWeights };
  const tasks = m.tasks.length;
  const clickMask = tf.tensor3d(
    Float32Array.from(m.tasks, (t) => (t === 'click' ? 1 : 0)),
    [tasks, 1, 1],
  );
  // Per-chunk means are combined by row counts (click) and clicked counts (the rest) through the
  // weights: each chunk's loss is computed as in training, then averaged weighted by its rows.
  let total = 0;
  for (let start = 0; start < data.rows; start += chunkRows) {
    const n = Math.min(chunkRows, data.rows - start);
    const rows = Uint32Array.from({ length: n }, (_, i) => start + i);
    const { target, weight } = lossInputs(data, rows, m.tasks, weights);
    total +=
      tf.tidy(
        () =>
          batchLoss(
            m,
            modelInputT(m, data.x.subarray(start * RANKER_INPUT_DIM, (start + n) * RANKER_INPUT_DIM), n),
            tf.tensor2d(positionOneHot(data.position, rows), [n, MAX_POSITIONS]),
            tf.tensor3d(target, [tasks, n, 1]),
            tf.tensor3d(weight, [tasks, n, 1]),
            clickMask,
          ).dataSync()[0],
      ) * n;
  }
  clickMask.dispose();
  return total / Math.max(1, data.rows);
}

/**
 * Trains a ranker (MMoE or light mlp) with a custom loop: Adam on shuffled minibatches of
 * `Σ_t w_t · loss_t` — click BCE (with the position term) on all rows, watched-share BCE and
 * like/finish BCE on clicked rows. Platt maps start as identity (`calibrateRanker`).
 *
 * Early stopping (with `selectBy`): after each epoch the held-out criterion is computed; training
 * stops once it has not improved for `patience` epochs, and the weights of the best epoch are
 * restored (Prechelt, "Early Stopping — But When?", 1998).
 * @returns the model, the mean total loss of each epoch run, with `validate` the held-out metric
 *   after each epoch, and the 1-based epoch whose weights were kept
 */
export async function trainRanker(
  data: RankerData,
  opts: RankerOptions,
): Promise<{ model: Ranker; epochLosses: number[]; epochVal: ValMetric[]; bestEpoch: number }> {
  const epochs = opts.epochs ?? 3;
  const batchSize = Math.min(opts.batchSize ?? 512, data.rows);
  const weights = { ...DEFAULT_LOSS_WEIGHTS, ...opts.lossWeights };
  const model = createRanker(data, opts);
  const shuffleRng = seededRandom(opts.seed).stream(`train.ranker.${model.arch}.shuffle`);
  const varList = variablesOf(model);
  const optimizer = tf.train.adam(opts.learningRate ?? 0.01);
  const order = Uint32Array.from({ length: data.rows }, (_, i) => i);
  const steps = Math.floor(data.rows / batchSize);
  const epochLosses: number[] = [];
  const epochVal: ValMetric[] = [];
  const reporter = new TrainReporter(
    model.arch === 'mmoe' ? 'ranker' : 'light-ranker',
    epochs,
    steps,
    opts.onProgress,
  );
  const validate = opts.validate;
  const tasks = model.tasks.length;
  const clickMask = tf.tensor3d(
    Float32Array.from(model.tasks, (t) => (t === 'click' ? 1 : 0)),
    [tasks, 1, 1],
  );
  const patience = opts.patience ?? 1;
  let best: { epoch: number; score: number; values: tf.Tensor[] } | undefined;
  let bestEpoch = epochs;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    shuffle(order, shuffleRng);
    let lossSum = 0;
    for (let step = 0; step < steps; step++) {
      const rows = order.subarray(step * batchSize, (step + 1) * batchSize);
      const { target, weight } = lossInputs(data, rows, model.tasks, weights);
      const t = tf.tidy(() => ({
        x: modelInputT(model, gatherRows(data.x, RANKER_INPUT_DIM, rows), batchSize),
        pos: tf.tensor2d(positionOneHot(data.position, rows), [batchSize, MAX_POSITIONS]),
        target: tf.tensor3d(target, [tasks, batchSize, 1]),
        weight: tf.tensor3d(weight, [tasks, batchSize, 1]),
      }));
      const loss = optimizer.minimize(
        () => batchLoss(model, t.x, t.pos, t.target, t.weight, clickMask),
        true,
        varList,
      );
      lossSum += loss!.dataSync()[0];
      tf.dispose([loss!, t.x, t.pos, t.target, t.weight]);
      await reporter.step(epoch, step, lossSum);
    }
    epochLosses.push(lossSum / Math.max(1, steps));
    const val = await reporter.epochEnd(epoch, lossSum, validate && (() => validate(model)));
    if (val) epochVal.push(val);
    if (!opts.selectBy) continue;
    const score = await opts.selectBy(model);
    if (!best || score > best.score) {
      if (best) tf.dispose(best.values);
      best = { epoch, score, values: varList.map((v) => v.clone()) };
    } else if (epoch - best.epoch >= patience) {
      break;
    }
  }
  if (best) {
    varList.forEach((v, i) => {
      v.assign(best.values[i]);
    });
    tf.dispose(best.values);
    bestEpoch = best.epoch;
  }
  optimizer.dispose();
  clickMask.dispose();
  return { model, epochLosses, epochVal, bestEpoch };
}

/** The click-logit offset of each position: `Float32Array(MAX_POSITIONS)`. */
export function positionLogits(m: Ranker): Float32Array {
  return m.positionLogit.dataSync() as Float32Array;
}

/**
 * Raw head logits per row, the click logit including the position term of `position[i]` (the logged
 * positions) — what calibration is fit on. Each `Float32Array(rows)`.
 */
export function rankerLogits(
  m: Ranker,
  x: Float32Array,
  position: ArrayLike<number>,
  batchRows = 8192,
): Partial<Record<RankerTask, Float32Array>> {
  const rows = x.length / RANKER_INPUT_DIM;
  const pos = positionLogits(m);
  const out: Partial<Record<RankerTask, Float32Array>> = {};
  for (const t of m.tasks) out[t] = new Float32Array(rows);
  for (let start = 0; start < rows; start += batchRows) {
    const n = Math.min(batchRows, rows - start);
    tf.tidy(() => {
      const input = modelInputT(m, x.subarray(start * RANKER_INPUT_DIM, (start + n) * RANKER_INPUT_DIM), n);
      const z = rankerLogitsT(m, input).dataSync() as Float32Array;
      m.tasks.forEach((t, ti) => {
        out[t]!.set(z.subarray(ti * n, (ti + 1) * n), start);
      });
    });
  }
  const click = out.click!;
  for (let i = 0; i < rows; i++) click[i] += pos[Math.min(MAX_POSITIONS - 1, position[i])];
  return out;
}

/** Served predictions, each `Float32Array(rows)`; the like/finish ones only for the MMoE. */
export interface RankerPredictions {
  /** Calibrated click probability at the serving position, in [0, 1]. */
  pClick: Float32Array;
  /** Seconds watched given a click, ≥ 0. */
  watchTimeS: Float32Array;
  /** Calibrated P(like | click), P(finish | click); `pDislike` is never set (no dislike head). */
  pLike?: Float32Array;
  pFinish?: Float32Array;
  pDislike?: Float32Array;
}

/**
 * The duration in seconds of each row, from its duration feature: `relu(exp(8·x_d) − 1)` [B, 1] —
 * `rankerRowDurationS` as tensor ops, in the order the ONNX graph computes it.
 */
function durationFromFeatures(x: tf.Tensor2D): tf.Tensor {
  const column = tf.slice(x, [0, RANKER_DURATION_COLUMN], [-1, 1]);
  return tf.relu(tf.exp(column.mul(tf.scalar(DURATION_FEATURE_SCALE))).sub(tf.scalar(1)));
}

/**
 * Scores ranker input rows with the tfjs model as served (the reference the ONNX export is checked
 * against): click logit + `positionLogit[SERVING_POSITION]`, Platt maps, sigmoid; the same op order
 * as the ONNX graph (Add, Mul, Add, Sigmoid); watch seconds = duration (from the row) × σ(z).
 * @param x `Float32Array(rows × RANKER_INPUT_DIM)`
 */
export function predictRanker(m: Ranker, x: Float32Array, batchRows = 8192): RankerPredictions {
  const rows = x.length / RANKER_INPUT_DIM;
  const posTerm = positionLogits(m)[SERVING_POSITION];
  const out: Record<string, Float32Array> = {};
  const key: Record<RankerTask, keyof RankerPredictions> = {
    click: 'pClick',
    watch: 'watchTimeS',
    like: 'pLike',
    finish: 'pFinish',
  };
  for (const t of m.tasks) out[key[t]] = new Float32Array(rows);
  for (let start = 0; start < rows; start += batchRows) {
    const n = Math.min(batchRows, rows - start);
    tf.tidy(() => {
      const input = tf.tensor2d(x.subarray(start * RANKER_INPUT_DIM, (start + n) * RANKER_INPUT_DIM), [
        n,
        RANKER_INPUT_DIM,
      ]);
      const z = tf.unstack(
        rankerLogitsT(
          m,
          modelInputT(m, x.subarray(start * RANKER_INPUT_DIM, (start + n) * RANKER_INPUT_DIM), n),
        ),
      );
      for (const [ti, t] of m.tasks.entries()) {
        let y: tf.Tensor;
        if (t === 'watch') y = durationFromFeatures(input).mul(tf.sigmoid(z[ti]));
        else {
          const p = m.platt[t] ?? IDENTITY_PLATT;
          let l: tf.Tensor = z[ti];
          if (t === 'click') l = l.add(tf.scalar(posTerm));
          y = tf.sigmoid(l.mul(tf.scalar(p.a)).add(tf.scalar(p.b)));
        }
        out[key[t]].set(y.dataSync() as Float32Array, start);
      }
    });
  }
  return out as unknown as RankerPredictions;
}

/**
 * The ranking score of each row, exactly as the core computes it (`combineScores` of
 * core/pipeline/ranking.ts, formula in core/pipeline/experiments.ts `ScoreWeights`), with durations
 * read from the rows' duration feature: `Float64Array(rows)`, ≥ 0.
 * @param x the rows `p` was predicted from, `Float32Array(rows × RANKER_INPUT_DIM)`
 */
export function combinedScore(
  p: RankerPredictions,
  x: Float32Array,
  w: Readonly<ScoreWeights> = DEFAULT_SCORE_WEIGHTS,
): Float64Array {
  const rows = p.pClick.length;
  const durationS = Float64Array.from({ length: rows }, (_, i) => rankerRowDurationS(x, i));
  return combineScores(p, rows, w, durationS);
}
