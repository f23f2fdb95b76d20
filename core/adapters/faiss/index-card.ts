/**
 * "Index card": the few numbers that say whether an ANN index is fit to serve (seed 000 §2.4, index
 * type comparison): recall@k against exact search, single-query latency, and memory. Used by
 * bench/ann.ts and meant for a `reclab index rebuild` command that builds an index from the
 * artifacts' item embeddings, prints its card and refuses to install it below a recall floor.
 *
 * Recall here is recall against exact (`Flat`) search on the same vectors, not against user clicks:
 * recall@k = |ANN top-k ∩ exact top-k| / |exact top-k|, averaged over queries. Ties at the k-th
 * exact score can count a correct answer as a miss, so it slightly understates on data with
 * near-duplicate vectors.
 */

import { statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type LatencySummaryUs,
  latencyHistogramUs,
  recordSinceUs,
  summariseUs,
} from '../../observability/latency-us.ts';
import { type AnnIndex, AnnIndexError, type AnnSearchResult } from './faiss-index.ts';

/** What the card functions need from an index: `AnnIndex` implements it. */
export interface CardIndex {
  readonly dim: number;
  search(query: Float32Array, k: number): AnnSearchResult;
  searchBatch(queries: Float32Array, k: number): AnnSearchResult[];
}

/** Recall of an index against exact neighbours. */
export interface RecallReport {
  /** k of recall@k. */
  k: number;
  queries: number;
  /** Mean over queries of |found ∩ exact| / |exact|, in [0, 1]. */
  mean: number;
  /** Worst query's recall, in [0, 1]. */
  min: number;
  /** 10th percentile of per-query recall (the tail a user sees), in [0, 1]. */
  p10: number;
}

/** Single-query latency, one `search` call at a time, from an HdrHistogram (3 significant digits). */
export interface LatencyReport extends LatencySummaryUs {
  /** Timed calls (warm-up calls excluded). */
  runs: number;
  warmup: number;
}

/** The card of one index: shape, search parameters, recall, latency and memory. */
export interface IndexCard {
  factory: string;
  params: Record<string, number>;
  size: number;
  dim: number;
  recall: RecallReport;
  latency: LatencyReport;
  /** Size of the index in FAISS's file format, bytes: a close estimate of its native memory. */
  serializedBytes: number;
}

/**
 * Exact top-k ids per query, from one batched search of an exact index (build it with
 * `AnnIndex.build(vectors, dim, { factory: 'Flat', metric })`).
 *
 * @param queries `Float32Array` of length nq × dim
 * @returns nq arrays of ≤ k row ids, best first
 * @throws AnnIndexError `RECLAB_ERR_ANN_DIM_MISMATCH`, `RECLAB_ERR_ANN_ARGUMENT_INVALID`
 */
export function exactNeighbours(flat: CardIndex, queries: Float32Array, k: number): Int32Array[] {
  return flat.searchBatch(queries, k).map((r) => r.ids);
}

/**
 * Recall@k of `index` against `truth`: either precomputed exact neighbours (`exactNeighbours`, to
 * reuse across a parameter sweep) or an exact index to compute them from. Searches `index` in one
 * batched call (recall does not depend on batching).
 *
 * @param queries `Float32Array` of length nq × dim, nq ≥ 1
 * @throws AnnIndexError `RECLAB_ERR_ANN_ARGUMENT_INVALID` (no queries, or `truth` has a different
 *   number of queries), `RECLAB_ERR_ANN_DIM_MISMATCH`
 */
