import { describe, expect, it } from 'vitest';
import { type RerankCandidate, type RerankConfig, rerank } from '../../core/pipeline/rerank.ts';
import { seededRandom } from '../../core/random/seeded-random.ts';

const dim = 4;
/** n candidates, all old and well exposed, scores descending, each its own creator and direction. */
function candidates(
  n: number,
  over: (i: number) => Partial<RerankCandidate> = () => ({}),
): RerankCandidate[] {
  return Array.from({ length: n }, (_, i) => ({
    video: 100 + i,
    creator: i,
    score: 100 - i,
    ageH: 1000,
    clickbait: 0,
    logViews: 12,
    ...over(i),
  }));
}
function embeddings(n: number): Float32Array {
  const e = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) e[i * dim + (i % dim)] = 1;
  return e;
}
const cfg: RerankConfig = {
  count: 10,
  mmrLambda: 1,
  clickbaitPenalty: 0,
  freshnessBoost: 0,
  freshnessHalfLifeH: 24,
  creatorCapPerPage: 10,
  explorationShare: 0,
  explorationMaxAgeH: 6,
  explorationMaxLogViews: 3,
};
const none = { watched: new Set<number>(), blocked: new Set<number>() };
const rnd = () => seededRandom(1).stream('rerank.test');

describe('rerank', () => {
  it('removes watched and blocked videos', () => {
    const c = candidates(20);
    const r = rerank(
      c,
      embeddings(20),
      dim,
      { watched: new Set([100, 101]), blocked: new Set([102]) },
      cfg,
      rnd(),
    );
    const videos = r.order.map((i) => c[i].video);
    expect(videos).not.toContain(100);
    expect(videos).not.toContain(101);
    expect(videos).not.toContain(102);
    expect(r.filteredWatched).toBe(2);
    expect(r.filteredBlocked).toBe(1);
    expect(videos[0]).toBe(103);
  });

  it('caps videos per creator on a page', () => {
    const c = candidates(20, (i) => ({ creator: i < 10 ? 7 : i }));
    const r = rerank(c, embeddings(20), dim, none, { ...cfg, creatorCapPerPage: 2 }, rnd());
    const fromSeven = r.order.filter((i) => c[i].creator === 7);
    expect(fromSeven).toHaveLength(2);
    expect(r.order).toHaveLength(10);
  });

  it('penalises clickbait and boosts fresh videos', () => {
    const c = candidates(20, (i) => (i === 0 ? { clickbait: 1 } : i === 15 ? { ageH: 0 } : {}));
    const r = rerank(
      c,
      embeddings(20),
      dim,
      none,
      { ...cfg, clickbaitPenalty: 0.5, freshnessBoost: 1 },
      rnd(),
    );
    // The top item (score 100, clickbait 1 → 50) falls off the page of 10.
    expect(r.order).not.toContain(0);
    expect(r.order[0]).toBe(15); // fresh: score 85 × 2 beats 99
  });

  it('fills evenly spaced exploration slots with fresh or under-exposed candidates, deterministically', () => {
    const c = candidates(40, (i) => (i >= 30 ? { logViews: 1 } : {}));
    const page = (seed: number) =>
      rerank(c, embeddings(40), dim, none, { ...cfg, explorationShare: 0.3 }, seededRandom(seed).stream('x'));
    const r = page(3);
    expect(r.explorationPositions).toHaveLength(3);
    for (const pos of r.explorationPositions) expect(c[r.order[pos]].logViews).toBe(1);
    expect(new Set(r.order).size).toBe(r.order.length);
    expect(page(3).order).toEqual(r.order);
  });

  it('keeps MMR picks when nothing is explorable, and never returns more than the candidates', () => {
    const c = candidates(5);
    const r = rerank(c, embeddings(5), dim, none, { ...cfg, explorationShare: 0.5 }, rnd());
    expect(r.explorationPositions).toEqual([]);
    expect(r.order).toEqual([0, 1, 2, 3, 4]);
  });
});
