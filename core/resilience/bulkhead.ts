import { ReclabError } from '../errors.ts';
import type { Clock } from '../ports/clock.ts';

export interface BulkheadOptions {
  /** Calls allowed to run at once. */
  maxConcurrent: number;
  /** Calls allowed to wait for a slot; beyond it, `acquire` rejects at once. */
  maxQueue: number;
  /**
   * Load shedding (CoDel, Nichols & Jacobson 2012): when every call that left the queue during a
   * whole `shedIntervalMs` waited longer than `shedTargetMs`, the queue is standing, not bursting:
   * new arrivals are refused until a call again gets through within the target.
   */
  shedTargetMs: number;
  shedIntervalMs: number;
}

export interface BulkheadStats {
  running: number;
  queued: number;
  shedding: boolean;
  rejectedFull: number;
  rejectedShed: number;
}

/**
 * A bulkhead (bounded concurrency + bounded queue, the semantics of cockatiel's BulkheadPolicy)
 * with CoDel-style load shedding on its queueing time. Time comes only from `Clock`; the class does
 * no I/O, so the simulator runs the same admission logic.
 *
 * `acquire()` resolves with a release function once the call may run; it rejects with
 * RECLAB_ERR_OVERLOADED (HTTP 503) when the queue is full or while shedding.
 */
export class Bulkhead {
  readonly #clock: Clock;
  readonly #opts: BulkheadOptions;
  #running = 0;
  readonly #queue: { enqueuedMs: number; grant: (release: () => void, waitedMs: number) => void }[] = [];
  /** Start of the current interval in which every dequeue has been above target; undefined if not. */
  #aboveSinceMs: number | undefined;
  #shedding = false;
  #rejectedFull = 0;
  #rejectedShed = 0;

  constructor(clock: Clock, opts: BulkheadOptions) {
    this.#clock = clock;
    this.#opts = opts;
  }

  stats(): BulkheadStats {
    return {
      running: this.#running,
      queued: this.#queue.length,
      shedding: this.#shedding,
      rejectedFull: this.#rejectedFull,
      rejectedShed: this.#rejectedShed,
    };
  }

  /** Calls running now. */
  get running(): number {
    return this.#running;
  }

  /** How long the oldest waiting call has waited, ms (0 when none waits): what a newcomer would wait at least. */
  queueDelayMs(): number {
    const head = this.#queue[0];
    return head === undefined ? 0 : this.#clock.now() - head.enqueuedMs;
  }

  /**
   * Admission as a Promise: resolves with a release function once the call may run.
   * @throws ReclabError RECLAB_ERR_OVERLOADED when the queue is full or while shedding
   */
  acquire(): Promise<() => void> {
    return new Promise((resolve, reject) => {
      const refused = this.tryAcquire(resolve);
      if (refused) reject(refused);
    });
  }

  /**
   * Admission in callback form, the one implementation (the simulator calls it directly): returns
   * RECLAB_ERR_OVERLOADED when refused at once; otherwise returns undefined and calls `grant` with
   * a release function when the call may run — synchronously when a slot is free, later from the
   * queue — and the time it waited for it, ms.
   */
  tryAcquire(grant: (release: () => void, waitedMs: number) => void): ReclabError | undefined {
    // A free slot always admits (and, with no wait, ends shedding): shedding refuses only calls
    // that would have to join a standing queue.
    if (this.#running < this.#opts.maxConcurrent) {
      this.#running++;
      this.#observeWait(0);
      grant(this.#releaser(), 0);
      return undefined;
    }
    if (this.#shedding) {
      this.#rejectedShed++;
      return new ReclabError('RECLAB_ERR_OVERLOADED', 'shedding load: queueing time above target');
    }
    if (this.#queue.length >= this.#opts.maxQueue) {
      this.#rejectedFull++;
      return new ReclabError(
        'RECLAB_ERR_OVERLOADED',
        `bulkhead full (${this.#opts.maxConcurrent} running, ${this.#opts.maxQueue} queued)`,
      );
    }
    this.#queue.push({ enqueuedMs: this.#clock.now(), grant });
    return undefined;
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#queue.shift();
      if (next) {
        const waitedMs = this.#clock.now() - next.enqueuedMs;
        this.#observeWait(waitedMs);
        next.grant(this.#releaser(), waitedMs);
      } else {
        this.#running--;
      }
    };
  }

  /** CoDel's control law, reduced to an on/off state: shed while waits stay above target. */
  #observeWait(waitMs: number): void {
    const now = this.#clock.now();
    if (waitMs <= this.#opts.shedTargetMs) {
      this.#aboveSinceMs = undefined;
      this.#shedding = false;
      return;
    }
    this.#aboveSinceMs ??= now;
    if (now - this.#aboveSinceMs >= this.#opts.shedIntervalMs) this.#shedding = true;
  }
}
