import { join } from 'node:path';
import { LRUCache } from 'lru-cache';
import { OnnxRanker } from '../adapters/onnx/onnx-models.ts';
import { ReclabError } from '../errors.ts';
import { RANKER_INPUT_DIM } from '../features/schema.ts';
import type { Clock } from '../ports/clock.ts';
import { versionDir } from '../registry/model-registry.ts';
import { type BatchStats, DynamicBatcher, type DynamicBatcherOptions } from './dynamic-batcher.ts';

/** One registry version's ranker session, warmed up, behind its own dynamic batcher. */
export interface LoadedModel {
  readonly modelVersion: string;
  readonly ranker: OnnxRanker;
  readonly batcher: DynamicBatcher;
  readonly loadMs: number;
  readonly warmUpMs: number;
}

/** Loaded models by their loading promise, once settled (for synchronous stats). */
const settled = new WeakMap<Promise<LoadedModel>, LoadedModel>();

export interface ModelSessionsOptions {
  registryDir: string;
  /** Sessions kept at once; loading another evicts the least recently used (after it drains). */
  maxModels: number;
  ortThreads: number;
  /** Dummy batches run before a session serves (seed 000 §7 / §2.5 "Model warmup"). */
  warmUpRounds: number;
  batching: Omit<DynamicBatcherOptions, 'rowWidth'>;
  clock: Clock;
  onBatch?: (modelVersion: string, s: BatchStats) => void;
  onEvent?: (e: {
    event: 'model_loaded' | 'model_load_failed' | 'model_evicted';
    modelVersion: string;
    loadMs?: number;
    warmUpMs?: number;
    error?: string;
  }) => void;
}

/**
 * The ranker tier's loaded models: `<registryDir>/<version>/ranker.onnx` opened on first use (one
 * load per version however many requests ask at once), warmed up, and kept in an LRU of
 * `maxModels` (lru-cache). An evicted model's batcher drains before its session is released, so
 * requests already queued on it still get their predictions.
 */
export class ModelSessions {
  readonly #opts: ModelSessionsOptions;
  readonly #cache: LRUCache<string, Promise<LoadedModel>>;
  readonly #retiring = new Set<Promise<void>>();
  #closed = false;

  constructor(opts: ModelSessionsOptions) {
    this.#opts = opts;
    this.#cache = new LRUCache<string, Promise<LoadedModel>>({
      max: opts.maxModels,
      dispose: (loading, version, reason) => {
        if (reason !== 'evict' && reason !== 'delete') return;
        const retired = loading.then(
          async (m) => {
            opts.onEvent?.({ event: 'model_evicted', modelVersion: version });
            await m.batcher.drain();
            await m.ranker.release();
          },
          () => {}, // a failed load holds nothing
        );
        this.#retiring.add(retired);
        void retired.finally(() => this.#retiring.delete(retired));
      },
    });
  }

  /** Versions loaded or loading, most recently used first. */
  versions(): string[] {
    return [...this.#cache.keys()];
  }

  /** Rows waiting in every loaded model's batch queue. */
  queuedRows(): number {
    let rows = 0;
    for (const [, loading] of this.#cache.entries()) {
      const m = settled.get(loading);
      if (m) rows += m.batcher.stats().queuedRows;
    }
    return rows;
  }

  /**
   * The loaded model of `version`, loading and warming it up first if needed.
   * @throws ReclabError RECLAB_ERR_MODEL_VERSION_UNKNOWN (bad name, or not in the registry),
   *   RECLAB_ERR_MODEL_LOAD_FAILED (ranker.onnx missing or invalid, warm-up failed),
   *   RECLAB_ERR_NOT_READY (closing)
   */
  async get(version: string): Promise<LoadedModel> {
    if (this.#closed) throw new ReclabError('RECLAB_ERR_NOT_READY', 'ranker tier is closing');
    const cached = this.#cache.get(version);
    if (cached) return cached;
    // Check the registry before taking an LRU slot: an unknown version must not evict a good one.
    const dir = await versionDir(this.#opts.registryDir, version);
    if (this.#closed) throw new ReclabError('RECLAB_ERR_NOT_READY', 'ranker tier is closing');
    const raced = this.#cache.get(version);
    if (raced) return raced;
    const loading = this.#load(version, dir);
    this.#cache.set(version, loading);
    loading.then(
      (m) => settled.set(loading, m),
      () => {
        if (this.#cache.peek(version) === loading) this.#cache.delete(version);
      },
    );
    return loading;
  }

  async #load(version: string, dir: string): Promise<LoadedModel> {
    const { clock, onEvent } = this.#opts;
    const t0 = clock.now();
    let ranker: OnnxRanker;
    try {
      ranker = await OnnxRanker.load(join(dir, 'ranker.onnx'), version, this.#opts.ortThreads);
    } catch (err) {
      onEvent?.({ event: 'model_load_failed', modelVersion: version, error: (err as Error).message });
      throw new ReclabError('RECLAB_ERR_MODEL_LOAD_FAILED', `${version}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const t1 = clock.now();
    try {
      await warmUpRanker(ranker, this.#opts.warmUpRounds, this.#opts.batching.maxBatchRows);
    } catch (err) {
      await ranker.release().catch(() => {});
      onEvent?.({ event: 'model_load_failed', modelVersion: version, error: (err as Error).message });
      throw new ReclabError('RECLAB_ERR_MODEL_LOAD_FAILED', `${version} warm-up: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const t2 = clock.now();
    const batcher = new DynamicBatcher(
      clock,
      { ...this.#opts.batching, rowWidth: RANKER_INPUT_DIM },
      (features, rows) => ranker.score(features, rows),
      (s) => this.#opts.onBatch?.(version, s),
    );
    const m = { modelVersion: version, ranker, batcher, loadMs: t1 - t0, warmUpMs: t2 - t1 };
    onEvent?.({ event: 'model_loaded', modelVersion: version, loadMs: m.loadMs, warmUpMs: m.warmUpMs });
    return m;
  }

  /** Refuses new work, drains every batcher (queued requests still run) and releases the sessions. */
  async close(): Promise<void> {
    this.#closed = true;
    // clear() disposes every entry with reason 'delete' (drain, then release).
    this.#cache.clear();
    while (this.#retiring.size > 0) await Promise.all([...this.#retiring]);
  }
}

/**
 * Runs `rounds` dummy batches, alternating one request's size (300 rows, seed 000's candidate count)
 * and a full batch (`maxBatchRows`), so both shapes are warm before traffic.
 * @throws Error when the ranker returns the wrong number of rows
 */
async function warmUpRanker(ranker: OnnxRanker, rounds: number, maxBatchRows: number): Promise<void> {
  const sizes = [Math.min(300, maxBatchRows), maxBatchRows];
  for (let round = 0; round < rounds; round++) {
    const rows = sizes[round % 2];
    const p = await ranker.score(new Float32Array(rows * RANKER_INPUT_DIM), rows);
    if (p.pClick.length !== rows) throw new Error(`ranker returned ${p.pClick.length} rows for ${rows}`);
  }
}
