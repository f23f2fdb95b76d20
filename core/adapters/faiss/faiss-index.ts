/**
 * A thin adapter over faiss-node (FAISS 1.7.3, Debian's build) for the ANN retrieval sources
 * (seed 000 §2.4 "ANN Service" and its index type comparison: Flat, IVF-Flat, IVF-PQ, HNSW).
 *
 * Ids are row numbers: the vector at rows `i × dim … (i + 1) × dim − 1` of the build input has id `i`.
 * Mapping ids to video ids is the caller's job (one `Int32Array`/array lookup).
 *
 * Costs worth knowing:
 * - faiss-node takes and returns plain JS `number[]`, not typed arrays, so every call copies: the
 *   query `Float32Array` → `number[]` → C++ `float[]`, and the results back as JS numbers → typed
 *   arrays here. For one query that is tens of µs (SETUP-NOTES measured ~31 µs per `search()`);
 *   for `build` it is about one `number[]` of `n × dim` doubles per chunk (adds go in chunks to cap
 *   that temporary memory).
 * - Every call is synchronous on the calling thread: a search blocks the event loop for its whole
 *   duration (exact `Flat` search grows linearly with n: ~37 ms at 1M × 64-d per SETUP-NOTES).
 * - The index's memory lives outside the V8 heap and is freed only when the wrapper is garbage
 *   collected; V8 does not see its size, so drop references to replaced indexes promptly.
 * - The OpenMP thread count is process-wide (see `AnnIndex.setNumThreads`).
 *
 * Needs the patched add-on built by `scripts/setup/50-faiss-node.sh` (`setParam`, `setNumThreads`,
 * and FAISS exceptions turned into JS errors instead of aborting the process).
 */

import type { Index } from 'faiss-node';
import faiss from 'faiss-node';

/** Stable codes of `AnnIndexError`; callers match on these, never on the message. */
export const ANN_ERROR_CODES = [
  /** Input length is not a multiple of `dim`, a query is not `dim` long, or a file's dim differs. */
  'RECLAB_ERR_ANN_DIM_MISMATCH',
  /** The index needs training and training failed (e.g. fewer training rows than IVF lists). */
  'RECLAB_ERR_ANN_NOT_TRAINED',
  /** FAISS's index factory rejected the descriptor (`factory`) or the metric. */
  'RECLAB_ERR_ANN_FACTORY_INVALID',
  /** The index type has no such search parameter, or the value is not finite. */
  'RECLAB_ERR_ANN_PARAM_INVALID',
  /** Bad `k`, `threads`, `trainSample`, an empty vector set, or another FAISS-rejected call. */
  'RECLAB_ERR_ANN_ARGUMENT_INVALID',
  /** Writing or reading an index file failed (missing file or folder, corrupt data). */
  'RECLAB_ERR_ANN_IO_FAILED',
] as const;

export type AnnErrorCode = (typeof ANN_ERROR_CODES)[number];

/** Error thrown by `AnnIndex`; `cause` holds faiss-node's original error when there is one. */
export class AnnIndexError extends Error {
  readonly code: AnnErrorCode;

  constructor(code: AnnErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AnnIndexError';
    this.code = code;
  }
}

/** `ip`: inner product (cosine on L2-normalised vectors), higher is closer. `l2`: squared L2, lower is closer. */
export type AnnMetric = 'ip' | 'l2';

export interface AnnBuildOptions {
  /**
   * FAISS index factory descriptor: `'Flat'`, `'IVF256,Flat'`, `'HNSW32'`, `'IVF256,PQ16np'`, …
   * Write PQ as `PQ<m>np`: without `np` the factory adds polysemous training, which on Debian's build
   * takes minutes even for a few thousand vectors (bench/README.md) and only serves `ht` search.
   */
  factory: string;
  metric: AnnMetric;
  /** Search-time parameters applied after building, e.g. `{ nprobe: 16 }` (IVF), `{ efSearch: 128 }` (HNSW). */
  params?: Record<string, number>;
  /**
   * OpenMP threads for this build and every later FAISS call in the process (`omp_set_num_threads`
   * is process-wide for the calling thread). Unset: leave the current setting (FAISS default: all cores).
   */
  threads?: number;
  /**
   * Rows used to train IVF/PQ indexes (evenly strided over the input, so deterministic and covering
   * input sorted by cluster). Unset: all rows; FAISS's k-means itself subsamples to 256 points per
   * centroid. Ignored by indexes that need no training (Flat, HNSW).
   */
  trainSample?: number;
  /**
   * Build progress, called synchronously from `build` (the build itself is synchronous: a caller
   * drawing a bar must render from this callback). `train` at the start and end of training (one
   * native call, no finer progress; only for types that need training); `add` after each chunk of
   * vectors with rows done/total, rate and ETA. An exception thrown here aborts the build.
   */
  onProgress?: (e: AnnBuildProgress) => void;
}

