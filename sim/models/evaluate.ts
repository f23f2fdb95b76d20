import { VIDEO_RECORD, VIDEO_RECORD_LEN } from '../../core/features/schema.ts';
import { topK } from '../util/top-k.ts';
import { dotRows } from '../util/vector.ts';
import { affinity } from '../world/affinity.ts';
import type { World } from '../world/world.ts';
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
  let hitsPopularity = 0;
  for (let c = 0; c < n; c++) if (popular.has(clickVideo[c])) hitsPopularity++;
  return {
    twoTower: embeddingRecall(clickUser, clickVideo, userEmb, itemEmb, EMB_DIM, k),
    popularity: hitsPopularity / n,
  };
}

/**
 * Recall@k of inner-product retrieval over all videos: the share of held-out clicks whose video
 * ranks in the top k of `⟨userVec_u, itemVec_v⟩` (ties do not flatter, `rankOf`). NaN without clicks.
 * @param userVec `Float32Array(users × dim)`; `itemVec` `Float32Array(videos × dim)`
 */
export function embeddingRecall(
  clickUser: ArrayLike<number>,
  clickVideo: ArrayLike<number>,
  userVec: Float32Array,
  itemVec: Float32Array,
  dim: number,
  k = 100,
): number {
  const videos = itemVec.length / dim;
  const n = clickUser.length;
  if (n === 0) return Number.NaN;
  let hits = 0;
  const scores = new Float32Array(videos);
  for (let c = 0; c < n; c++) {
    const u = clickUser[c];
    for (let v = 0; v < videos; v++) scores[v] = dotRows(userVec, u, itemVec, v, dim);
    if (rankOf(videos, clickVideo[c], (v) => scores[v]) < k) hits++;
  }
  return hits / n;
}

/**
 * Overlap with the ground truth: for each user in `users`, the share of the user's true top k videos
 * (by the world's `affinity`, which no model sees) that a retrieval source also puts in its top k;
 * averaged over users, per source. A source scores all videos of one user into `out`.
 */
export function groundTruthRecall(
  world: World,
  users: ArrayLike<number>,
  sources: Record<string, (u: number, out: Float32Array) => void>,
  k = 100,
): Record<string, number> {
  const videos = world.config.videos;
  const truthScores = new Float64Array(videos);
  const scores = new Float32Array(videos);
  const sums: Record<string, number> = {};
  for (const name of Object.keys(sources)) sums[name] = 0;
  for (let i = 0; i < users.length; i++) {
    const u = users[i];
    for (let v = 0; v < videos; v++) truthScores[v] = affinity(world, u, v);
    const truth = new Set(topK(videos, k, (v) => truthScores[v]));
    for (const [name, score] of Object.entries(sources)) {
      score(u, scores);
      let hits = 0;
      for (const v of topK(videos, k, (j) => scores[j])) if (truth.has(v)) hits++;
      sums[name] += hits / Math.min(k, videos);
    }
  }
  const out: Record<string, number> = {};
  for (const [name, s] of Object.entries(sums)) out[name] = users.length > 0 ? s / users.length : Number.NaN;
  return out;
}

/**
 * Graded relevance of a logged impression: 0 without a click, else `max(0, 1 + liked + finished −
 * disliked)` (so a disliked click counts as nothing).
 */
export function impressionGain(data: RankerData, i: number): number {
  if (!data.clicked[i]) return 0;
  return Math.max(0, 1 + data.liked[i] + data.finished[i] - data.disliked[i]);
}

/**
 * Mean NDCG@cutoff of re-ordering each logged list by `score` (Järvelin & Kekäläinen 2002, gain
 * `2^g − 1`, log2 discount). Rows are sessions of `k` contiguous impressions (`rankerData` layout);
 * sessions without any gain are skipped. NaN when none is left.
 */
export function ndcgAt(data: RankerData, k: number, score: ArrayLike<number>, cutoff = 10): number {
  const sessions = Math.floor(data.rows / k);
  const idx = Array.from({ length: k }, (_, i) => i);
  const gains = new Float64Array(k);
  let sum = 0;
  let n = 0;
  for (let s = 0; s < sessions; s++) {
    const base = s * k;
    for (let j = 0; j < k; j++) gains[j] = 2 ** impressionGain(data, base + j) - 1;
    const ideal = [...gains].sort((a, b) => b - a);
    let idcg = 0;
    for (let r = 0; r < Math.min(cutoff, k); r++) idcg += ideal[r] / Math.log2(r + 2);
    if (idcg === 0) continue;
    idx.sort((a, b) => score[base + b] - score[base + a] || a - b);
    let dcg = 0;
    for (let r = 0; r < Math.min(cutoff, k); r++) dcg += gains[idx[r]] / Math.log2(r + 2);
    sum += dcg / idcg;
    n++;
  }
  return n > 0 ? sum / n : Number.NaN;
}

/** ROC AUC of `scores` for the binary `labels` restricted to clicked rows (reactions given a click). */
export function clickedAuc(data: RankerData, scores: ArrayLike<number>, labels: Uint8Array): number {
  const s: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < data.rows; i++) {
    if (!data.clicked[i]) continue;
    s.push(scores[i]);
    y.push(labels[i]);
  }
  return rocAuc(s, y);
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
