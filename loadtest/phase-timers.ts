/**
 * The timers of one phase's schedule (fault windows, the start of a load-instances schedule).
 *
 * `flush()` at the phase's end fires at once every timer still pending, in the order they were
 * set, instead of dropping it. Why: a fault window may end with its phase (`toS` = `durationS`, the
 * default), and the driver can return a moment before that timer: a dropped revert left Redis
 * stopped for the rest of a run and the run waiting for the fault to end (redis-failure, CI
 * 2026-12-05). A window's end is never later than its phase's end, so firing it there is on time.
 */
export class PhaseTimers {
  readonly #pending = new Set<{ timer: NodeJS.Timeout; fire: () => void }>();

  /** Runs `fire` after `ms` (negative: at once, on the next turn), or at `flush()` if that is first. */
  at(ms: number, fire: () => void): void {
    const entry = { timer: undefined as unknown as NodeJS.Timeout, fire };
    entry.timer = setTimeout(
      () => {
        this.#pending.delete(entry);
        fire();
      },
      Math.max(0, ms),
    );
    this.#pending.add(entry);
  }

  /** Fires every pending timer now, in the order set; afterwards nothing is pending. */
  flush(): void {
    for (const entry of [...this.#pending]) {
      clearTimeout(entry.timer);
      this.#pending.delete(entry);
      entry.fire();
    }
  }
}
