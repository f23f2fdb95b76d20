import type { Clock } from '../../core/ports/clock.ts';

/** A {@link manualClock}: the clock, the hand that moves it, and a count of its pending timers. */
export interface ManualClock {
  clock: Clock;
  /** Moves time forward by `ms` milliseconds, then fires (in the order set) every live timer now due. */
  advance(ms: number): void;
  /** Timers set and neither fired nor cancelled. */
  liveTimers(): number;
}

/**
 * A manual clock for unit tests: time starts at 0 ms and moves only when the test calls `advance`,
 * so resilience and batching code (sans-I/O, reading time through the `Clock` port in
 * core/ports/clock.ts) runs deterministically. `setTimer` records a timer due at `now + delayMs`;
 * its returned function cancels it. Timers fire only inside `advance`, never by themselves.
 */
export function manualClock(): ManualClock {
  let now = 0;
  const timers: { at: number; fn: () => void; live: boolean }[] = [];
  const clock: Clock = {
    now: () => now,
    setTimer(delayMs, fn) {
      const t = { at: now + delayMs, fn, live: true };
      timers.push(t);
      return () => {
        t.live = false;
      };
    },
  };
  const advance = (ms: number) => {
    now += ms;
    for (const t of timers) {
      if (t.live && t.at <= now) {
        t.live = false;
        t.fn();
      }
    }
  };
  return { clock, advance, liveTimers: () => timers.filter((t) => t.live).length };
}
