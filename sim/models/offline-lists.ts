import {
  RANKER_INPUT_DIM,
  rankerInput,
  USER_RECORD_LEN,
  VIDEO_RECORD,
  VIDEO_RECORD_LEN,
} from '../../core/features/schema.ts';
import { mergeCandidates } from '../../core/pipeline/merge.ts';
import type { RandomStream } from '../../core/ports/random.ts';
import { createQualityScorer, type QualityScorer } from '../quality/quality-scorer.ts';
import { topK } from '../util/top-k.ts';
import { dotRows } from '../util/vector.ts';
import { REGION_HOME_BOOST } from '../world/priors.ts';
import type { World } from '../world/world.ts';
import { shuffle } from './two-tower.ts';

/**
 * Offline list evaluation: what a rung of the fallback ladder would serve to held-out users, scored
 * against the world's ground truth (sim/quality: the behaviour model's exact expected watch time of
 * the list, NDCG@10 against the oracle) — the offline twin of the live quality report.
 *
 * Candidates imitate the core's retrieval (docs/retrieval.md) without Redis or FAISS: the two-tower
 * top `twoTowerK` by exact inner product, then the user's regional popularity top `popularityK`
 * (views × `REGION_HOME_BOOST` in the home region, as the loader's `pop:r:<r>` sets), merged and
 * de-duplicated by the core's own `mergeCandidates` (at most `candidatesMax`). Re-ranking (MMR,
 * creator caps, exploration) is not applied: the lists are the rankers' own orders, so rungs differ
 * only in how they rank.
 */

/** Candidate sets of a sample of users, ready to score. */
export interface OfflineCandidates {
  /** User index of each evaluated user. */
  readonly users: Uint32Array;
  /** Candidates of user i are `videos[offsets[i] … offsets[i + 1])`, in merge order. */
  readonly offsets: Uint32Array;
  readonly videos: Uint32Array;
  /** `rankerInput` rows of every candidate, same order: `Float32Array(total × RANKER_INPUT_DIM)`. */
  readonly x: Float32Array;
  /** The regional popularity list of each user's region (the `popularity` rung), best first. */
  readonly popularityByRegion: readonly Uint32Array[];
  /** The editorial list (the `editorial` rung): the most viewed videos, best first. */
  readonly editorial: Uint32Array;
  /**
   * What re-ranking reads (sim/models/offline-serving.ts), shared, not copied: the item embeddings
   * (`Float32Array(videos × embDim)`), the video records (`Float32Array(videos × VIDEO_RECORD_LEN)`)
   * and the world time the lists are made at (Unix seconds).
   */
  readonly itemEmb: Float32Array;
  readonly embDim: number;
  readonly videoRec: Float32Array;
  readonly nowS: number;
}

export interface OfflineCandidateOptions {
  twoTowerK?: number;
  popularityK?: number;
  candidatesMax?: number;
  /** Length of the popularity and editorial lists kept; default 100. */
  referenceK?: number;
}

/** Defaults mirror the core's configuration (RECLAB_RETRIEVAL_*_K, RECLAB_CANDIDATES_MAX). */
const DEFAULTS = { twoTowerK: 200, popularityK: 100, candidatesMax: 300, referenceK: 100 };

/**
 * Users to evaluate: up to `count` distinct users drawn (uniformly, without replacement, stream
 * `rng`) from `pool`, skipping those in `exclude`.
 */
export function sampleUsers(
  pool: ArrayLike<number>,
  count: number,
  rng: RandomStream,
  exclude: ReadonlySet<number> = new Set(),
): Uint32Array {
  const distinct = Uint32Array.from(new Set(Array.from(pool)).values()).filter((u) => !exclude.has(u));
  shuffle(distinct, rng);
  return distinct.slice(0, Math.min(count, distinct.length)).sort();
}

/**
 * Builds the candidates and ranker rows of `users` at world time `nowS` (only videos uploaded by
 * then). Cost: one full inner-product scan of the catalogue per user (users × videos × embDim).
 * @param userEmb `Float32Array(users × embDim)`; `itemEmb` `Float32Array(videos × embDim)`
 */