/** One report of `AnnIndex.build` progress. Times in seconds (wall clock, `performance.now()`). */
export type AnnBuildProgress =
  | {
      stage: 'train';
      /** Rows trained on. */
      rows: number;
      /** False when training starts, true when it has finished. */
      finished: boolean;
      /** Seconds since training started (0 at the start). */
      elapsedS: number;
    }
  | {
      stage: 'add';
      /** Rows added so far, and in all. */
      done: number;
      total: number;
      /** Rows per second since adding started. */
      ratePerS: number;
      /** Seconds left at that rate. */
      etaS: number;
    };

/** One query's neighbours, best first; `-1` (not found) labels are dropped, so length ≤ k. */
export interface AnnSearchResult {
  /** Row ids of the neighbours. */
  ids: Int32Array;
  /** FAISS distances for `ids`: inner product (`ip`, descending) or squared L2 (`l2`, ascending). */
  scores: Float32Array;
}

// Rows per add() call: at most ADD_CHUNK_ROWS (bounds the temporary number[], 8 bytes per
// component, to ~64 MB at 128-d), and about 1/ADD_CHUNKS of the input (progress granularity), but
// not below ADD_CHUNK_MIN_ROWS (the per-call overhead, and HNSW's parallel insertion, want chunks).
const ADD_CHUNK_ROWS = 65_536;
const ADD_CHUNKS = 50;
const ADD_CHUNK_MIN_ROWS = 4_096;

const METRIC_TYPES: Record<AnnMetric, number> = {
  ip: faiss.MetricType.METRIC_INNER_PRODUCT,
  l2: faiss.MetricType.METRIC_L2,
};

/** An ANN index over `size` vectors of width `dim`, searched by row id. */
export class AnnIndex {
  readonly dim: number;
  /** Factory descriptor it was built from (`'unknown'` for a loaded index unless given). */
  readonly factory: string;
  /** Metric it was built with (`undefined` for a loaded index unless given). */
  readonly metric: AnnMetric | undefined;
  readonly #index: Index;
  readonly #params = new Map<string, number>();

  private constructor(index: Index, dim: number, factory: string, metric: AnnMetric | undefined) {
    this.#index = index;
    this.dim = dim;
    this.factory = factory;
    this.metric = metric;
  }

  /**
   * Builds an index over `vectors` (`Float32Array` of length n × dim, row i = id i): creates it with
   * FAISS's index factory, trains it when the type needs it, adds all rows in chunks (reporting
   * through `opts.onProgress`), then applies `params`.
   *
   * @throws AnnIndexError `RECLAB_ERR_ANN_DIM_MISMATCH` (length not a multiple of dim),
   *   `RECLAB_ERR_ANN_ARGUMENT_INVALID` (empty input, bad dim/threads/trainSample),
   *   `RECLAB_ERR_ANN_FACTORY_INVALID`, `RECLAB_ERR_ANN_NOT_TRAINED`, `RECLAB_ERR_ANN_PARAM_INVALID`
   */
  static build(vectors: Float32Array, dim: number, opts: AnnBuildOptions): AnnIndex {
    if (!Number.isInteger(dim) || dim < 1) {
      throw new AnnIndexError(
        'RECLAB_ERR_ANN_ARGUMENT_INVALID',
        `dim must be a positive integer, got ${dim}`,
      );
    }
    if (vectors.length % dim !== 0) {
      throw new AnnIndexError(
        'RECLAB_ERR_ANN_DIM_MISMATCH',
        `vectors has ${vectors.length} values, not a multiple of dim ${dim}`,
      );
    }
    const n = vectors.length / dim;
    if (n === 0) throw new AnnIndexError('RECLAB_ERR_ANN_ARGUMENT_INVALID', 'no vectors to index');
    if (opts.threads !== undefined) AnnIndex.setNumThreads(opts.threads);

    let index: Index;
    try {
      index = faiss.Index.fromFactory(dim, opts.factory, METRIC_TYPES[opts.metric]);
    } catch (err) {
      throw new AnnIndexError(
        'RECLAB_ERR_ANN_FACTORY_INVALID',
        `FAISS cannot build '${opts.factory}' (metric ${opts.metric}): ${messageOf(err)}`,
        { cause: err },
      );
    }

    const onProgress = opts.onProgress;
    if (!index.isTrained()) {
      const sample = trainingRows(vectors, dim, n, opts.trainSample);
      const t0 = performance.now();
      onProgress?.({ stage: 'train', rows: sample.length / dim, finished: false, elapsedS: 0 });
      try {
        index.train(Array.from(sample));
      } catch (err) {
        throw new AnnIndexError(
          'RECLAB_ERR_ANN_NOT_TRAINED',
          `training '${opts.factory}' on ${sample.length / dim} rows failed: ${messageOf(err)}`,
          { cause: err },
        );
      }
      onProgress?.({
        stage: 'train',
        rows: sample.length / dim,
        finished: true,
        elapsedS: (performance.now() - t0) / 1000,
      });
    }

    const chunk = Math.min(ADD_CHUNK_ROWS, Math.max(ADD_CHUNK_MIN_ROWS, Math.ceil(n / ADD_CHUNKS)));
    const addStart = performance.now();
    for (let row = 0; row < n; row += chunk) {
      const end = Math.min(n, row + chunk);
      try {
        index.add(Array.from(vectors.subarray(row * dim, end * dim)));
      } catch (err) {
        throw new AnnIndexError(
          'RECLAB_ERR_ANN_ARGUMENT_INVALID',
          `adding vectors failed: ${messageOf(err)}`,
          {
            cause: err,
          },
        );
      }
      if (onProgress) {
        const s = (performance.now() - addStart) / 1000;
        const ratePerS = s > 0 ? end / s : 0;
        onProgress({
          stage: 'add',
          done: end,
          total: n,
          ratePerS,
          etaS: ratePerS > 0 ? (n - end) / ratePerS : 0,
        });
      }
    }

    const ann = new AnnIndex(index, dim, opts.factory, opts.metric);
    for (const [name, value] of Object.entries(opts.params ?? {})) ann.setParam(name, value);
    return ann;
  }

