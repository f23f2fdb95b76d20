/**
 * The simulator's discrete-event scheduler (ARCHITECTURE.md "sim/ — the world and virtual time";
 * the design of FoundationDB's simulation loop: run what is due, then jump the clock).
 *
 * Time is an integer number of microseconds since the run's start. Events are held in a binary
 * heap (heap-js) ordered by (time, insertion sequence): ties fire in the order they were scheduled,
 * so a run is a pure function of its inputs (SIMULATOR-NOTES "Event queue": plain heaps are
 * deterministic but not FIFO on ties; the sequence tie-break makes the order explainable).
 *
 * Everything the simulator does is a callback fired by this loop: no Promise, no wall clock, no
 * unseeded random. Decision code runs synchronously inside the callbacks (SIMULATOR-NOTES: only
 * synchronous decision code reaches ≥ 1 simulated second per wall second at 50K QPS on one core).
 * A cancelled event stays in the heap as a tombstone and is skipped when popped.
 */
import { Heap } from 'heap-js';

/** One scheduled callback. `fn` is cleared to cancel (a tombstone). */
interface ScheduledEvent {
  atUs: number;
  seq: number;
  fn: (() => void) | undefined;
}

const byTimeThenSeq = (a: ScheduledEvent, b: ScheduledEvent): number => a.atUs - b.atUs || a.seq - b.seq;

export class EventScheduler {
  readonly #heap = new Heap<ScheduledEvent>(byTimeThenSeq);
  #nowUs = 0;
  #seq = 0;
  #fired = 0;
  #popped = 0;

  /** Virtual time now, µs since the run's start. */
  get nowUs(): number {
    return this.#nowUs;
  }

  /** Callbacks fired so far (tombstones excluded). */
  get fired(): number {
    return this.#fired;
  }

  /** Heap pops so far, tombstones included (the loop's real work). */
  get popped(): number {
    return this.#popped;
  }

  /** Events waiting in the heap, tombstones included. */
  get pending(): number {
    return this.#heap.size();
  }

  /**
   * Schedules `fn` at `atUs` (integer µs; a time in the past fires at the current time, after what
   * is already due). Returns a function that cancels it.
   */
  at(atUs: number, fn: () => void): () => void {
    const ev = this.#push(atUs, fn);
    return () => {
      ev.fn = undefined;
    };
  }

  /**
   * `at` without a way to cancel: the hot paths (CPU jobs, Redis replies, timer queues, arrivals)
   * never cancel, and not building a cancel closure per event spares the collector. Same order as
   * `at` (the same sequence numbers).
   */
  post(atUs: number, fn: () => void): void {
    this.#push(atUs, fn);
  }

  #push(atUs: number, fn: () => void): ScheduledEvent {
    const ev: ScheduledEvent = { atUs: Math.max(this.#nowUs, Math.round(atUs)), seq: this.#seq++, fn };
    this.#heap.push(ev);
    return ev;
  }

  /** Schedules `fn` `delayUs` from now. */
  after(delayUs: number, fn: () => void): () => void {
    return this.at(this.#nowUs + delayUs, fn);
  }

  /**
   * Fires every event due at or before `endUs`, in (time, sequence) order, then leaves the clock at
   * `endUs`. Events scheduled by callbacks for times ≤ `endUs` fire in the same call.
   */
  runUntil(endUs: number): void {
    while (this.fireNext(endUs));
    this.advanceTo(endUs);
  }

  /**
   * Fires the next live event due at or before `endUs` (tombstones are skipped); false when there
   * is none. `runUntil` is this in a loop; the high-fidelity run (sim/hifi/) settles the real
   * `recommend()`'s promise jobs between two calls.
   */
  fireNext(endUs: number): boolean {
    const heap = this.#heap;
    for (;;) {
      const next = heap.peek();
      if (next === undefined || next.atUs > endUs) return false;
      heap.pop();
      this.#popped++;
      const fn = next.fn;
      if (fn === undefined) continue;
      this.#nowUs = next.atUs;
      this.#fired++;
      fn();
      return true;
    }
  }

  /** Moves the clock forward to `endUs` (never back): the end of a slice with nothing left due. */
  advanceTo(endUs: number): void {
    if (endUs > this.#nowUs) this.#nowUs = endUs;
  }
}
