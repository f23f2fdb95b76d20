import { VIDEO_RECORD, VIDEO_RECORD_LEN } from '../../core/features/schema.ts';
import { topK } from '../util/top-k.ts';
import { dotRows } from '../util/vector.ts';
import { rankOf, rmse, rocAuc } from './metrics.ts';
import type { RankerData } from './ranker.ts';
import { EMB_DIM } from './two-tower.ts';

/**
 * Recall@k of two-tower retrieval (all videos scored by ⟨user, item⟩) and of the global popularity
 * list (top k by `logViews`) on held-out clicks.
 *
 * @param clickUser user index per held-out click; `clickVideo` the clicked video
 * @param userEmb `Float32Array(users × EMB_DIM)`; `itemEmb` `Float32Array(videos × EMB_DIM)`
 */
export function retrievalRecall(
  clickUser: ArrayLike<number>,
  clickVideo: ArrayLike<number>,
  userEmb: Float32Array,
  itemEmb: Float32Array,
  videoRec: Float32Array,
  k = 100,
): { twoTower: number; popularity: number } {
  const videos = itemEmb.length / EMB_DIM;
  const popular = new Set(topK(videos, k, (v) => videoRec[v * VIDEO_RECORD_LEN + VIDEO_RECORD.logViews]));
  const n = clickUser.length;
  if (n === 0) return { twoTower: Number.NaN, popularity: Number.NaN };
  let hitsTwoTower = 0;
  let hitsPopularity = 0;
  const scores = new Float32Array(videos);
  for (let c = 0; c < n; c++) {
    const u = clickUser[c];
    for (let v = 0; v < videos; v++) scores[v] = dotRows(userEmb, u, itemEmb, v, EMB_DIM);
    if (rankOf(videos, clickVideo[c], (v) => scores[v]) < k) hitsTwoTower++;
    if (popular.has(clickVideo[c])) hitsPopularity++;
  }
  return { twoTower: hitsTwoTower / n, popularity: hitsPopularity / n };
}

/**
 * Ranker quality on held-out impressions: click AUC of the model and of the `logViews` baseline;
 * watch-time RMSE (seconds) on clicked impressions for the model and for a constant
 * (`meanTrainWatchS`).
 */
export function rankerQuality(
  data: RankerData & { video: Uint32Array },
  pClick: Float32Array,
  predictedWatchS: Float32Array,
  videoRec: Float32Array,
  meanTrainWatchS: number,
): { clickAuc: number; popularityClickAuc: number; watchTimeRmseS: number; baselineWatchTimeRmseS: number } {
  const popScore = new Float32Array(data.rows);
  for (let i = 0; i < data.rows; i++)
    popScore[i] = videoRec[data.video[i] * VIDEO_RECORD_LEN + VIDEO_RECORD.logViews];
  const predicted: number[] = [];
  const actual: number[] = [];
  for (let i = 0; i < data.rows; i++) {
    if (!data.clicked[i]) continue;
    predicted.push(predictedWatchS[i]);
    actual.push(data.watchTimeS[i]);
  }
  return {
    clickAuc: rocAuc(pClick, data.clicked),
    popularityClickAuc: rocAuc(popScore, data.clicked),
    watchTimeRmseS: rmse(predicted, actual),
    baselineWatchTimeRmseS: rmse(new Float64Array(actual.length).fill(meanTrainWatchS), actual),
  };
}
