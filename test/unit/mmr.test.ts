import { describe, expect, it } from 'vitest';
import { mmrSelect } from '../../core/pipeline/mmr.ts';

/** Three near-duplicate items (same direction) and two distinct ones, 2-d unit vectors. */
const emb = new Float32Array([1, 0, 1, 0, 0.995, 0.0998, 0, 1, 0, -1]);

describe('mmrSelect', () => {
  it('with lambda 1 returns pure relevance order', () => {
    expect(mmrSelect([0.9, 0.8, 0.7, 0.6, 0.1], emb, 2, 5, 1)).toEqual([0, 1, 2, 3, 4]);
  });

  it('with lambda < 1 pushes near-duplicates down in favour of diverse items', () => {
    const picks = mmrSelect([0.9, 0.85, 0.8, 0.6, 0.1], emb, 2, 3, 0.5);
    expect(picks[0]).toBe(0);
    expect(picks.slice(0, 2)).toContain(3); // the orthogonal item comes before the duplicates
    expect(picks).not.toEqual([0, 1, 2]);
  });

  it('by rank, reads only the order of the scores: any increasing transform picks the same', () => {
    const rel = [0.9, 0.85, 0.8, 0.6, 0.1];
    const steep = rel.map((x) => x ** 8);
    expect(mmrSelect(steep, emb, 2, 5, 0.7, undefined, 'rank')).toEqual(
      mmrSelect(rel, emb, 2, 5, 0.7, undefined, 'rank'),
    );
    // Min-max (the default) reads the shape: a steep score leaves the rest near 0 and diversity
    // takes over sooner.
    expect(mmrSelect(steep, emb, 2, 5, 0.7)).not.toEqual(mmrSelect(rel, emb, 2, 5, 0.7));
  });

  it('returns min(k, n) distinct indices', () => {
    const picks = mmrSelect([0.5, 0.4], emb, 2, 10, 0.7);
    expect(picks).toHaveLength(2);
    expect(new Set(picks).size).toBe(2);
    expect(mmrSelect([], new Float32Array(0), 2, 3, 0.7)).toEqual([]);
  });
});

/** The plain greedy MMR, straight from the definition: the oracle the lazy version must match. */
function plainMmr(
  rel: number[],
  emb: Float32Array,
  dim: number,
  k: number,
  lambda: number,
  admit: (i: number) => boolean,
  scale: 'rank' | 'minmax',
): number[] {
  const n = rel.length;
  const lo = Math.min(...rel);
  const span = Math.max(...rel) - lo || 1;
  // Rank: 1 − (number of strictly better candidates) / (n − 1).
  const r =
    scale === 'minmax'
      ? rel.map((x) => (x - lo) / span)
      : rel.map((x) => 1 - rel.filter((y) => y > x).length / Math.max(1, n - 1));
  const state = new Uint8Array(n);
  const order: number[] = [];
  while (order.length < Math.min(k, n)) {
    let best = -1;
    let bestValue = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      if (state[i]) continue;
      let maxSim = order.length === 0 ? 0 : Number.NEGATIVE_INFINITY;
      for (const j of order) {
        let dot = 0;
        for (let d = 0; d < dim; d++) dot += emb[i * dim + d] * emb[j * dim + d];
        maxSim = Math.max(maxSim, dot);
      }
      const v = lambda * r[i] - (1 - lambda) * maxSim;
      if (v > bestValue) {
        bestValue = v;
        best = i;
      }
    }
    if (best < 0) break;
    if (!admit(best)) {
      state[best] = 2;
      continue;
    }
    state[best] = 1;
    order.push(best);
  }
  return order;
}

describe('mmrSelect (lazy greedy)', () => {
  it('picks exactly what the plain greedy picks, creator caps included, by rank and min-max (80 random lists, 300 → 30, 64-d)', () => {
    let seed = 12345;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const n = 300;
    const dim = 64;
    for (let t = 0; t < 80; t++) {
      const emb = new Float32Array(n * dim);
      for (let i = 0; i < n; i++) {
        let norm = 0;
        for (let d = 0; d < dim; d++) {
          // Clustered vectors: near-duplicates are what MMR exists for.
          const v = (i % 7 === d % 7 ? 1 : 0) + rnd() - 0.5;
          emb[i * dim + d] = v;
          norm += v * v;
        }
        for (let d = 0; d < dim; d++) emb[i * dim + d] /= Math.sqrt(norm);
      }
      // Repeated relevance values exercise the tie rule.
      const rel = Array.from({ length: n }, () => Math.round(rnd() * 50) / 50);
      const creators = Array.from({ length: n }, () => Math.floor(rnd() * 20));
      const lambda = [0, 0.3, 0.7, 1][t % 4];
      const capped = () => {
        const used = new Map<number, number>();
        return (i: number) => {
          const u = used.get(creators[i]) ?? 0;
          if (u >= 2) return false;
          used.set(creators[i], u + 1);
          return true;
        };
      };
      const scale = t % 2 === 0 ? 'rank' : 'minmax';
      expect(mmrSelect(rel, emb, dim, 30, lambda, capped(), scale)).toEqual(
        plainMmr(rel, emb, dim, 30, lambda, capped(), scale),
      );
    }
  });
});

describe('mmrSelect (early-stopped updates, four products at a time)', () => {
  it('makes the plain greedy picks and the same admit calls, with rows in a larger matrix, duplicate vectors and every list length mod 4 (60 random lists)', () => {
    let seed = 777;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const dim = 16;
    for (let t = 0; t < 60; t++) {
      const n = 40 + (t % 4) + 4 * Math.floor(rnd() * 20);
      const emb = new Float32Array(n * dim);
      for (let i = 0; i < n; i++) {
        if (i > 0 && rnd() < 0.2) {
          // An exact duplicate of an earlier row: equal products, so the tie rule decides.
          const j = Math.floor(rnd() * i);
          emb.copyWithin(i * dim, j * dim, (j + 1) * dim);
          continue;
        }
        let norm = 0;
        for (let d = 0; d < dim; d++) {
          const v = (i % 5 === d % 5 ? 1 : 0) + rnd() - 0.5;
          emb[i * dim + d] = v;
          norm += v * v;
        }
        for (let d = 0; d < dim; d++) emb[i * dim + d] /= Math.sqrt(norm);
      }
      // The same rows at scattered places of a larger matrix, read through `rows`.
      const spread = new Float32Array(3 * n * dim);
      const rows = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        rows[i] = (3 * (n - 1 - i) + 1) * dim;
        spread.set(emb.subarray(i * dim, (i + 1) * dim), rows[i]);
      }
      const rel = Array.from({ length: n }, () => Math.round(rnd() * 20) / 20);
      const creators = Array.from({ length: n }, () => Math.floor(rnd() * 8));
      const lambda = [0, 0.2, 0.5, 0.7, 0.9, 1][t % 6];
      const scale = t % 3 === 0 ? 'rank' : 'minmax';
      const k = 5 + (t % 30);
      const capped = (calls: number[]) => {
        const used = new Map<number, number>();
        return (i: number) => {
          calls.push(i);
          const u = used.get(creators[i]) ?? 0;
          if (u >= 2) return false;
          used.set(creators[i], u + 1);
          return true;
        };
      };
      const got: number[] = [];
      const want: number[] = [];
      expect(mmrSelect(rel, spread, dim, k, lambda, capped(got), scale, rows)).toEqual(
        plainMmr(rel, emb, dim, k, lambda, capped(want), scale),
      );
      expect(got).toEqual(want);
    }
  });
});
