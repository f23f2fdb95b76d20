import type { Clock } from '../../ports/clock.ts';

/**
 * The real clock: `performance.timeOrigin + performance.now()` (monotonic, sub-millisecond) for
 * `now()`, Node timers for `setTimer`. Timers are unref'd: a pending deadline never keeps a process
 * alive on its own.
 */
export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimer(delayMs, fn) {
    const t = setTimeout(fn, Math.max(0, delayMs));
    t.unref();
    return () => clearTimeout(t);
  },
};
