import { describe, expect, it } from 'vitest';
import { AnnIndex, type AnnIndexError } from '../../core/adapters/faiss/faiss-index.ts';
import { measureLatency, measureRecall } from '../../core/adapters/faiss/index-card.ts';
import { seededRandom } from '../../core/random/seeded-random.ts';
import { carryOverFresh, FreshIndex, MergedAnnSearcher } from '../../core/retrieval/fresh-index.ts';
import type { AnnSearcher } from '../../core/retrieval/two-tower-source.ts';

// The fresh-uploads index (seed 000 §7) against a real FAISS main index on 5k clustered unit vectors.
const DIM = 16;
const MAIN = 5_000;

const random = seededRandom(11).stream('ann-fresh-test');

function unit(): Float32Array {
  const v = new Float32Array(DIM);
  let norm = 0;
  for (let j = 0; j < DIM; j++) {
    v[j] = random.normal();
    norm += v[j]! * v[j]!;
  }
  for (let j = 0; j < DIM; j++) v[j]! /= Math.sqrt(norm);
  return v;
}

/** `v` plus a little noise, renormalised: a query "near" v. */
function near(v: Float32Array, noise = 0.05): Float32Array {
  const q = Float32Array.from(v, (x) => x + noise * random.normal());
  const norm = Math.hypot(...q);
  return q.map((x) => x / norm);
}

function clustered(n: number): Float32Array {
  const centres = Array.from({ length: 50 }, unit);
  const out = new Float32Array(n * DIM);
  for (let i = 0; i < n; i++) out.set(near(centres[i % 50]!, 0.3), i * DIM);
  return out;
}

/** A fixed answer, to test the merge alone. */
function fixed(ids: number[], scores: number[]): AnnSearcher {
  return { search: (_q, k) => ({ ids: ids.slice(0, k), scores: scores.slice(0, k) }) };
}

describe('FreshIndex', () => {
  it('finds a freshly added vector from a query near it, with its exact inner product', () => {
    const fresh = new FreshIndex({ dim: DIM, capacity: 100 });
    const vectors = Array.from({ length: 50 }, unit);
    for (const [i, v] of vectors.entries()) fresh.add(10_000 + i, v);
    const q = near(vectors[17]!);
    const { ids, scores } = fresh.search(q, 5);
    expect(ids[0]).toBe(10_017);
    let dot = 0;
    for (let j = 0; j < DIM; j++) dot += q[j]! * vectors[17]![j]!;
    expect(scores[0]).toBeCloseTo(dot, 5);
    for (let i = 1; i < scores.length; i++) expect(scores[i]!).toBeLessThanOrEqual(scores[i - 1]!);
  });

  it('evicts the oldest-added video when full and flags a rebuild from rebuildAt', () => {
    const fresh = new FreshIndex({ dim: DIM, capacity: 3, rebuildAt: 2 });
    const v = Array.from({ length: 5 }, unit);
    expect(fresh.add(1, v[0]!)).toBe(-1);
    expect(fresh.needsRebuild).toBe(false);
    expect(fresh.add(2, v[1]!)).toBe(-1);
    expect(fresh.needsRebuild).toBe(true);
    expect(fresh.add(3, v[2]!)).toBe(-1);
    expect(fresh.add(1, v[3]!)).toBe(-1); // re-add: replaces in place, refreshes its age
    expect(fresh.add(4, v[4]!)).toBe(2); // 2 is now the oldest
    expect(fresh.size).toBe(3);
    expect(fresh.has(2)).toBe(false);
    expect(fresh.stats()).toEqual({ size: 3, capacity: 3, added: 5, evicted: 1 });
    expect(fresh.search(near(v[3]!), 1).ids[0]).toBe(1);
    expect(fresh.remove(3)).toBe(true);
    expect(fresh.remove(3)).toBe(false);
    fresh.clear();
    expect(fresh.size).toBe(0);
    expect(fresh.search(v[0]!, 10).ids.length).toBe(0);
    fresh.add(9, v[0]!);
    expect(Array.from(fresh.search(v[0]!, 10).ids)).toEqual([9]);
  });

  it('rejects bad shapes by code', () => {
    expect(() => new FreshIndex({ dim: DIM, capacity: 0 })).toThrow(/capacity/);
    const fresh = new FreshIndex({ dim: DIM, capacity: 2 });
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return (err as AnnIndexError).code;
      }
      return undefined;
    };
    expect(code(() => fresh.add(1, new Float32Array(DIM - 1)))).toBe('RECLAB_ERR_ANN_DIM_MISMATCH');
    expect(code(() => fresh.add(-1, unit()))).toBe('RECLAB_ERR_ANN_ARGUMENT_INVALID');
    expect(code(() => fresh.search(unit(), 0))).toBe('RECLAB_ERR_ANN_ARGUMENT_INVALID');
    expect(code(() => fresh.search(new Float32Array(3), 1))).toBe('RECLAB_ERR_ANN_DIM_MISMATCH');
  });
});

