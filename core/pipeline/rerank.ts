import type { RandomStream } from '../ports/random.ts';
import { mmrSelect, type RelevanceScale } from './mmr.ts';

/** One ranked candidate as re-ranking sees it. */
export interface RerankCandidate {
  /** Catalogue index of the video. */
  video: number;
  creator: number;
  /** Ranking score (expected watch time, or a retrieval-order score on lower rungs); ≥ 0. */
  score: number;
  /** Age of the video in hours at request time. */
  ageH: number;
  /** Clickbait estimate in [0, 1] (0 when unknown). */
  clickbait: number;
  /** Exposure so far, as ln(1 + views): low means under-exposed. */
  logViews: number;
}

/** Tunables of re-ranking (seed 000 §1 "Re-Ranking Module" and Q7/Q8). */
export interface RerankConfig {
  /** Page size. */
  count: number;
  /** MMR trade-off: 1 = pure relevance, 0 = pure diversity. */
  mmrLambda: number;
  /** How MMR normalises the adjusted scores (core/pipeline/mmr.ts); default `minmax`. */
  mmrRelevance?: RelevanceScale;
  /** Score × (1 − clickbaitPenalty × clickbait). */
  clickbaitPenalty: number;
  /** Score × (1 + freshnessBoost × 2^(−ageH / freshnessHalfLifeH)). */
  freshnessBoost: number;
  freshnessHalfLifeH: number;
  /** At most this many videos of one creator per page. */
  creatorCapPerPage: number;
  /** Share of the page reserved for exploration (seed 000 Q7: 5–10%); Q8 inserts 3 of 30. */
  explorationShare: number;
  /** A candidate is explorable when younger than this (hours) … */
  explorationMaxAgeH: number;
  /** … or when less exposed than this (ln(1 + views)). */
  explorationMaxLogViews: number;
}

export interface RerankResult {
  /** Candidate indices in page order, length ≤ count. */
  order: number[];
  /** Page positions (0-based) filled by exploration. */
  explorationPositions: number[];
  /** Candidates removed by the hard filters. */
  filteredWatched: number;
  filteredBlocked: number;
}

/**
 * Re-ranks ranked candidates into one page (seed 000 §1 and Q8):
 * 1. hard filters: videos the user already watched, videos blocked by policy;
 * 2. score adjustments: clickbait penalty, freshness boost (half-life decay);
 * 3. MMR diversity over the item embeddings, skipping a creator once it has `creatorCapPerPage`
 *    videos on the page;
 * 4. exploration slots: `round(count × explorationShare)` evenly spaced positions are given to
 *    explorable candidates (fresh or under-exposed) not otherwise on the page, drawn at random from
 *    `rnd` (seed 000 Q7: exploration against the feedback loop). A slot with no explorable
 *    candidate keeps its MMR pick.
 *
 * @param embeddings `Float32Array` of length n × dim, row i = candidate i (L2-normalised); with
 *   `rows`, candidate i's row starts at `embeddings[rows[i]]` instead (rows of a larger matrix)
 * @param rows optional offset (in floats) of each candidate's row in `embeddings`; default i × dim
 */
export function rerank(
  cands: readonly RerankCandidate[],
  embeddings: Float32Array,
  dim: number,
  filters: { watched: ReadonlySet<number>; blocked: ReadonlySet<number> },
  cfg: RerankConfig,
  rnd: RandomStream,
  rows?: ArrayLike<number>,
): RerankResult {
  // 1. Hard filters.
  const kept: number[] = [];
  let filteredWatched = 0;
  let filteredBlocked = 0;
  for (let i = 0; i < cands.length; i++) {
    const v = cands[i].video;
    if (filters.blocked.has(v)) filteredBlocked++;
    else if (filters.watched.has(v)) filteredWatched++;
    else kept.push(i);
  }
  const n = kept.length;
  const count = Math.min(cfg.count, n);

  // 2. Score adjustments. The kept candidates' embeddings are not copied: MMR reads their rows
  //    where they are (`keptRows`, offsets into `embeddings`).
  const adjusted = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const c = cands[kept[j]];
    const fresh = 2 ** (-c.ageH / cfg.freshnessHalfLifeH);
    adjusted[j] = c.score * (1 - cfg.clickbaitPenalty * c.clickbait) * (1 + cfg.freshnessBoost * fresh);
  }
  const keptRows = new Int32Array(n);
  for (let j = 0; j < n; j++) keptRows[j] = rows ? rows[kept[j]] : kept[j] * dim;

  // 3. MMR with creator caps.
  const perCreator = new Map<number, number>();
  const underCap = (j: number) => {
    const creator = cands[kept[j]].creator;
    const used = perCreator.get(creator) ?? 0;
    if (used >= cfg.creatorCapPerPage) return false;
    perCreator.set(creator, used + 1);
    return true;
  };
  const picks = mmrSelect(
    adjusted,
    embeddings,
    dim,
    count,
    cfg.mmrLambda,
    underCap,
    cfg.mmrRelevance,
    keptRows,
  );
  const page = picks.map((j) => kept[j]);

  // 4. Exploration slots.
  const slots = Math.min(Math.round(count * cfg.explorationShare), page.length);
  const onPage = new Set(page);
  const explorable = kept.filter((i) => {
    const c = cands[i];
    return !onPage.has(i) && (c.ageH <= cfg.explorationMaxAgeH || c.logViews <= cfg.explorationMaxLogViews);
  });
  const explorationPositions: number[] = [];
  for (let s = 0; s < slots && explorable.length > 0; s++) {
    const pos = Math.min(page.length - 1, Math.round(((s + 1) * page.length) / (slots + 1)));
    const pick = explorable.splice(rnd.int(explorable.length), 1)[0];
    page[pos] = pick;
    explorationPositions.push(pos);
  }
  return { order: page, explorationPositions, filteredWatched, filteredBlocked };
}
