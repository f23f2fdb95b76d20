import type { Clock } from '../ports/clock.ts';

/** The event loop's lag as the admission policy reads it (core/resilience/brownout.ts), ms. */
export interface LagSource {
  /** How far behind the loop is now: what a request decided now has waited, or will, before it runs. */
  lagMs(): number;
  /** The lag that has lasted: what each further step of a pipeline request will wait. */
  standingLagMs(): number;
}

/** No lag measured (tests, a core whose probe is not running). */
export const NO_LAG: LagSource = { lagMs: () => 0, standingLagMs: () => 0 };

/**
 * Event-loop lag from a timer on `Clock`: every `intervalMs` a tick is due, and how late it runs is
 * one sample.
 * - `lagMs()` — the backlog now: how overdue the pending tick is, or the last tick's lateness less
 *   the time since it ran (the loop works its backlog off at one ms per ms), whichever is larger.
 *   So a request read right after a stall counts the stall it waited through, and one read later
 *   does not. (The live clock runs timers after pending I/O: requests that arrived during a stall
 *   may be read before or after its tick; both readings see the stall.)
 * - `standingLagMs()` — the smallest of the last `window` samples: CoDel's reading of a queue
 *   (Nichols & Jacobson 2012), where a minimum that stays high is a standing backlog, while one slow
 *   callback (a GC pause, one long request) delays one tick and is not load.
 * Sans-I/O: the simulator runs it on a replica's loop clock (sim/fleet/loop-clock.ts), whose ticks
 * wait for the replica's queued work as the live ones wait for the event loop.
 */
export class LoopLagProbe implements LagSource {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #samples: number[];
  #next = 0;
  #dueMs = 0;
  #lastTickMs = 0;
  #lastLateMs = 0;
  #cancel: (() => void) | undefined;

  /** Defaults: a tick every 20 ms, the standing lag over the last 5 (100 ms). */
  constructor(clock: Clock, intervalMs = 20, window = 5) {
    this.#clock = clock;
    this.#intervalMs = intervalMs;
    this.#samples = new Array<number>(window).fill(0);
  }

  /** Starts ticking (idempotent). */
  start(): void {
    if (this.#cancel) return;
    this.#schedule(this.#clock.now());
  }

  stop(): void {
    this.#cancel?.();
    this.#cancel = undefined;
    this.#samples.fill(0);
    this.#lastLateMs = 0;
  }

  lagMs(): number {
    if (!this.#cancel) return 0;
    const now = this.#clock.now();
    return Math.max(0, now - this.#dueMs, this.#lastLateMs - (now - this.#lastTickMs));
  }

  standingLagMs(): number {
    if (!this.#cancel) return 0;
    return Math.max(Math.min(...this.#samples), this.#clock.now() - this.#dueMs);
  }

  #schedule(now: number): void {
    this.#dueMs = now + this.#intervalMs;
    this.#cancel = this.#clock.setTimer(this.#intervalMs, this.#tick);
  }

  readonly #tick = (): void => {
    const now = this.#clock.now();
    this.#lastLateMs = Math.max(0, now - this.#dueMs);
    this.#lastTickMs = now;
    this.#samples[this.#next] = this.#lastLateMs;
    this.#next = (this.#next + 1) % this.#samples.length;
    this.#schedule(now);
  };
}
