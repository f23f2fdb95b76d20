import type { Clock } from '../ports/clock.ts';

/**
 * Options of {@link DeliveryPolicy}; every `…Ms` is milliseconds, every `…Bytes` bytes, every count
 * is records (impressions or events).
 */
export interface DeliveryPolicyOptions {
  /** Most records held in memory awaiting delivery or spooling; `admit` refuses beyond it. */
  bufferMax: number;
  /** Most records per send. */
  batchMax: number;
  /** Most bytes (keys + values) per send; a single larger record is still sent alone. */
  batchMaxBytes: number;
  /** Pause after a failed send; doubles per further failure up to `retryDelayMaxMs`. */
  retryDelayMs: number;
  /** Longest pause between sends while the log fails. */
  retryDelayMaxMs: number;
  /** Whether a disk spool exists. Without one, records wait in memory only. */
  hasSpool: boolean;
  /** Sends failing for this long move the in-memory records to the spool (0: at the first failure). */
  spoolAfterFailureMs: number;
  /** This many records in memory move to the spool, even while sends succeed. */
  spoolHighWater: number;
}

/** What the delivery loop holds now (the policy never looks at the records themselves). */
export interface DeliveryState {
  /** Records in memory. */
  buffered: number;
  /** Records in the spool not yet acknowledged. */
  spoolRecords: number;
  /** Bytes the spool holds. */
  spoolBytes: number;
}

/**
 * The loop's next step:
 * - `spill`: move every in-memory record (oldest first, as many as fit) to the spool, then report
 *   with {@link DeliveryPolicy.spilled} or {@link DeliveryPolicy.spillFailed};
 * - `send`: send the next batch from `spool` (oldest segment first) or from `memory`, sized by
 *   {@link DeliveryPolicy.batchSize}, cut at `deadlineMs`; report with `sent` or `failed`;
 * - `wait`: pause `delayMs` (the backoff after a failure; a caller may end it early to offer more
 *   records: sends still wait for the pause's end, spills do not), or (undefined) until a record is
 *   offered or the log is closed;
 * - `done`: the log is closed and nothing more will be attempted (what is left stays where it is).
 */
export type DeliveryAction =
  | { kind: 'spill' }
  | { kind: 'send'; from: 'spool' | 'memory'; deadlineMs: number }
  | { kind: 'wait'; delayMs: number | undefined }
  | { kind: 'done' };

/**
 * The delivery policy of a log with a bounded memory buffer and an optional disk spool, shared by
 * the Kafka impression log and the Kafka event log (core/adapters/kafka/) and meant for the
 * simulator's log (ARCHITECTURE.md, "Delivery policy sans-I/O"). It decides, and never performs I/O:
 * time comes only from the `Clock` port, so the same decisions run in live and in virtual time.
 *
 * Decisions (issue 5; issue 9 item 3b):
 * - **Admission**: a record enters memory while fewer than `bufferMax` are there; otherwise the
 *   caller drops it (impressions) or refuses it (events answer 503 with `Retry-After`). A caller
 *   that waits for durability also refuses while the log fails and the spool cannot take records
 *   (`canBecomeDurable`).
 * - **Spill to the spool** when the log has failed for `spoolAfterFailureMs`, when memory holds
 *   `spoolHighWater` records, or while the spool holds anything (so new records queue behind older
 *   ones and the log's order, hence every key's order, survives an outage). A spill that found the
 *   spool full is not retried until replay has freed bytes; one that failed (disk error) not before
 *   `retryDelayMaxMs`.
 * - **Replay order**: the spool is sent before memory, oldest first.
 * - **Batches**: at most `batchMax` records and `batchMaxBytes` bytes (a batch over the broker's
 *   `message.max.bytes` would fail the same way on every retry).
 * - **Backoff**: after a failed send, pause `retryDelayMs`, doubling per failure up to
 *   `retryDelayMaxMs`; one success resets it.
 * - **Close**: keep delivering until idle or `timeoutMs` has passed, every send and pause cut at that
 *   deadline; then spill what memory still holds (if a spool has room) and stop. If the log is
 *   failing when closing and a spool exists, memory is spilled at once (durable whatever happens
 *   next), and sends from the spool go on until the deadline.
 *
 * Not safe for concurrent loops: one delivery loop drives one policy.
 */
export class DeliveryPolicy {
  readonly #o: Readonly<DeliveryPolicyOptions>;
  readonly #clock: Clock;
  /** When the current run of failed sends began; undefined while sends succeed. */
  #failingSince: number | undefined;
  #retryDelayMs: number;
  /** No send before this time (the backoff pause after a failure). */
  #nextSendAt = Number.NEGATIVE_INFINITY;
  /** Spool bytes when a spill last found no room; spills wait until replay frees some. */
  #spoolFullAtBytes: number | undefined;
  /** After a spool error, no spill before this time. */
  #spillBlockedUntil = Number.NEGATIVE_INFINITY;
  #closed = false;
  #closeBy = Number.POSITIVE_INFINITY;

  constructor(opts: DeliveryPolicyOptions, clock: Clock) {
    for (const key of [
      'bufferMax',
      'batchMax',
      'batchMaxBytes',
      'retryDelayMs',
      'retryDelayMaxMs',
    ] as const) {
      if (!(opts[key] > 0)) throw new RangeError(`delivery policy ${key} must be > 0 (${opts[key]})`);
    }
    this.#o = { ...opts };
    this.#clock = clock;
    this.#retryDelayMs = opts.retryDelayMs;
  }