  /**
   * Reads an index written by `save` (FAISS's own file format). FAISS files do not record the factory
   * descriptor, and faiss-node exposes no metric getter: pass them if the caller needs them back.
   *
   * @throws AnnIndexError `RECLAB_ERR_ANN_IO_FAILED` (missing or unreadable file),
   *   `RECLAB_ERR_ANN_NOT_TRAINED` (the file holds an untrained index),
   *   `RECLAB_ERR_ANN_DIM_MISMATCH` (`expect.dim` given and different)
   */
  static load(path: string, expect: { factory?: string; metric?: AnnMetric; dim?: number } = {}): AnnIndex {
    let index: Index;
    try {
      index = faiss.Index.read(path);
    } catch (err) {
      throw new AnnIndexError('RECLAB_ERR_ANN_IO_FAILED', `cannot read index ${path}: ${messageOf(err)}`, {
        cause: err,
      });
    }
    const dim = index.getDimension();
    if (expect.dim !== undefined && expect.dim !== dim) {
      throw new AnnIndexError(
        'RECLAB_ERR_ANN_DIM_MISMATCH',
        `index ${path} has dim ${dim}, expected ${expect.dim}`,
      );
    }
    if (!index.isTrained()) {
      throw new AnnIndexError('RECLAB_ERR_ANN_NOT_TRAINED', `index ${path} is not trained`);
    }
    return new AnnIndex(index, dim, expect.factory ?? 'unknown', expect.metric);
  }

  /**
   * Sets the OpenMP thread count for all later FAISS calls made from this thread, i.e. for every index
   * of the process used from the main thread (`omp_set_num_threads`). FAISS parallelises batched
   * search and training over these threads; they compete with the event loop and other workers.
   *
   * @throws AnnIndexError `RECLAB_ERR_ANN_ARGUMENT_INVALID` when `n` is not an integer ≥ 1
   */
  static setNumThreads(n: number): void {
    if (!Number.isInteger(n) || n < 1) {
      throw new AnnIndexError('RECLAB_ERR_ANN_ARGUMENT_INVALID', `threads must be an integer >= 1, got ${n}`);
    }
    faiss.setNumThreads(n);
  }

  /** The OpenMP thread count later FAISS calls will use (`omp_get_max_threads`). */
  static getNumThreads(): number {
    return faiss.getNumThreads();
  }

  /** Number of indexed vectors (ids are 0 … size − 1). */
  get size(): number {
    return this.#index.ntotal();
  }