export function measureRecall(
  index: CardIndex,
  truth: CardIndex | readonly Int32Array[],
  queries: Float32Array,
  k: number,
): RecallReport {
  const nq = queries.length / index.dim;
  if (!Number.isInteger(nq) || nq < 1) {
    throw new AnnIndexError(
      'RECLAB_ERR_ANN_ARGUMENT_INVALID',
      `queries must hold a positive whole number of ${index.dim}-d rows, got ${queries.length} values`,
    );
  }
  const exact = Array.isArray(truth) ? truth : exactNeighbours(truth as CardIndex, queries, k);
  if (exact.length !== nq) {
    throw new AnnIndexError(
      'RECLAB_ERR_ANN_ARGUMENT_INVALID',
      `truth has ${exact.length} queries, queries has ${nq}`,
    );
  }
  const found = index.searchBatch(queries, k);
  const perQuery = new Float64Array(nq);
  for (let q = 0; q < nq; q++) {
    const want = exact[q]!.subarray(0, k);
    if (want.length === 0) {
      perQuery[q] = 1;
      continue;
    }
    const wanted = new Set(want);
    let hits = 0;
    for (const id of found[q]!.ids.subarray(0, k)) if (wanted.has(id)) hits++;
    perQuery[q] = hits / want.length;
  }
  const sorted = Float64Array.from(perQuery).sort();
  let sum = 0;
  for (const r of perQuery) sum += r;
  return {
    k,
    queries: nq,
    mean: sum / nq,
    min: sorted[0]!,
    p10: sorted[Math.floor(0.1 * (nq - 1))]!,
  };
}

/**
 * Single-query latency of `index.search(query, k)` over `queries` (cycled until `runs` timed calls),
 * after `warmup` untimed calls. Each call is timed with `process.hrtime.bigint()` and recorded in
 * µs into an HdrHistogram; includes faiss-node's JS↔C++ copying, which a caller pays too.
 *
 * @param queries `Float32Array` of length nq × dim, nq ≥ 1
 * @param opts `runs` timed calls (default nq), `warmup` calls (default min(50, nq))
 * @throws AnnIndexError `RECLAB_ERR_ANN_ARGUMENT_INVALID` (no queries, runs < 1)
 */
export function measureLatency(
  index: CardIndex,
  queries: Float32Array,
  k: number,
  opts: { runs?: number; warmup?: number } = {},
): LatencyReport {
  const dim = index.dim;
  const nq = queries.length / dim;
  const runs = opts.runs ?? nq;
  const warmup = opts.warmup ?? Math.min(50, nq);
  if (!Number.isInteger(nq) || nq < 1 || !Number.isInteger(runs) || runs < 1) {
    throw new AnnIndexError(
      'RECLAB_ERR_ANN_ARGUMENT_INVALID',
      `need ≥ 1 query of dim ${dim} and runs ≥ 1 (got ${queries.length} values, runs ${runs})`,
    );
  }
  const row = (i: number) => queries.subarray((i % nq) * dim, ((i % nq) + 1) * dim);
  for (let i = 0; i < warmup; i++) index.search(row(i), k);
  const histogram = latencyHistogramUs();
  try {
    for (let i = 0; i < runs; i++) {
      const query = row(warmup + i);
      const t0 = process.hrtime.bigint();
      index.search(query, k);
      recordSinceUs(histogram, t0);
    }
    return { runs, warmup, ...summariseUs(histogram) };
  } finally {
    histogram.destroy();
  }
}

/**
 * Size of `index` in FAISS's file format, in bytes (written to a temporary file, then removed).
 * faiss-node has no memory getter; the file holds the same vectors, codes, lists and graph as
 * memory, so it is a close lower bound of the native footprint (allocator slack not included).
 *
 * @throws AnnIndexError `RECLAB_ERR_ANN_IO_FAILED` when the temporary file cannot be written
 */
export function serializedBytes(index: AnnIndex): number {
  const path = join(tmpdir(), `reclab-index-card-${process.pid}-${Date.now()}.faiss`);
  try {
    index.save(path);
    return statSync(path).size;
  } finally {
    try {
      unlinkSync(path);
    } catch {
      // nothing written
    }
  }
}

/**
 * The full card of `index`: recall@k against `truth` (exact index or precomputed neighbours),
 * single-query latency and serialized size.
 *
 * @throws AnnIndexError as `measureRecall`, `measureLatency`, `serializedBytes`
 */
export function indexCard(
  index: AnnIndex,
  truth: CardIndex | readonly Int32Array[],
  queries: Float32Array,
  k: number,
  opts: { runs?: number; warmup?: number } = {},
): IndexCard {
  return {
    factory: index.factory,
    params: { ...index.params },
    size: index.size,
    dim: index.dim,
    recall: measureRecall(index, truth, queries, k),
    latency: measureLatency(index, queries, k, opts),
    serializedBytes: serializedBytes(index),
  };
}
