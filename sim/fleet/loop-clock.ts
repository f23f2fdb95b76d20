import type { Clock } from '../../core/ports/clock.ts';
import type { EventScheduler } from '../engine/scheduler.ts';
import type { Timer, TimerLoop, VirtualClock } from '../engine/virtual-clock.ts';
import type { FifoServer } from './fifo-server.ts';

/**
 * A replica's clock for the code that runs on its event loop (the request's deadlines, the core's
 * event-loop lag probe): `now()` is virtual time, and a timer's callback runs on the replica's loop
 * (its FIFO CPU server) in the two steps of the live clock (core/adapters/clock/system-clock.ts:
 * `setTimeout`, then `setImmediate`). When the timer comes due it waits for the work queued then
 * (libuv runs expired timers once the current turn ends); its callback then waits for the work
 * queued by that time (the immediate runs after the next poll phase, i.e. after the I/O that
 * arrived meanwhile). So:
 * - a dependency whose reply came before its deadline is not timed out because the loop was busy
 *   (the reply's job is ahead of the timer's), one that had not answered is;
 * - the lag probe reads what the live one reads, a tick's lateness through both steps, which is
 *   longer than one job's wait on a busy loop.
 * A timer's own callback is a few µs of CPU, counted as none. Without this clock the simulated
 * user-tower deadline (10 ms) fired on time while the tower's job waited behind a busy loop (8.9%
 * of lists on `partial_retrieval` at 350 QPS where the live core had none), and admission read the
 * loop's backlog, which browned out at a longer queue than the live core (docs/simulator.md,
 * 2026-12-08).
 *
 * A timer costs what a VirtualClock timer costs (most deadlines are cancelled before they come
 * due); the two hops cost two scheduler events each for the timers that do.
 */
export class LoopClock implements Clock, TimerLoop {
  readonly #base: VirtualClock;
  readonly #scheduler: EventScheduler;
  readonly #loop: FifoServer;

  constructor(base: VirtualClock, scheduler: EventScheduler, loop: FifoServer) {
    this.#base = base;
    this.#scheduler = scheduler;
    this.#loop = loop;
  }

  now(): number {
    return this.#base.now();
  }

  setTimer(delayMs: number, fn: () => void): () => void {
    return this.#base.setTimerOn(this, delayMs, fn);
  }

  /** Due: behind the work queued now (the end of the loop's turn), then behind the work queued by then. */
  due(timer: Timer): void {
    this.#hop(() => {
      if (timer.fn) this.#hop(() => LoopClock.#run(timer));
    });
  }

  static #run(timer: Timer): void {
    const f = timer.fn;
    timer.fn = undefined;
    f?.();
  }

  #hop(then: () => void): void {
    const s = this.#scheduler;
    s.post(this.#loop.submit(s.nowUs, 0), then);
  }
}
