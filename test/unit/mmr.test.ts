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

  it('returns min(k, n) distinct indices', () => {
    const picks = mmrSelect([0.5, 0.4], emb, 2, 10, 0.7);
    expect(picks).toHaveLength(2);
    expect(new Set(picks).size).toBe(2);
    expect(mmrSelect([], new Float32Array(0), 2, 3, 0.7)).toEqual([]);
  });
});