describe('MergedAnnSearcher', () => {
  it('merges by score, maps main rows to videos, and keeps the better score of a duplicate', () => {
    const main = fixed([0, 1, 2], [0.9, 0.5, 0.1]);
    const fresh = fixed([700, 101], [0.7, 0.95]);
    const merged = new MergedAnnSearcher(main, fresh, [100, 101, 102]);
    const { ids, scores } = merged.search(new Float32Array(DIM), 4);
    expect(Array.from(ids)).toEqual([101, 100, 700, 102]); // 101: fresh 0.95 beats main 0.5
    expect(Array.from(scores)).toEqual([0.95, 0.9, 0.7, 0.1].map(Math.fround));
    expect(Array.from(merged.search(new Float32Array(DIM), 2).ids)).toEqual([101, 100]);
  });

  it('finds a fresh upload through the merge, over a real FAISS main index', () => {
    const vectors = clustered(MAIN);
    const main = AnnIndex.build(vectors, DIM, {
      factory: 'IVF64,Flat',
      metric: 'ip',
      params: { nprobe: 8 },
      threads: 1,
    });
    const fresh = new FreshIndex({ dim: DIM, capacity: 1_000 });
    const merged = new MergedAnnSearcher(main, fresh);
    const upload = unit();
    fresh.add(MAIN, upload); // the next catalogue index: uploaded after the main build
    const { ids, scores } = merged.search(near(upload, 0.02), 10);
    expect(ids[0]).toBe(MAIN);
    expect(ids.length).toBe(10);
    for (let i = 1; i < scores.length; i++) expect(scores[i]!).toBeLessThanOrEqual(scores[i - 1]!);
    // The other nine are the main index's own answer.
    const alone = main.search(near(upload, 0.02), 9);
    expect(new Set(ids.subarray(1)).size).toBe(9);
    expect(alone.ids.length).toBe(9);
  });
});

describe('index card', () => {
  it('measures recall against Flat and latency', () => {
    const vectors = clustered(MAIN);
    const flat = AnnIndex.build(vectors, DIM, { factory: 'Flat', metric: 'ip', threads: 1 });
    const ivf = AnnIndex.build(vectors, DIM, {
      factory: 'IVF64,Flat',
      metric: 'ip',
      params: { nprobe: 64 },
      threads: 1,
    });
    const queries = new Float32Array(50 * DIM);
    for (let q = 0; q < 50; q++) queries.set(unit(), q * DIM);
    expect(measureRecall(flat, flat, queries, 20).mean).toBe(1);
    const full = measureRecall(ivf, flat, queries, 20); // nprobe = nlist: exhaustive
    expect(full.mean).toBeGreaterThan(0.99);
    ivf.setParam('nprobe', 1);
    const one = measureRecall(ivf, flat, queries, 20);
    expect(one.mean).toBeLessThan(full.mean);
    expect(one.min).toBeLessThanOrEqual(one.p10);
    const latency = measureLatency(ivf, queries, 20, { runs: 100, warmup: 10 });
    expect(latency.runs).toBe(100);
    expect(latency.p50Us).toBeGreaterThan(0);
    expect(latency.p99Us).toBeGreaterThanOrEqual(latency.p50Us);
  });
});

describe('carryOverFresh', () => {
  /** A stand-in item tower for the carry logic alone (the real towers: registry-fresh-swap.test.ts): vector = features reversed. */
  const reversing = {
    calls: 0,
    async encodeBatch(features: Float32Array, n: number) {
      this.calls++;
      const out = new Float32Array(n * DIM);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < DIM; j++) out[i * DIM + j] = features[i * DIM + DIM - 1 - j]!;
      return out;
    },
  };

  it('re-embeds kept inputs oldest first, bounded by the target capacity, and picks up adds made meanwhile', async () => {
    const from = new FreshIndex({ dim: DIM, capacity: 10, featureDim: DIM });
    const into = new FreshIndex({ dim: DIM, capacity: 4, featureDim: DIM });
    const inputs = Array.from({ length: 7 }, unit);
    for (let i = 0; i < 6; i++) from.add(100 + i, unit(), inputs[i]);
    from.add(200, unit()); // no kept input: cannot be carried
    let added = false;
    const encoder = {
      async encodeBatch(features: Float32Array, n: number) {
        // An upload announced to the active set while the standby is being filled.
        if (!added) {
          added = true;
          from.add(106, unit(), inputs[6]);
        }
        return reversing.encodeBatch(features, n);
      },
    };
    const r = await carryOverFresh(from, into, encoder, { batchRows: 2 });
    expect(r).toEqual({ videos: 5, rounds: 3, skipped: 1 });
    // Newest 4 of the first pass (102…105), then 106: 102 evicted as the oldest.
    expect([102, 103, 104, 105, 106].map((v) => into.has(v))).toEqual([false, true, true, true, true]);
    expect(into.has(100) || into.has(200)).toBe(false);
    const v = into.vectorOf(106)!;
    for (let j = 0; j < DIM; j++) expect(v[j]).toBe(inputs[6]![DIM - 1 - j]);
    // Carried entries keep their inputs, so they can be carried again at the next swap.
    expect(Array.from(into.entriesSince().videos)).toEqual([103, 104, 105, 106]);
  });

  it('refuses indexes with different input widths', async () => {
    const from = new FreshIndex({ dim: DIM, capacity: 2, featureDim: DIM });
    const into = new FreshIndex({ dim: DIM, capacity: 2, featureDim: 3 });
    await expect(carryOverFresh(from, into, reversing)).rejects.toMatchObject({
      code: 'RECLAB_ERR_ANN_DIM_MISMATCH',
    });
  });
});
