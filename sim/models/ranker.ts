import { RANKER_INPUT_DIM } from '../../core/features/schema.ts';
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
 * - `watch`: `z ≈ ln(1 + watch seconds | click)`, squared error on clicked impressions; served as
 *   `watch_time_s = relu(exp(z) − 1)` (seconds given a click; the expected watch time of an
 *   impression is `p_click × watch_time_s`). Fitting the log keeps long videos from dominating; exp(z)
 *   estimates a geometric mean (a slight under-prediction in seconds);
 * - `like`, `finish`, `dislike`: probabilities *given a click* (like `watch_time_s`), BCE on clicked
 *   impressions; labels are the behaviour model's reactions in the logs.
 *
 * MMoE (Ma et al., "Modeling Task Relationships in Multi-task Learning with Multi-gate
 * Mixture-of-Experts", KDD 2018): `experts` one-layer ReLU experts (RANKER_INPUT_DIM → expertUnits)
 * shared by all tasks; each task t has its own softmax gate `g_t = softmax(x·W_t + b_t)` over experts
 * and a tower (expertUnits → towerUnits ReLU → 1) on `Σ_e g_t,e · expert_e(x)`.
 * Light ranker: one ReLU layer (RANKER_INPUT_DIM → hidden) shared by a click and a watch head.
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
export const RANKER_TASKS = ['click', 'watch', 'like', 'finish', 'dislike'] as const;
export type RankerTask = (typeof RANKER_TASKS)[number];
/** The heads served as probabilities (the others: `watch`). */
export const PROBABILITY_TASKS = ['click', 'like', 'finish', 'dislike'] as const;
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
  watch: 0.5,
  like: 0.5,
  finish: 0.5,
  dislike: 0.5,
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
   * Held-out metric computed at each epoch's end (e.g. click AUC on a sample of held-out rows;
   * build-artifacts passes one), reported in the progress events and returned per epoch.
   */
  validate?: (model: Ranker) => ValMetric | Promise<ValMetric>;
  onProgress?: (e: TrainProgress) => void;
}

