import { RANKER_INPUT_DIM, USER_FEATURE_DIM, VIDEO_FEATURE_DIM } from '../../core/features/schema.ts';
import { GraphBuilder } from './onnx-graph.ts';
import type { Ranker } from './ranker.ts';
import { denseWeights, type tf } from './tf-runtime.ts';
import { EMB_DIM } from './two-tower.ts';

/**
 * The exported graphs. Names and shapes are the contract the serving core depends on:
 * - `user_tower.onnx`: `user_features` float32 [batch, USER_FEATURE_DIM] → `user_embedding`
 *   float32 [batch, 32], L2-normalised inside the graph;
 * - `item_tower.onnx`: `video_features` float32 [batch, VIDEO_FEATURE_DIM] → `item_embedding`
 *   float32 [batch, 32], L2-normalised (to embed fresh uploads at serving time);
 * - `ranker.onnx`: `features` float32 [batch, RANKER_INPUT_DIM] → `p_click` float32 [batch, 1] and
 *   `watch_time_s` float32 [batch, 1] (seconds watched given a click).
 */
export const ONNX_NAMES = {
  userTower: { input: 'user_features', output: 'user_embedding' },
  itemTower: { input: 'video_features', output: 'item_embedding' },
  ranker: { input: 'features', pClick: 'p_click', watchTimeS: 'watch_time_s' },
} as const;

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

/** Serialises the ranker: shared trunk, `p_click = Sigmoid(click logit)`, `watch_time_s = Relu(Exp(z) − 1)`. */
export function exportRankerOnnx(ranker: Ranker, metadata: Record<string, string> = {}): Uint8Array {
  const names = ONNX_NAMES.ranker;
  const g = new GraphBuilder();
  let h: string = names.input;
  denseWeights(ranker.trunk).forEach((w, i) => {
    h = g.dense(h, w, `trunk_dense${i}`);
  });
  const [click] = denseWeights(ranker.clickHead);
  g.op('Sigmoid', [g.dense(h, click, 'click_head')], names.pClick);
  const [watch] = denseWeights(ranker.watchHead);
  const z = g.dense(h, watch, 'watch_head');
  const one = g.floatConst('one', Float32Array.of(1), []);
  g.op('Relu', [g.op('Sub', [g.op('Exp', [z]), one])], names.watchTimeS);
  return g.encode(
    'ranker',
    [{ name: names.input, width: RANKER_INPUT_DIM }],
    [
      { name: names.pClick, width: 1 },
      { name: names.watchTimeS, width: 1 },
    ],
    'reclab ranker: rankerInput rows → click probability and watch seconds given a click (generated file)',
    metadata,
  );
}
