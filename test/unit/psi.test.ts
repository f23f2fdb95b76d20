import { describe, expect, it } from 'vitest';
import {
  BinnedWindow,
  binCounts,
  binOf,
  PSI_EPSILON,
  proportions,
  psi,
  quantileEdges,
} from '../../core/observability/psi.ts';
import { seededRandom } from '../../core/random/seeded-random.ts';

describe('PSI (core/observability/psi.ts)', () => {
  it('matches a hand-computed example: two bins swap a quarter of the mass', () => {
    // (0.5 − 0.25)·ln(0.5/0.25) + 0 + (0.25 − 0.5)·ln(0.25/0.5) = 0.25·ln 2 + 0.25·ln 2 = 0.5·ln 2
    expect(psi([0.25, 0.25, 0.5], [0.5, 0.25, 0.25])).toBeCloseTo(0.34657359, 8);
    // symmetric in its arguments, 0 for identical proportions
    expect(psi([0.5, 0.25, 0.25], [0.25, 0.25, 0.5])).toBeCloseTo(0.34657359, 8);
    expect(psi([0.1, 0.2, 0.7], [0.1, 0.2, 0.7])).toBe(0);
  });

  it('floors an empty bin at epsilon instead of dividing by zero', () => {
    // (1 − 0.5)·ln(1/0.5) + (1e-4 − 0.5)·ln(1e-4/0.5) = 0.34657359 + 0.4999·ln 5000 = 4.60431847
    expect(PSI_EPSILON).toBe(1e-4);
    expect(psi([0.5, 0.5], [1, 0])).toBeCloseTo(4.60431847, 6);
  });

  it('a small shift stays under 0.1, a large one goes over 0.25 (seed 003 §9 reading)', () => {
    const e = Array(10).fill(0.1);
    // 2 points of mass moved between two deciles: 2·0.02·ln(1.2)… small
    const small = [0.12, 0.08, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1];
    expect(psi(e, small)).toBeCloseTo(0.02 * Math.log(1.2) + 0.02 * Math.log(1.25), 10);
    expect(psi(e, small)).toBeLessThan(0.1);
    // half the deciles empty
    const large = [0.2, 0.2, 0.2, 0.2, 0.2, 0, 0, 0, 0, 0];
    expect(psi(e, large)).toBeGreaterThan(0.25);
  });

  it('rejects bins of different lengths', () => {
    expect(() => psi([0.5, 0.5], [1])).toThrow(/2 expected bins vs 1 actual/);
  });

  it('bins by interior edges: left-closed bins, NaN in bin 0', () => {
    const edges = [1, 3];
    expect([0.5, 1, 2.9, 3, 100].map((x) => binOf(x, edges))).toEqual([0, 1, 1, 2, 2]);
    expect(binOf(Number.NaN, edges)).toBe(0);
    expect(binOf(5, [])).toBe(0);
    expect(binCounts([0, 1, 2, 3, 4], edges)).toEqual([1, 2, 2]);
    expect(proportions([1, 2, 2])).toEqual([0.2, 0.4, 0.4]);
    expect(proportions([0, 0])).toEqual([0, 0]);
  });

  it('quantile edges split into equal counts, and merge ties into whole bins', () => {
    const oneToTen = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1];
    const edges = quantileEdges(oneToTen, 5);
    expect(edges).toEqual([3, 5, 7, 9]);
    expect(binCounts(oneToTen, edges)).toEqual([2, 2, 2, 2, 2]);
    const ties = [0, 0, 0, 0, 0, 0, 1, 2, 3, 4];
    const tieEdges = quantileEdges(ties, 5);
    expect(tieEdges).toEqual([1, 3]);
    expect(binCounts(ties, tieEdges)).toEqual([6, 2, 2]);
    expect(quantileEdges([7, 7, 7], 10)).toEqual([]);
    expect(() => quantileEdges([], 10)).toThrow(/no values/);
    expect(() => quantileEdges([1], 1)).toThrow(/bins 1/);
  });

  it('a binned window keeps only the last `size` values', () => {
    const w = new BinnedWindow([1], 4);
    for (const x of [0, 0, 2, 2]) w.add(x);
    expect(w.samples).toBe(4);
    expect(w.proportions()).toEqual([0.5, 0.5]);
    w.add(2);
    w.add(2);
    expect(w.samples).toBe(4);
    expect(w.proportions()).toEqual([0, 1]);
    expect(
      () =>
        new BinnedWindow(
          Array.from({ length: 256 }, (_, i) => i),
          10,
        ),
    ).toThrow(/257 bins/);
  });

  it('adding a column of a row-major matrix at once bins as adding its values one by one', () => {
    const edges = [0.1, 0.25, 0.5, 0.9];
    const one = new BinnedWindow(edges, 7);
    const strided = new BinnedWindow(edges, 7);
    // 5 rows × 3 columns; column 1 holds NaN, the edges themselves and values outside them.
    const m = Float32Array.from([9, 0.1, 9, 9, Number.NaN, 9, 9, 0.95, 9, 9, 0.25, 9, 9, -1, 9]);
    for (let round = 0; round < 3; round++) {
      for (let r = 0; r < 5; r++) one.add(m[r * 3 + 1]);
      strided.addStrided(m, 1, 3, 5);
      expect(strided.samples).toBe(one.samples);
      expect(strided.proportions()).toEqual(one.proportions());
    }
    expect(
      binCounts(
        Array.from({ length: 5 }, (_, r) => m[r * 3 + 1]),
        edges,
      ),
    ).toEqual([2, 1, 1, 0, 1]);
  });

  it("the precomputed bins are binOf's: crowded, tied and wide edges, values on and around them", () => {
    const rng = seededRandom(18).stream('psi.lookup');
    const edgeSets = [
      [0.2, 0.3],
      [-1, 0, 1e-9, 2e-9, 3e-9, 0.5, 7],
      quantileEdges(
        Array.from({ length: 5000 }, () => rng.next() ** 3),
        10,
      ).map((e) => Math.fround(e)),
      [0, 1, 1, 2], // not strictly ascending: binary search only
      [5],
      [],
    ];
    for (const edges of edgeSets) {
      const values: number[] = [Number.NaN, -Infinity, Infinity];
      for (const e of edges) values.push(e, Math.fround(e), e - 1e-12, e + 1e-12, Math.fround(e) - 1e-9);
      for (let i = 0; i < 3000; i++) values.push(-2 + 10 * rng.next() ** 4);
      for (const x of [Float32Array.from(values), Float64Array.from(values)]) {
        const w = new BinnedWindow(edges, x.length);
        w.addStrided(x, 0, 1, x.length);
        expect(w.proportions(), String(edges)).toEqual(proportions(binCounts(x, edges)));
      }
    }
  });
});
