import type { Clock } from '../../ports/clock.ts';

/**
 * The real clock: `performance.timeOrigin + performance.now()` (monotonic, sub-millisecond) for
 * `now()`, Node timers for `setTimer`.
 *
 * A timer's callback runs in the check phase right after its timeout (`setTimeout` → `setImmediate`):
 * Node runs expired timers *before* it polls for I/O, so after the event loop stalls (GC, CPU
 * contention) a deadline would otherwise fire while the dependency's reply already sits in the
 * socket, and a healthy dependency would be blamed — and its breaker opened — for our own stall.
 * Deferring to the check phase delivers pending I/O completions first; only a dependency that has
 * truly not answered is timed out. The timeout is unref'd, so a pending deadline never keeps a process
 * alive; the immediate it queues is not (test/unit/system-clock-idle-loop.test.ts).
 */
export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimer(delayMs, fn) {
    let immediate: NodeJS.Immediate | undefined;
    const t = setTimeout(
      () => {
        // Ref'd on purpose: an unref'd immediate does not end libuv's poll, so in a quiet process
        // it ran only when other I/O woke the loop (a 2 ms timer measured firing after ~1 s).
        immediate = setImmediate(fn);
      },
      Math.max(0, delayMs),
    );
    t.unref();
    return () => {
      clearTimeout(t);
      if (immediate) clearImmediate(immediate);
    };
  },
};