  /** Search parameters set through `build({ params })` or `setParam` (not those read from a file). */
  get params(): Readonly<Record<string, number>> {
    return Object.fromEntries(this.#params);
  }

  /**
   * Sets a search-time parameter through FAISS's ParameterSpace: `nprobe` (IVF lists probed),
   * `efSearch` (HNSW candidate list size, default 16; it bounds recall even at k > efSearch: recall@100
   * 0.77 at 16 vs 1.00 at 256 in test/integration/faiss-index.test.ts), `k_factor` (refine), `ht`, …
   * Takes effect for the next search.
   *
   * @throws AnnIndexError `RECLAB_ERR_ANN_PARAM_INVALID` (unknown for this index type, or not finite)
   */
  setParam(name: string, value: number): void {
    if (!Number.isFinite(value)) {
      throw new AnnIndexError(
        'RECLAB_ERR_ANN_PARAM_INVALID',
        `${name} must be a finite number, got ${value}`,
      );
    }
    try {
      this.#index.setParam(name, value);
    } catch (err) {
      throw new AnnIndexError(
        'RECLAB_ERR_ANN_PARAM_INVALID',
        `'${this.factory}' does not take ${name}=${value}: ${messageOf(err)}`,
        { cause: err },
      );
    }
    this.#params.set(name, value);
  }

  /**
   * The `k` nearest rows to `query` (`Float32Array` of length dim), best first. Asks FAISS for
   * min(k, size) neighbours (faiss-node rejects k > size) and drops `-1` labels, which IVF with a
   * small `nprobe` returns when the probed lists hold fewer than k vectors.
   *
   * @throws AnnIndexError `RECLAB_ERR_ANN_DIM_MISMATCH`, `RECLAB_ERR_ANN_ARGUMENT_INVALID` (k not an
   *   integer ≥ 1)
   */
  search(query: Float32Array, k: number): AnnSearchResult {
    if (query.length !== this.dim) {
      throw new AnnIndexError(
        'RECLAB_ERR_ANN_DIM_MISMATCH',
        `query has ${query.length} values, index dim is ${this.dim}`,
      );
    }
    return this.#searchRows(query, 1, k)[0]!;
  }

  /**
   * Searches `queries` (`Float32Array` of length nq × dim) in one native call: the per-call overhead
   * is paid once and FAISS spreads the queries over its OpenMP threads.
   *
   * @returns one result per query, in query order
   * @throws AnnIndexError `RECLAB_ERR_ANN_DIM_MISMATCH`, `RECLAB_ERR_ANN_ARGUMENT_INVALID`
   */
  searchBatch(queries: Float32Array, k: number): AnnSearchResult[] {
    if (queries.length % this.dim !== 0) {
      throw new AnnIndexError(
        'RECLAB_ERR_ANN_DIM_MISMATCH',
        `queries has ${queries.length} values, not a multiple of dim ${this.dim}`,
      );
    }
    return this.#searchRows(queries, queries.length / this.dim, k);
  }

  /**
   * Writes the index to `path` in FAISS's file format (`load` reads it back; so does Python FAISS).
   *
   * @throws AnnIndexError `RECLAB_ERR_ANN_IO_FAILED`
   */
  save(path: string): void {
    try {
      this.#index.write(path);
    } catch (err) {
      throw new AnnIndexError('RECLAB_ERR_ANN_IO_FAILED', `cannot write index ${path}: ${messageOf(err)}`, {
        cause: err,
      });
    }
  }

  #searchRows(queries: Float32Array, nq: number, k: number): AnnSearchResult[] {
    if (!Number.isInteger(k) || k < 1) {
      throw new AnnIndexError('RECLAB_ERR_ANN_ARGUMENT_INVALID', `k must be an integer >= 1, got ${k}`);
    }
    const kAsked = Math.min(k, this.size);
    if (nq === 0 || kAsked === 0) {
      return Array.from({ length: nq }, () => ({ ids: new Int32Array(0), scores: new Float32Array(0) }));
    }
    let raw: { labels: number[]; distances: number[] };
    try {
      raw = this.#index.search(Array.from(queries), kAsked);
    } catch (err) {
      throw new AnnIndexError('RECLAB_ERR_ANN_ARGUMENT_INVALID', `search failed: ${messageOf(err)}`, {
        cause: err,
      });
    }
    const results: AnnSearchResult[] = [];
    for (let q = 0; q < nq; q++) {
      const base = q * kAsked;
      let found = 0;
      // FAISS pads with -1 at the end of a query's list, but count rather than assume that.
      for (let j = 0; j < kAsked; j++) if (raw.labels[base + j] >= 0) found++;
      const ids = new Int32Array(found);
      const scores = new Float32Array(found);
      for (let j = 0, out = 0; j < kAsked; j++) {
        const label = raw.labels[base + j];
        if (label < 0) continue;
        ids[out] = label;
        scores[out] = raw.distances[base + j];
        out++;
      }
      results.push({ ids, scores });
    }
    return results;
  }
}

function trainingRows(
  vectors: Float32Array,
  dim: number,
  n: number,
  trainSample: number | undefined,
): Float32Array {
  if (trainSample === undefined || trainSample >= n) return vectors;
  if (!Number.isInteger(trainSample) || trainSample < 1) {
    throw new AnnIndexError(
      'RECLAB_ERR_ANN_ARGUMENT_INVALID',
      `trainSample must be an integer >= 1, got ${trainSample}`,
    );
  }
  const sample = new Float32Array(trainSample * dim);
  const stride = n / trainSample;
  for (let i = 0; i < trainSample; i++) {
    const row = Math.floor(i * stride);
    sample.set(vectors.subarray(row * dim, (row + 1) * dim), i * dim);
  }
  return sample;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
