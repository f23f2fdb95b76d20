import { ReclabError } from '../errors.ts';
import type { Clock } from '../ports/clock.ts';
import type { Predictions } from '../ports/ranker.ts';

export interface DynamicBatcherOptions {
  /** Floats per row (RANKER_INPUT_DIM for the ranker). */
  rowWidth: number;
  /**
   * A batch is dispatched as soon as the waiting rows reach this; requests are never split, so a
   * batch holds the longest prefix of the queue that fits (a lone request above it runs alone).
   */
  maxBatchRows: number;
  /** …or as soon as the oldest waiting request has waited this long (ms; 0 = dispatch at once). */
  maxBatchDelayMs: number;
  /** Batches running at once (a GPU pool's model instances); later batches wait in the queue. */
  maxInFlightBatches: number;
  /** Rows allowed to wait (not yet dispatched); beyond it, `submit` rejects at once. */
  maxQueueRows: number;
}

/** Why a batch left the queue. */
export type BatchTrigger = 'full' | 'delay' | 'drain';

/** One finished batch, for metrics. */
export interface BatchStats {
  rows: number;
  requests: number;
  /** Per request, ms from `submit` to dispatch, in queue order. */
  queueWaitsMs: number[];
  /** Ms from dispatch to the runner's answer (inference, for the ONNX runner). */
  runMs: number;
  trigger: BatchTrigger;
  ok: boolean;
}

export interface DynamicBatcherStats {
  queuedRows: number;
  queuedRequests: number;
  inFlightBatches: number;
  batches: number;
  rejectedFull: number;
}

/** Runs one batch: `features` of length rows × rowWidth → predictions of length rows per head. */
export type BatchRunner = (features: Float32Array, rows: number) => Promise<Predictions>;

interface Waiting {
  features: Float32Array;
  rows: number;
  enqueuedMs: number;
  resolve: (p: Predictions) => void;
  reject: (err: unknown) => void;
}

const HEADS = ['pClick', 'watchTimeS', 'pLike', 'pFinish', 'pDislike'] as const;

/**
 * Dynamic batching across concurrent requests (seed 000 §2.5, "Triton … dynamic batching"; the
 * semantics of Triton's `max_queue_delay_microseconds` and `preferred_batch_size`): callers submit
 * `rows` rows each; waiting requests are concatenated into one runner call when their rows reach
 * `maxBatchRows` or when the oldest has waited `maxBatchDelayMs`, whichever comes first; each caller
 * gets its own slice of the predictions. At most `maxInFlightBatches` run at once: while all are
 * busy, arrivals accumulate and leave together (the delay bound then counts from each request's
 * arrival, so a request that waited out a busy runner is dispatched as soon as a slot frees).
 *
 * Sans-I/O: time comes only from `Clock` (one timer, for the oldest waiting request) and the work
 * from `run`, so it runs unchanged in virtual time.
 *
 * `submit` rejects with RECLAB_ERR_RANKER_OVERLOADED (503) when the queue would exceed
 * `maxQueueRows`, RECLAB_ERR_REQUEST_INVALID for a wrongly sized input or one that could never fit
 * the queue, RECLAB_ERR_NOT_READY after `drain()`, RECLAB_ERR_RANKER_INVALID_OUTPUT when the runner
 * returns fewer rows than asked, and with the runner's own error when it fails (every request of
 * that batch gets it).
 */
export class DynamicBatcher {
  readonly #clock: Clock;
  readonly #opts: DynamicBatcherOptions;
  readonly #run: BatchRunner;
  readonly #onBatch: (s: BatchStats) => void;
  readonly #queue: Waiting[] = [];
  #queuedRows = 0;
  #inFlight = 0;
  #batches = 0;
  #rejectedFull = 0;
  #cancelTimer: (() => void) | undefined;
  #timerAtMs = Number.NaN;
  #draining = false;
  #idle: (() => void)[] = [];

  constructor(
    clock: Clock,
    opts: DynamicBatcherOptions,
    run: BatchRunner,
    onBatch: (s: BatchStats) => void = () => {},
  ) {
    for (const k of ['rowWidth', 'maxBatchRows', 'maxInFlightBatches', 'maxQueueRows'] as const) {
      if (!(Number.isInteger(opts[k]) && opts[k] >= 1)) throw new RangeError(`${k} must be an integer ≥ 1`);
    }
    if (!(opts.maxBatchDelayMs >= 0)) throw new RangeError('maxBatchDelayMs must be ≥ 0');
    this.#clock = clock;
    this.#opts = { ...opts };
    this.#run = run;
    this.#onBatch = onBatch;
  }

  stats(): DynamicBatcherStats {
    return {
      queuedRows: this.#queuedRows,
      queuedRequests: this.#queue.length,
      inFlightBatches: this.#inFlight,
      batches: this.#batches,
      rejectedFull: this.#rejectedFull,
    };
  }

  /** True after `drain()`: new submissions are refused. */
  get draining(): boolean {
    return this.#draining;
  }

