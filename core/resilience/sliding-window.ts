import { ReclabError } from '../errors.ts';

/** Outcome counts over a window: every recorded call, and how many of them failed or were slow. */
export interface WindowCounts {
  calls: number;
  failures: number;
  slow: number;
}

/**
 * A time-based sliding window of call outcomes, the aggregation of resilience4j's TIME_BASED
 * sliding window (resilience4j docs, CircuitBreaker, "Time-based sliding window"): a circular array
 * of `buckets` partial aggregations, each covering `windowMs / buckets` ms of time, plus a running
 * total that is updated on every record and reduced when a bucket is evicted (subtract-on-evict).
 *
 * The window covers the current bucket and the `buckets − 1` before it, so between
 * `windowMs − windowMs/buckets` and `windowMs` of history. Memory is fixed (three counters per
 * bucket, whatever the call rate); `record` and `counts` are O(1) amortised (advancing past k
 * buckets clears at most min(k, buckets) of them). It reads no clock: callers pass the time, in
 * the ms of the core's `Clock` port, and time is expected not to go backwards (an earlier time is
 * counted in the newest bucket).
 */
export class TimeSlidingWindow {
  readonly #bucketMs: number;
  readonly #calls: Int32Array;
  readonly #failures: Int32Array;
  readonly #slow: Int32Array;
  /** Index of the newest bucket on the time axis (floor(now / bucketMs)); -Infinity when empty. */
  #head = Number.NEGATIVE_INFINITY;
  /**
   * The newest bucket's slot in the arrays (`#head` mod `buckets`), kept so that a record in the
   * current bucket costs no modulo: `#head` is a large double (epoch ms ÷ bucket ms), whose `%` is
   * a slow floating-point remainder, and the breakers record every call.
   */
  #headSlot = 0;
  readonly #total: WindowCounts = { calls: 0, failures: 0, slow: 0 };

  /**
   * @param windowMs the window's length, ms (> 0)
   * @param buckets how many buckets it is split into (integer ≥ 1)
   * @throws ReclabError RECLAB_ERR_CONFIG_INVALID when either is out of range
   */
  constructor(windowMs: number, buckets: number) {
    if (!(windowMs > 0) || !Number.isFinite(windowMs)) {
      throw new ReclabError(
        'RECLAB_ERR_CONFIG_INVALID',
        `sliding window: windowMs must be > 0, got ${windowMs}`,
      );
    }
    if (!Number.isInteger(buckets) || buckets < 1) {
      throw new ReclabError(
        'RECLAB_ERR_CONFIG_INVALID',
        `sliding window: buckets must be an integer ≥ 1, got ${buckets}`,
      );
    }
    this.#bucketMs = windowMs / buckets;
    this.#calls = new Int32Array(buckets);
    this.#failures = new Int32Array(buckets);
    this.#slow = new Int32Array(buckets);
  }

  /** Records one call that ended at `nowMs`; it may be both failed and slow. */
  record(nowMs: number, failed: boolean, slow: boolean): void {
    const i = this.#advance(nowMs);
    this.#calls[i]++;
    this.#total.calls++;
    if (failed) {
      this.#failures[i]++;
      this.#total.failures++;
    }
    if (slow) {
      this.#slow[i]++;
      this.#total.slow++;
    }
  }

  /** The counts of the calls within the window at `nowMs` (a live view: copy it to keep it). */
  counts(nowMs: number): Readonly<WindowCounts> {
    this.#advance(nowMs);
    return this.#total;
  }

  /** Forgets every recorded call. */
  reset(): void {
    this.#calls.fill(0);
    this.#failures.fill(0);
    this.#slow.fill(0);
    this.#total.calls = 0;
    this.#total.failures = 0;
    this.#total.slow = 0;
    this.#head = Number.NEGATIVE_INFINITY;
    this.#headSlot = 0;
  }

  /** Moves the head to `nowMs`'s bucket, evicting the buckets that left the window; returns its slot. */
  #advance(nowMs: number): number {
    const n = this.#calls.length;
    const id = Math.floor(nowMs / this.#bucketMs);
    if (id > this.#head) {
      if (id - this.#head >= n) {
        if (this.#total.calls > 0) this.reset();
      } else {
        for (let b = this.#head + 1; b <= id; b++) this.#evict(((b % n) + n) % n);
      }
      this.#head = id;
      this.#headSlot = ((id % n) + n) % n;
    }
    return this.#headSlot;
  }

  #evict(slot: number): void {
    this.#total.calls -= this.#calls[slot];
    this.#total.failures -= this.#failures[slot];
    this.#total.slow -= this.#slow[slot];
    this.#calls[slot] = 0;
    this.#failures[slot] = 0;
    this.#slow[slot] = 0;
  }
}
