import {
  DURATION_FEATURE_SCALE,
  RANKER_DURATION_COLUMN,
  RANKER_INPUT_DIM,
  USER_FEATURE_DIM,
  VIDEO_FEATURE_DIM,
} from '../../core/features/schema.ts';
import { IDENTITY_PLATT } from './calibration.ts';
import { GraphBuilder, intAttr } from './onnx-graph.ts';
import {
  type DenseVars,
  positionLogits,
  type Ranker,
  type RankerTask,
  SERVING_POSITION,
  type TaskLayerVars,
} from './ranker.ts';
import { type DenseWeights, denseWeights, type tf } from './tf-runtime.ts';
import { EMB_DIM } from './two-tower.ts';

/**
 * The exported graphs. Names and shapes are the contract the serving core depends on:
 * - `user_tower.onnx`: `user_features` float32 [batch, USER_FEATURE_DIM] → `user_embedding`
 *   float32 [batch, 32], L2-normalised inside the graph;
 * - `item_tower.onnx`: `video_features` float32 [batch, VIDEO_FEATURE_DIM] → `item_embedding`
 *   float32 [batch, 32], L2-normalised (to embed fresh uploads at serving time);
 * - `ranker.onnx` (MMoE): `features` float32 [batch, RANKER_INPUT_DIM] → `p_click` (calibrated, at
 *   the top position), `watch_time_s` (seconds watched given a click), `p_like`, `p_finish`
 *   (calibrated, given a click), each float32 [batch, 1], in that order (no `p_dislike`: ranker.ts);
 * - `light_ranker.onnx`: same input → `p_click`, `watch_time_s` only (the CPU fallback tier).
 */
export const ONNX_NAMES = {
  userTower: { input: 'user_features', output: 'user_embedding' },
  itemTower: { input: 'video_features', output: 'item_embedding' },
  ranker: {
    input: 'features',
    pClick: 'p_click',
    watchTimeS: 'watch_time_s',
    pLike: 'p_like',
    pFinish: 'p_finish',
  },
} as const;

/** ONNX output name of each ranker task. */
export const RANKER_OUTPUT_NAMES: Readonly<Record<RankerTask, string>> = {
  click: ONNX_NAMES.ranker.pClick,
  watch: ONNX_NAMES.ranker.watchTimeS,
  like: ONNX_NAMES.ranker.pLike,
  finish: ONNX_NAMES.ranker.pFinish,
};

/** Serialises a tower (dense layers, then row L2 normalisation) as an ONNX model. */
export function exportTowerOnnx(
  tower: tf.Sequential,
  kind: 'user' | 'item',
  metadata: Record<string, string> = {},
): Uint8Array {
  const names = kind === 'user' ? ONNX_NAMES.userTower : ONNX_NAMES.itemTower;
  const width = kind === 'user' ? USER_FEATURE_DIM : VIDEO_FEATURE_DIM;
  const g = new GraphBuilder();
  let x: string = names.input;
  denseWeights(tower).forEach((w, i) => {
    x = g.dense(x, w, `${kind}_dense${i}`);
  });
  g.l2NormalizeRows(x, names.output);
  return g.encode(
    `${kind}_tower`,
    [{ name: names.input, width }],
    [{ name: names.output, width: EMB_DIM }],
    `reclab ${kind} tower: ${kind === 'user' ? 'userModelInput' : 'videoModelInput'} rows → L2-normalised ${EMB_DIM}-d embedding (generated file)`,
    metadata,
  );
}

function plain(l: DenseVars, activation: 'relu' | 'linear'): DenseWeights {
  const [inDim, outDim] = l.kernel.shape as [number, number];
  return {
    inDim,
    outDim,
    kernel: l.kernel.dataSync() as Float32Array,
    bias: l.bias.dataSync() as Float32Array,
    activation,
  };
}

/**
 * A dense layer widened to `inDim` inputs with zero kernel rows for the inputs it does not read
 * (the light ranker reads the first CORE_RANKER_INPUT_DIM columns of the full row).
 */
function padInputs(w: DenseWeights, inDim: number): DenseWeights {
  if (w.inDim >= inDim) return w;
  const kernel = new Float32Array(inDim * w.outDim);
  kernel.set(w.kernel);
  return { ...w, inDim, kernel };
}

/** Task `t`'s slice of a task-batched layer: kernel [in, out] from [tasks, in, out]. */
function taskSlice(l: TaskLayerVars, t: number, activation: 'relu' | 'linear'): DenseWeights {
  const [, inDim, outDim] = l.kernel.shape as [number, number, number];
  const kernel = (l.kernel.dataSync() as Float32Array).slice(t * inDim * outDim, (t + 1) * inDim * outDim);
  const bias = (l.bias.dataSync() as Float32Array).slice(t * outDim, (t + 1) * outDim);
  return { inDim, outDim, kernel, bias, activation };
}

/** Columns `[from, from + width)` of a dense layer [in, out]. */
function columns(w: DenseWeights, from: number, width: number): DenseWeights {
  const kernel = new Float32Array(w.inDim * width);
  for (let i = 0; i < w.inDim; i++)
    kernel.set(w.kernel.subarray(i * w.outDim + from, i * w.outDim + from + width), i * width);
  return {
    inDim: w.inDim,
    outDim: width,
    kernel,
    bias: w.bias.slice(from, from + width),
    activation: w.activation,
  };
}