  /**
   * Queues `rows` rows (`features`: `Float32Array` of length rows × rowWidth) for the next batch.
   * Resolves with this request's predictions (views into the batch's output, length `rows` each).
   */
  submit(features: Float32Array, rows: number): Promise<Predictions> {
    const { rowWidth, maxQueueRows } = this.#opts;
    if (this.#draining) return Promise.reject(new ReclabError('RECLAB_ERR_NOT_READY', 'ranker is draining'));
    if (!Number.isInteger(rows) || rows < 1 || features.length !== rows * rowWidth) {
      return Promise.reject(
        new ReclabError(
          'RECLAB_ERR_REQUEST_INVALID',
          `expected ${rows} rows × ${rowWidth} floats, got ${features.length} floats`,
        ),
      );
    }
    if (rows > maxQueueRows) {
      return Promise.reject(
        new ReclabError('RECLAB_ERR_REQUEST_INVALID', `${rows} rows exceed the queue's ${maxQueueRows}`),
      );
    }
    if (this.#queuedRows + rows > maxQueueRows) {
      this.#rejectedFull++;
      return Promise.reject(
        new ReclabError(
          'RECLAB_ERR_RANKER_OVERLOADED',
          `batch queue full (${this.#queuedRows} of ${maxQueueRows} rows waiting)`,
        ),
      );
    }
    return new Promise<Predictions>((resolve, reject) => {
      this.#queue.push({ features, rows, enqueuedMs: this.#clock.now(), resolve, reject });
      this.#queuedRows += rows;
      this.#pump();
    });
  }

  /**
   * Refuses new submissions, dispatches every waiting request without waiting for the delay, and
   * resolves once nothing waits or runs (graceful shutdown, model eviction).
   */
  drain(): Promise<void> {
    this.#draining = true;
    this.#pump();
    if (this.#queue.length === 0 && this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Dispatches every batch that is due, then arms the timer for the oldest request still waiting. */
  #pump(): void {
    const { maxBatchRows, maxBatchDelayMs, maxInFlightBatches } = this.#opts;
    while (this.#queue.length > 0 && this.#inFlight < maxInFlightBatches) {
      const now = this.#clock.now();
      let trigger: BatchTrigger;
      if (this.#queuedRows >= maxBatchRows) trigger = 'full';
      else if (now - this.#queue[0].enqueuedMs >= maxBatchDelayMs) trigger = 'delay';
      else if (this.#draining) trigger = 'drain';
      else break;
      this.#dispatch(trigger, now);
    }
    this.#armTimer();
    if (this.#queue.length === 0 && this.#inFlight === 0 && this.#idle.length > 0) {
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  #armTimer(): void {
    // A timer only matters when a slot is free: otherwise the next completion pumps.
    const due =
      this.#queue.length > 0 && this.#inFlight < this.#opts.maxInFlightBatches
        ? this.#queue[0].enqueuedMs + this.#opts.maxBatchDelayMs
        : Number.NaN;
    if (due === this.#timerAtMs) return;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    this.#timerAtMs = due;
    if (Number.isNaN(due)) return;
    this.#cancelTimer = this.#clock.setTimer(Math.max(0, due - this.#clock.now()), () => {
      this.#cancelTimer = undefined;
      this.#timerAtMs = Number.NaN;
      this.#pump();
    });
  }

  #dispatch(trigger: BatchTrigger, now: number): void {
    const { maxBatchRows, rowWidth } = this.#opts;
    // The longest prefix of the queue within maxBatchRows; at least one request.
    let count = 1;
    let rows = this.#queue[0].rows;
    while (count < this.#queue.length && rows + this.#queue[count].rows <= maxBatchRows) {
      rows += this.#queue[count].rows;
      count++;
    }
    const batch = this.#queue.splice(0, count);
    this.#queuedRows -= rows;
    this.#inFlight++;
    this.#batches++;
    let features: Float32Array;
    if (batch.length === 1) {
      features = batch[0].features;
    } else {
      features = new Float32Array(rows * rowWidth);
      let at = 0;
      for (const w of batch) {
        features.set(w.features, at);
        at += w.features.length;
      }
    }
    const queueWaitsMs = batch.map((w) => now - w.enqueuedMs);
    const started = this.#clock.now();
    let pending: Promise<Predictions>;
    try {
      pending = this.#run(features, rows);
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending
      .then((out) => {
        for (const head of HEADS) {
          const a = out[head];
          const required = head === 'pClick' || head === 'watchTimeS';
          if (a === undefined ? required : a.length < rows) {
            throw new ReclabError(
              'RECLAB_ERR_RANKER_INVALID_OUTPUT',
              `${head} has ${a?.length ?? 0} values for a batch of ${rows} rows`,
            );
          }
        }
        let offset = 0;
        for (const w of batch) {
          const mine = {} as Predictions;
          for (const head of HEADS) {
            const a = out[head];
            if (a !== undefined) mine[head] = a.subarray(offset, offset + w.rows);
          }
          offset += w.rows;
          w.resolve(mine);
        }
      })
      .then(
        () => this.#finish(batch.length, rows, queueWaitsMs, started, trigger, true),
        (err: unknown) => {
          for (const w of batch) w.reject(err);
          this.#finish(batch.length, rows, queueWaitsMs, started, trigger, false);
        },
      );
  }

  #finish(
    requests: number,
    rows: number,
    queueWaitsMs: number[],
    startedMs: number,
    trigger: BatchTrigger,
    ok: boolean,
  ): void {
    this.#inFlight--;
    try {
      this.#onBatch({ rows, requests, queueWaitsMs, runMs: this.#clock.now() - startedMs, trigger, ok });
    } finally {
      this.#pump();
    }
  }
}