  /** Whether `n` more records may enter memory, which holds `buffered` now (false after `close`). */
  admit(buffered: number, n: number): boolean {
    return !this.#closed && buffered + n <= this.#o.bufferMax;
  }

  /**
   * Whether records offered now can become durable — acknowledged, or written to the spool — without
   * waiting for the log to come back: true while sends succeed, or while the spool can take them
   * (it exists and is neither full nor failing). A caller that waits for durability (the event log)
   * refuses at once when this is false, rather than holding a request until the log returns.
   */
  canBecomeDurable(s: DeliveryState): boolean {
    if (this.#failingSince === undefined) return true;
    if (!this.#o.hasSpool || this.#clock.now() < this.#spillBlockedUntil) return false;
    return this.#spoolFullAtBytes === undefined || s.spoolBytes < this.#spoolFullAtBytes;
  }

  /** True once `close` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** True while sends fail (since the first failure after the last success). */
  get failing(): boolean {
    return this.#failingSince !== undefined;
  }

  /** The current backoff pause, ms: what a refused caller may be told to wait (`Retry-After`). */
  get retryDelayMs(): number {
    return this.#retryDelayMs;
  }

  /** The next step of the delivery loop for state `s` (see {@link DeliveryAction}). */
  next(s: DeliveryState): DeliveryAction {
    const now = this.#clock.now();
    const pastDeadline = this.#closed && now >= this.#closeBy;
    const idle = s.buffered === 0 && s.spoolRecords === 0;
    // Closing while the log fails: memory goes to the spool at once (durable whatever happens next),
    // then sends go on from the spool until the deadline, in case the log is back by then (a
    // replacement process may not get the same disk).
    const closingWhileFailing = this.#closed && this.#failingSince !== undefined && this.#o.hasSpool;
    if (this.#closed && idle) return { kind: 'done' };
    if (this.#spillDue(s, pastDeadline || closingWhileFailing)) return { kind: 'spill' };
    if (pastDeadline) return { kind: 'done' };
    if (idle) return { kind: 'wait', delayMs: undefined };
    if (now < this.#nextSendAt) return { kind: 'wait', delayMs: this.#nextSendAt - now };
    const deadlineMs = this.#closed ? this.#closeBy - now : Number.POSITIVE_INFINITY;
    if (s.spoolRecords > 0) return { kind: 'send', from: 'spool', deadlineMs };
    return { kind: 'send', from: 'memory', deadlineMs };
  }

  /** A send was acknowledged: the backoff and the failure run reset. */
  sent(): void {
    this.#failingSince = undefined;
    this.#nextSendAt = Number.NEGATIVE_INFINITY;
    this.#retryDelayMs = this.#o.retryDelayMs;
  }

  /** A send failed (error or deadline): no send for the backoff pause (cut at the close deadline). */
  failed(): void {
    const now = this.#clock.now();
    this.#failingSince ??= now;
    this.#nextSendAt = Math.min(now + this.#retryDelayMs, this.#closeBy);
    this.#retryDelayMs = Math.min(this.#retryDelayMs * 2, this.#o.retryDelayMaxMs);
  }

  /**
   * A spill wrote `written` of the `offered` records; the spool then held `spoolBytes`. Fewer than
   * offered means the spool is full: no spill until replay frees bytes.
   */
  spilled(written: number, offered: number, spoolBytes: number): void {
    this.#spoolFullAtBytes = written < offered ? spoolBytes : undefined;
  }

  /** A spill failed (disk error): the records stay in memory; no spill for `retryDelayMaxMs`. */
  spillFailed(): void {
    this.#spillBlockedUntil = this.#clock.now() + this.#o.retryDelayMaxMs;
  }

  /** Stops admission; delivery goes on until idle or for `timeoutMs` more. Idempotent (first call wins). */
  close(timeoutMs: number): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeBy = this.#clock.now() + Math.max(0, timeoutMs);
  }

  /**
   * How many of the next records (their key + value sizes in bytes, oldest first) go in one send:
   * at most `batchMax` and `batchMaxBytes`, and at least one when any is given.
   */
  batchSize(sizesBytes: readonly number[]): number {
    const n = Math.min(sizesBytes.length, this.#o.batchMax);
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      bytes += sizesBytes[i];
      if (bytes > this.#o.batchMaxBytes) return Math.max(1, i);
    }
    return n;
  }

  #spillDue(s: DeliveryState, pastDeadline: boolean): boolean {
    if (!this.#o.hasSpool || s.buffered === 0) return false;
    if (this.#clock.now() < this.#spillBlockedUntil) return false;
    if (this.#spoolFullAtBytes !== undefined) {
      if (s.spoolBytes >= this.#spoolFullAtBytes) return false;
      this.#spoolFullAtBytes = undefined; // replay freed a segment: try again
    }
    const failingMs = this.#failingSince === undefined ? -1 : this.#clock.now() - this.#failingSince;
    return (
      pastDeadline ||
      s.spoolRecords > 0 ||
      s.buffered >= this.#o.spoolHighWater ||
      failingMs >= this.#o.spoolAfterFailureMs
    );
  }
}
