import type { Clock } from '../../core/ports/clock.ts';
import type { EventScheduler } from './scheduler.ts';

/**
 * The core's `Clock` port over the scheduler's virtual time, so the core's resilience code
 * (breakers, deadlines, bulkhead, shedding) runs unchanged in a simulation.
 *
 * `now()` is `epochMs` plus the virtual time (ms, fractional: µs resolution). `epochMs` is fixed
 * by the run (not read from the wall clock), so every time the core sees is a function of the
 * seed and inputs.
 */
export class VirtualClock implements Clock {
  readonly #scheduler: EventScheduler;
  readonly #epochMs: number;

  constructor(scheduler: EventScheduler, epochMs: number) {
    this.#scheduler = scheduler;
    this.#epochMs = epochMs;
  }

  now(): number {
    return this.#epochMs + this.#scheduler.nowUs / 1000;
  }

  setTimer(delayMs: number, fn: () => void): () => void {
    return this.#scheduler.after(Math.max(0, Math.round(delayMs * 1000)), fn);
  }
}
