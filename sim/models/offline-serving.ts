import { VIDEO_RECORD, VIDEO_RECORD_LEN } from '../../core/features/schema.ts';
import { clickbaitEstimate } from '../../core/pipeline/ranking.ts';
import { type RerankCandidate, type RerankConfig, rerank } from '../../core/pipeline/rerank.ts';
import { seededRandom } from '../../core/random/seeded-random.ts';
import type { OfflineCandidates } from './offline-lists.ts';

/**
 * What the core serves from a ranking, offline: its re-ranking stage (core/pipeline/rerank.ts —
 * clickbait penalty, freshness boost, MMR over the two-tower item embeddings with creator caps,
 * exploration slots) applied to a ranker's scores, so that the offline lists the score weights are
 * tuned on, and the model card judges, are the lists the core would put on the page.
 *
 * Why it matters: MMR reads the scores min-max normalised, so the *shape* of a score's distribution
 * decides how much of the page goes to diversity. A score with a steep exponent (say
 * `watch_time_s^4`) leaves all but a few candidates near 0 after normalisation, and MMR then fills
 * most of the page by diversity. Weights tuned on plain ranked lists can therefore look best offline
 * and serve far less live (docs/behavior-model.md, "The rankers against the ground truth").
 */

/** The re-ranking configuration of the offline lists without the page size. */
export type OfflineRerankConfig = Omit<RerankConfig, 'count'>;

/**
 * The core's default re-ranking (core/config/config.ts: `RECLAB_MMR_LAMBDA`, `RECLAB_RERANK_*`);
 * `test/unit/offline-serving.test.ts` keeps the two in step.
 */
export const OFFLINE_RERANK: Readonly<OfflineRerankConfig> = Object.freeze({
  mmrLambda: 0.7,
  mmrRelevance: 'minmax',
  clickbaitPenalty: 0,
  freshnessBoost: 0.2,
  freshnessHalfLifeH: 24,
  creatorCapPerPage: 3,
  explorationShare: 0.1,
  explorationMaxAgeH: 6,
  explorationMaxLogViews: 5,
});

/** How offline lists are made from scores. */
export interface OfflineServing {
  /** Re-ranking as the core does it; `null` = the plain order of the scores (no re-ranking). */
  rerank: Readonly<OfflineRerankConfig> | null;
  /**
   * Seed of the exploration slots: user `u` draws from stream `offline.exploration/<u>`, so every
   * score judged for the same user sees the same draws (common random numbers).
   */
  seed: number;
}

/**
 * The page the core would serve user i of `c` from one score per candidate (the layout of
 * `c.videos`): the hard filters find nothing (offline users have no recent-watch list and there is
 * no block list), each candidate's clickbait estimate comes from the heads that scored it
 * (`clickbaitEstimate`, as the core does), and ages are taken at `c.nowS`. Returns video indices in
 * page order, at most `length`.
 * @param pClick the click head per candidate (same layout), for the clickbait estimate
 * @param watchTimeS the watch-time head per candidate (same layout)
 */
export function servedList(
  c: OfflineCandidates,
  i: number,
  score: ArrayLike<number>,
  pClick: ArrayLike<number>,
  watchTimeS: ArrayLike<number>,
  length: number,
  cfg: Readonly<OfflineRerankConfig>,
  seed: number,
): number[] {
  const from = c.offsets[i];
  const n = c.offsets[i + 1] - from;
  const dim = c.embDim;
  const emb = new Float32Array(n * dim);
  const cands: RerankCandidate[] = new Array(n);
  for (let j = 0; j < n; j++) {
    const v = c.videos[from + j];
    emb.set(c.itemEmb.subarray(v * dim, (v + 1) * dim), j * dim);
    const rec = v * VIDEO_RECORD_LEN;
    cands[j] = {
      video: v,
      creator: c.videoRec[rec + VIDEO_RECORD.creator],
      score: Math.max(0, score[from + j]),
      ageH: Math.max(0, (c.nowS - c.videoRec[rec + VIDEO_RECORD.uploadTsS]) / 3600),
      clickbait: clickbaitEstimate(
        pClick[from + j],
        watchTimeS[from + j],
        c.videoRec[rec + VIDEO_RECORD.durationS],
      ),
      logViews: c.videoRec[rec + VIDEO_RECORD.logViews],
    };
  }
  const rnd = seededRandom(seed).stream(`offline.exploration/${c.users[i]}`);
  const page = rerank(
    cands,
    emb,
    dim,
    { watched: new Set(), blocked: new Set() },
    { ...cfg, count: length },
    rnd,
  );
  return page.order.map((j) => cands[j].video);
}