const logit = (p: number) => Math.log(p / (1 - p));

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
  // Experts are initialised one by one (Glorot on each expert's own fan-out), then laid side by side.
  const parts = Array.from({ length: experts }, (_, e) =>
    denseVars(RANKER_INPUT_DIM, units, init.int(2 ** 31), `${id}_e${e}`),
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

  // Base rates: the click rate over impressions; mean log watch and reaction rates over clicks.
  let clicks = 0;
  let logWatch = 0;
  const reactions = { like: 0, finish: 0, dislike: 0 };
  for (let i = 0; i < data.rows; i++) {
    if (!data.clicked[i]) continue;
    clicks++;
    logWatch += Math.log1p(data.watchTimeS[i]);
    reactions.like += data.liked[i];
    reactions.finish += data.finished[i];
    reactions.dislike += data.disliked[i];
  }
  const clamp = (p: number) => Math.min(0.99, Math.max(0.01, p));
  const base: Record<RankerTask, number> = {
    click: logit(clamp(clicks / Math.max(1, data.rows))),
    watch: clicks > 0 ? logWatch / clicks : 0,
    like: logit(clamp(reactions.like / Math.max(1, clicks))),
    finish: logit(clamp(reactions.finish / Math.max(1, clicks))),
    dislike: logit(clamp(reactions.dislike / Math.max(1, clicks))),
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
 * The raw head logits (no position term, no Platt) for a batch `x` [B, RANKER_INPUT_DIM], as one
 * tensor [tasks, B, 1] (task t = `m.tasks[t]`). MMoE: gates `softmax` over experts per task
 * [B, T, E], mixture `gates × experts` [B, T, E]·[B, E, H] → [B, T, H], towers batched over tasks.
 * Call inside `tf.tidy` or an optimizer closure.
 */
export function rankerLogitsT(m: Ranker, x: tf.Tensor2D): tf.Tensor3D {
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

/** One-hot rows of positions (clamped to MAX_POSITIONS − 1): `Float32Array(n × MAX_POSITIONS)`. */
function positionOneHot(position: ArrayLike<number>, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * MAX_POSITIONS);
  for (let i = 0; i < rows.length; i++)
    out[i * MAX_POSITIONS + Math.min(MAX_POSITIONS - 1, position[rows[i]])] = 1;
  return out;
}

/**
 * Trains a ranker (MMoE or light mlp) with a custom loop: Adam on shuffled minibatches of
 * `Σ_t w_t · loss_t` — click BCE (with the position term) on all rows, masked log-watch-time MSE and
 * masked like/finish/dislike BCE on clicked rows. Platt maps start as identity (`calibrateRanker`).
 * @returns the model, the mean total loss of each epoch and, with `validate`, the held-out metric
 *   after each epoch
 */
export async function trainRanker(
  data: RankerData,
  opts: RankerOptions,
): Promise<{ model: Ranker; epochLosses: number[]; epochVal: ValMetric[] }> {
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
  // Per-task selectors [tasks, 1, 1]: which task gets the position term, which a squared error.
  const selector = (pick: (t: RankerTask) => boolean) =>
    tf.tensor3d(
      Float32Array.from(model.tasks, (t) => (pick(t) ? 1 : 0)),
      [tasks, 1, 1],
    );
  const clickMask = selector((t) => t === 'click');
  const squaredMask = model.tasks.includes('watch') ? selector((t) => t === 'watch') : undefined;
  const bceMask = squaredMask ? selector((t) => t !== 'watch') : undefined;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    shuffle(order, shuffleRng);
    let lossSum = 0;
    for (let step = 0; step < steps; step++) {
      const rows = order.subarray(step * batchSize, (step + 1) * batchSize);
      let nClicked = 0;
      for (let i = 0; i < batchSize; i++) nClicked += data.clicked[rows[i]];
      nClicked = Math.max(1, nClicked);
      // Targets and per-element loss weights, [tasks, B, 1]: click BCE on every row (weight
      // w/B), the others on clicked rows only (weight w/nClicked).
      const target = new Float32Array(tasks * batchSize);
      const weight = new Float32Array(tasks * batchSize);
      for (let ti = 0; ti < tasks; ti++) {
        const task = model.tasks[ti];
        const w = weights[task];
        for (let i = 0; i < batchSize; i++) {
          const r = rows[i];
          const c = data.clicked[r];
          const o = ti * batchSize + i;
          if (task === 'click') {
            target[o] = c;
            weight[o] = w / batchSize;
            continue;
          }
          weight[o] = c ? w / nClicked : 0;
          target[o] =
            task === 'watch'
              ? Math.log1p(data.watchTimeS[r])
              : task === 'like'
                ? data.liked[r]
                : task === 'finish'
                  ? data.finished[r]
                  : data.disliked[r];
        }
      }
      const t = tf.tidy(() => ({
        x: tf.tensor2d(gatherRows(data.x, RANKER_INPUT_DIM, rows), [batchSize, RANKER_INPUT_DIM]),
        pos: tf.tensor2d(positionOneHot(data.position, rows), [batchSize, MAX_POSITIONS]),
        target: tf.tensor3d(target, [tasks, batchSize, 1]),
        weight: tf.tensor3d(weight, [tasks, batchSize, 1]),
      }));
      const loss = optimizer.minimize(
        () => {
          const z = rankerLogitsT(model, t.x);
          // The position term enters the click logit only (clickMask selects task 0 = click).
          const zp = z.add(tf.matMul(t.pos, model.positionLogit).expandDims(0).mul(clickMask));
          const bce = bceWithLogits(zp, t.target);
          const perElement = squaredMask
            ? bce.mul(bceMask!).add(zp.sub(t.target).square().mul(squaredMask))
            : bce;
          return perElement.mul(t.weight).sum() as tf.Scalar;
        },
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
  }
  optimizer.dispose();
  tf.dispose([clickMask, ...(squaredMask ? [squaredMask] : []), ...(bceMask ? [bceMask] : [])]);
  return { model, epochLosses, epochVal };
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
      const input = tf.tensor2d(x.subarray(start * RANKER_INPUT_DIM, (start + n) * RANKER_INPUT_DIM), [
        n,
        RANKER_INPUT_DIM,
      ]);
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

/** Served predictions, each `Float32Array(rows)`; the like/finish/dislike ones only for the MMoE. */
export interface RankerPredictions {
  /** Calibrated click probability at the serving position, in [0, 1]. */
  pClick: Float32Array;
  /** Seconds watched given a click, ≥ 0. */
  watchTimeS: Float32Array;
  /** Calibrated P(like | click), P(finish | click), P(dislike | click). */
  pLike?: Float32Array;
  pFinish?: Float32Array;
  pDislike?: Float32Array;
}

/**
 * Scores ranker input rows with the tfjs model as served (the reference the ONNX export is checked
 * against): click logit + `positionLogit[SERVING_POSITION]`, Platt maps, sigmoid; the same op order
 * as the ONNX graph (Add, Mul, Add, Sigmoid).
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
    dislike: 'pDislike',
  };
  for (const t of m.tasks) out[key[t]] = new Float32Array(rows);
  for (let start = 0; start < rows; start += batchRows) {
    const n = Math.min(batchRows, rows - start);
    tf.tidy(() => {
      const input = tf.tensor2d(x.subarray(start * RANKER_INPUT_DIM, (start + n) * RANKER_INPUT_DIM), [
        n,
        RANKER_INPUT_DIM,
      ]);
      const z = tf.unstack(rankerLogitsT(m, input));
      for (const [ti, t] of m.tasks.entries()) {
        let y: tf.Tensor;
        if (t === 'watch') y = tf.relu(tf.exp(z[ti]).sub(1));
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
 * Task weights that combine the MMoE heads into one ranking score (seed 001: balance clickbait —
 * high p_click, short watches, dislikes — against quality):
 *
 *   score = p_click × watch_time_s × (1 + like·p_like + finish·p_finish − dislike·p_dislike)
 *
 * i.e. expected watch seconds per impression, raised by the chance of a like or a finished watch and
 * lowered by the chance of a dislike. With the light ranker (no reaction heads) the factor is 1, the
 * core's current `p_click × watch_time_s`.
 */
export const SCORE_WEIGHTS = { like: 0.5, finish: 0.3, dislike: 1 } as const;

/** The combined score of each row (`SCORE_WEIGHTS`): `Float32Array(rows)`, ≥ 0 for weights ≤ 1. */
export function combinedScore(p: RankerPredictions): Float32Array {
  const out = new Float32Array(p.pClick.length);
  for (let i = 0; i < out.length; i++) {
    const factor =
      1 +
      SCORE_WEIGHTS.like * (p.pLike?.[i] ?? 0) +
      SCORE_WEIGHTS.finish * (p.pFinish?.[i] ?? 0) -
      SCORE_WEIGHTS.dislike * (p.pDislike?.[i] ?? 0);
    out[i] = p.pClick[i] * p.watchTimeS[i] * factor;
  }
  return out;
}