export function offlineCandidates(
  world: World,
  data: {
    userRec: Float32Array;
    videoRec: Float32Array;
    userEmb: Float32Array;
    itemEmb: Float32Array;
    embDim: number;
  },
  users: Uint32Array,
  opts: OfflineCandidateOptions = {},
): OfflineCandidates {
  const o = { ...DEFAULTS, ...opts };
  const { videos, nowS } = world.config;
  const { userRec, videoRec, userEmb, itemEmb, embDim } = data;
  const live = (v: number) => world.videoUploadTsS[v] <= nowS;
  const views = (v: number) => Math.expm1(videoRec[v * VIDEO_RECORD_LEN + VIDEO_RECORD.logViews]);
  const regions = Math.max(...Array.from(world.userRegion), ...Array.from(world.videoRegion)) + 1;
  const popularityByRegion = Array.from({ length: regions }, (_, r) =>
    topK(videos, Math.max(o.popularityK, o.referenceK), (v) =>
      live(v) ? views(v) * (world.videoRegion[v] === r ? REGION_HOME_BOOST : 1) : Number.NEGATIVE_INFINITY,
    ),
  );
  const editorial = topK(videos, o.referenceK, (v) => (live(v) ? views(v) : Number.NEGATIVE_INFINITY));

  const lists: number[][] = [];
  const scores = new Float32Array(videos);
  for (const u of users) {
    for (let v = 0; v < videos; v++)
      scores[v] = live(v) ? dotRows(userEmb, u, itemEmb, v, embDim) : Number.NEGATIVE_INFINITY;
    const twoTower = Array.from(
      topK(videos, o.twoTowerK, (v) => scores[v]),
      (v) => ({
        video: v,
        score: scores[v],
        source: 'two_tower',
      }),
    );
    const popular = Array.from(
      popularityByRegion[world.userRegion[u]].subarray(0, o.popularityK),
      (v, i) => ({
        video: v,
        score: -i,
        source: 'popularity',
      }),
    );
    lists.push(mergeCandidates([twoTower, popular], o.candidatesMax).map((c) => c.video));
  }
  const offsets = new Uint32Array(users.length + 1);
  for (let i = 0; i < users.length; i++) offsets[i + 1] = offsets[i] + lists[i].length;
  const flat = new Uint32Array(offsets[users.length]);
  const x = new Float32Array(flat.length * RANKER_INPUT_DIM);
  users.forEach((u, i) => {
    flat.set(lists[i], offsets[i]);
    const items = lists[i].map((v) => videoRec.subarray(v * VIDEO_RECORD_LEN, (v + 1) * VIDEO_RECORD_LEN));
    const aff = lists[i].map((v) => dotRows(userEmb, u, itemEmb, v, embDim));
    const user = userRec.subarray(u * USER_RECORD_LEN, (u + 1) * USER_RECORD_LEN);
    x.set(rankerInput(user, items, aff, nowS), offsets[i] * RANKER_INPUT_DIM);
  });
  return {
    users,
    offsets,
    videos: flat,
    x,
    popularityByRegion,
    editorial,
    itemEmb,
    embDim,
    videoRec,
    nowS,
  };
}

/** Mean quality of a set of lists: expected seconds watched per list and NDCG@10. */
export interface ListScores {
  expectedWatchTimeS: number;
  ndcgAt10: number;
  expectedClicks: number;
}

/**
 * Scores lists against the ground truth with one `QualityScorer` (its ideal-DCG cache is kept across
 * calls, so re-scoring the same users is cheap).
 */
export class ListJudge {
  readonly #scorer: QualityScorer;

  constructor(world: World) {
    this.#scorer = createQualityScorer(world);
  }

  /** Means over users of the quality of `listOf(i)` for user `users[i]`. */
  judge(users: Uint32Array, listOf: (i: number) => ArrayLike<number>): ListScores {
    let watch = 0;
    let ndcg = 0;
    let clicks = 0;
    for (let i = 0; i < users.length; i++) {
      const q = this.#scorer.score(users[i], listOf(i));
      watch += q.expectedWatchTimeS;
      ndcg += q.ndcgAt10;
      clicks += q.expectedClicks;
    }
    const n = Math.max(1, users.length);
    return { expectedWatchTimeS: watch / n, ndcgAt10: ndcg / n, expectedClicks: clicks / n };
  }
}

/**
 * The first `length` candidates of user i by `score` (one score per candidate, the layout of
 * `OfflineCandidates.videos`), best first; ties keep merge order. Returns video indices.
 */
export function rankedList(
  c: OfflineCandidates,
  i: number,
  score: ArrayLike<number>,
  length: number,
): Uint32Array {
  const from = c.offsets[i];
  const n = c.offsets[i + 1] - from;
  const top = topK(n, length, (j) => score[from + j]);
  return Uint32Array.from(top, (j) => c.videos[from + j]);
}

/** Merge order (the `retrieval_scores` rung): the first `length` candidates as merged. */
export function mergeOrderList(c: OfflineCandidates, i: number, length: number): Uint32Array {
  return c.videos.subarray(c.offsets[i], Math.min(c.offsets[i + 1], c.offsets[i] + length));
}

/**
 * Where a model card breaks the fallback ladder's premise that the main ranker is better than its
 * light fallback: one message per metric on which the light ranker beats the full ranker — click
 * AUC, watch-time RMSE (lower is better), and the offline lists' expected watch time and NDCG@10.
 * Empty when the order holds. Reads `metrics` as published in the card (`metrics.offlineLists`).
 * @param tolerance relative slack: the light ranker "beats" the full one only by more than this
 *   share of the full ranker's figure (default 0: any margin counts)
 */
export function rungOrderViolations(metrics: Record<string, unknown>, tolerance = 0): string[] {
  const num = (v: unknown) => (typeof v === 'number' ? v : Number.NaN);
  const lists = (metrics.offlineLists ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const checks: [string, number, number, 'higher' | 'lower'][] = [
    ['click AUC', num(metrics.clickAuc), num(metrics.lightClickAuc), 'higher'],
    ['watch-time RMSE (s)', num(metrics.watchTimeRmseS), num(metrics.lightWatchTimeRmseS), 'lower'],
    [
      'offline expected watch time per list (s)',
      num(lists.full?.expectedWatchTimeS),
      num(lists.light_ranker?.expectedWatchTimeS),
      'higher',
    ],
    ['offline NDCG@10', num(lists.full?.ndcgAt10), num(lists.light_ranker?.ndcgAt10), 'higher'],
  ];
  const out: string[] = [];
  for (const [name, full, light, better] of checks) {
    if (!Number.isFinite(full) || !Number.isFinite(light)) out.push(`${name}: missing on the card`);
    else if (better === 'higher' ? light > full * (1 + tolerance) : light < full * (1 - tolerance))
      out.push(`${name}: light ranker ${light} beats full ${full}`);
  }
  return out;
}
