import type { Clock } from '../../core/ports/clock.ts';
import type { EventScheduler } from './scheduler.ts';

/** A timer waiting in its delay's queue; `fn` is cleared when cancelled (or once it has run). */
export interface Timer {
  atUs: number;
  fn: (() => void) | undefined;
  /** Where its callback runs once due: at once without one. */
  loop: TimerLoop | undefined;
}

/**
 * Runs a due timer's callback later, e.g. on a simulated replica's event loop
 * (sim/fleet/loop-clock.ts). It must call `timer.fn` at most once, and not at all once it is
 * cleared (a cancel after the timer came due still stops it).
 */
export interface TimerLoop {
  due(timer: Timer): void;
}

/**
 * A FIFO of timers that share one delay. Timers with the same delay fire in the order they were
 * set, so each queue is already sorted by fire time: only its head needs to be in the scheduler's
 * heap. Array with a moving head, compacted when half of it is spent (O(1) amortised).
 */
class TimerQueue {
  items: Timer[] = [];
  head = 0;
  /** Whether the scheduler holds an event for this queue's head. */
  armed = false;

  push(t: Timer): void {
    this.items.push(t);
  }

  /** Drops cancelled timers at the front; returns the first live one, if any. */
  peekLive(): Timer | undefined {
    const items = this.items;
    while (this.head < items.length && items[this.head].fn === undefined) this.head++;
    if (this.head > 1024 && this.head * 2 > items.length) {
      this.items = items.slice(this.head);
      this.head = 0;
    }
    return this.items[this.head];
  }

  shift(): void {
    this.head++;
  }
}

/**
 * The core's `Clock` port over the scheduler's virtual time, so the core's resilience code
 * (breakers, deadlines, bulkhead, shedding) runs unchanged in a simulation.
 *
 * `now()` is `epochMs` plus the virtual time (ms, fractional: µs resolution). `epochMs` is fixed
 * by the run (not read from the wall clock), so every time the core sees is a function of the
 * seed and inputs.
 *
 * Timers: almost every timer the core sets is a deadline that is cancelled because the call
 * finished first (SIMULATOR-NOTES: "deadline timers dominate"). Deadlines come in a few fixed
 * lengths, so timers are kept in one FIFO queue per delay and only each queue's first live timer
 * is in the scheduler's heap: a cancelled timer costs an array slot, not a heap push and pop.
 * Timers due at the same µs fire in the order they were set within a delay; across delays, in
 * the order their queues' heap events were scheduled. Both are deterministic.
 */
export class VirtualClock implements Clock {
  readonly #scheduler: EventScheduler;
  readonly #epochMs: number;
  readonly #queues = new Map<number, TimerQueue>();

  constructor(scheduler: EventScheduler, epochMs: number) {
    this.#scheduler = scheduler;
    this.#epochMs = epochMs;
  }

  now(): number {
    return this.#epochMs + this.#scheduler.nowUs / 1000;
  }

  setTimer(delayMs: number, fn: () => void): () => void {
    return this.setTimerOn(undefined, delayMs, fn);
  }

  /** `setTimer` whose callback, once due, is handed to `loop` instead of run at once. */
  setTimerOn(loop: TimerLoop | undefined, delayMs: number, fn: () => void): () => void {
    const delayUs = Math.max(0, Math.round(delayMs * 1000));
    let q = this.#queues.get(delayUs);
    if (q === undefined) {
      q = new TimerQueue();
      this.#queues.set(delayUs, q);
    }
    const timer: Timer = { atUs: this.#scheduler.nowUs + delayUs, fn, loop };
    q.push(timer);
    if (!q.armed) this.#arm(q);
    return () => {
      timer.fn = undefined;
    };
  }

  /** Schedules the queue's first live timer; the event fires every live timer then due. */
  #arm(q: TimerQueue): void {
    const first = q.peekLive();
    if (first === undefined) {
      q.armed = false;
      return;
    }
    q.armed = true;
    this.#scheduler.post(first.atUs, () => {
      const now = this.#scheduler.nowUs;
      for (let t = q.peekLive(); t !== undefined && t.atUs <= now; t = q.peekLive()) {
        q.shift();
        if (t.loop) {
          t.loop.due(t);
          continue;
        }
        const f = t.fn!;
        t.fn = undefined;
        f();
      }
      this.#arm(q);
    });
  }
}