/**
 * Serialises a ranker (MMoE or light mlp) as served:
 * - shared layer: `Relu(Gemm(features))` (the light ranker's kernel has zero rows for the columns
 *   after CORE_RANKER_INPUT_DIM, which it does not read) — for the MMoE all experts side by side [batch, E·H],
 *   `Reshape` to [batch, E, H];
 * - MMoE, per task: gate `Softmax(Gemm(features))` [batch, E] (axis −1), `Unsqueeze` (axes as an
 *   input tensor, opset 17) to [batch, 1, E], `MatMul` with the experts [batch, E, H] and `Reshape`
 *   → [batch, H] (the gated mixture Σ_e g_e·expert_e); then the task's tower (Gemm, Relu, Gemm) →
 *   logit [batch, 1];
 * - click: `Add` the constant `positionLogit[SERVING_POSITION]` (the position feature's serving
 *   default, so the input stays RANKER_INPUT_DIM wide), then Platt `Mul(a)`, `Add(b)`, `Sigmoid`;
 * - like / finish: Platt `Mul`, `Add`, `Sigmoid`;
 * - watch: the row's duration `Relu(Exp(8 · Gather(features, duration column)) − 1)` (the inverse of
 *   its `ln(1 + s) / 8` encoding) times `Sigmoid(z)`, the predicted watched share.
 * Outputs follow `ranker.tasks` order, named by `RANKER_OUTPUT_NAMES`, each [batch, 1].
 */
export function exportRankerOnnx(ranker: Ranker, metadata: Record<string, string> = {}): Uint8Array {
  const input = ONNX_NAMES.ranker.input;
  const g = new GraphBuilder();
  const shared = g.dense(input, padInputs(plain(ranker.shared, 'relu'), RANKER_INPUT_DIM), 'shared');
  const experts =
    ranker.arch === 'mmoe'
      ? g.op('Reshape', [shared, g.int64Const('experts_shape', [-1, ranker.experts, ranker.expertUnits])])
      : undefined;
  const one = g.floatConst('one', Float32Array.of(1), []);
  // [batch, 1] seconds from the duration feature (same ops as predictRanker's durationFromFeatures).
  const duration = () => {
    const column = g.op(
      'Gather',
      [input, g.int64Const('duration_column', [RANKER_DURATION_COLUMN])],
      undefined,
      [intAttr('axis', 1)],
    );
    const scaled = g.op('Mul', [
      column,
      g.floatConst('duration_scale', Float32Array.of(DURATION_FEATURE_SCALE), []),
    ]);
    return g.op('Relu', [g.op('Sub', [g.op('Exp', [scaled]), one])]);
  };
  const gates = ranker.gates ? plain(ranker.gates, 'linear') : undefined;
  for (const [ti, t] of ranker.tasks.entries()) {
    let h = shared;
    if (experts && gates) {
      const gate = columns(gates, ti * ranker.experts, ranker.experts);
      const weights = g.op('Softmax', [g.dense(input, gate, `gate_${t}`)], undefined, [intAttr('axis', -1)]);
      // [batch, 1, E] MatMul [batch, E, H] → [batch, 1, H] → [batch, H]: the gated mixture.
      const w3 = g.op('Unsqueeze', [weights, g.int64Const('unsqueeze_axes', [1])]);
      const mixed = g.op('MatMul', [w3, experts]);
      h = g.op('Reshape', [mixed, g.int64Const('mix_shape', [-1, ranker.expertUnits])]);
    }
    ranker.towers.forEach((l, i) => {
      h = g.dense(h, taskSlice(l, ti, i < ranker.towers.length - 1 ? 'relu' : 'linear'), `${t}_tower${i}`);
    });
    const name = RANKER_OUTPUT_NAMES[t];
    if (t === 'watch') {
      g.op('Mul', [duration(), g.op('Sigmoid', [h])], name);
      continue;
    }
    if (t === 'click') {
      const pos = positionLogits(ranker)[SERVING_POSITION];
      h = g.op('Add', [h, g.floatConst('position_default_logit', Float32Array.of(pos), [])]);
    }
    const platt = ranker.platt[t] ?? IDENTITY_PLATT;
    const scaled = g.op('Mul', [h, g.floatConst(`platt_a_${t}`, Float32Array.of(platt.a), [])]);
    const shifted = g.op('Add', [scaled, g.floatConst(`platt_b_${t}`, Float32Array.of(platt.b), [])]);
    g.op('Sigmoid', [shifted], name);
  }
  const light = ranker.arch !== 'mmoe';
  return g.encode(
    light ? 'light_ranker' : 'ranker',
    [{ name: input, width: RANKER_INPUT_DIM }],
    ranker.tasks.map((t) => ({ name: RANKER_OUTPUT_NAMES[t], width: 1 })),
    light
      ? 'reclab light ranker (CPU fallback): rankerInput rows → calibrated click probability and watch seconds given a click (generated file)'
      : `reclab MMoE ranker (${ranker.experts} experts, Ma et al. 2018): rankerInput rows → calibrated p_click (top position), watch seconds given a click, calibrated p_like / p_finish given a click (generated file)`,
    metadata,
  );
}
