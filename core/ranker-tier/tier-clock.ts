import { systemClock } from '../adapters/clock/system-clock.ts';
import type { Clock } from '../ports/clock.ts';

/**
 * The tier's clock: systemClock's `now`, and its timers (timeout, then the check phase) except that
 * the deferred callback's immediate is ref'd. systemClock unrefs it, and an unref'd immediate does
 * not end libuv's poll: it runs only when something else wakes the loop. Measured on this machine: a
 * 2 ms systemClock timer fired after ~1000 ms in an otherwise idle process, and the tier's 2 ms batch
 * delay came out at ~8 ms (woken by prom-client's 10 ms event-loop monitor). The timeout stays
 * unref'd, so a pending timer still never keeps the process alive.
 */
export const tierClock: Clock = {
  now: systemClock.now,
  setTimer(delayMs, fn) {
    let immediate: NodeJS.Immediate | undefined;
    const t = setTimeout(
      () => {
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
