/**
 * Draws of one sequence taken before they are needed, handed out in the same order (issue 10):
 * the runner draws a phase's request users before the phase starts, so that what depends only on
 * them (the simulated users' behaviour sessions, loadtest/user-activity.ts) is made outside the
 * measured phase. `next()` returns exactly the values `draw()` would have returned one call at a
 * time: values prefetched and not used by the end of a phase are the next phase's first. Only for
 * a sequence whose draw does not depend on when it is made (the same `draw` for every phase).
 */
export class PrefetchedDraws {
  readonly #draw: () => number;
  #buf: number[] = [];
  #head = 0;

  constructor(draw: () => number) {
    this.#draw = draw;
  }

  /** Values drawn and not yet handed out. */
  get pending(): number {
    return this.#buf.length - this.#head;
  }

  /**
   * Draws until at least `n` values are waiting and returns the waiting values, in the order `next()`
   * will hand them out (a copy).
   */
  prefetch(n: number): number[] {
    if (this.#head > 0) {
      this.#buf = this.#buf.slice(this.#head);
      this.#head = 0;
    }
    while (this.#buf.length < n) this.#buf.push(this.#draw());
    return this.#buf.slice();
  }

  /** The next value: a prefetched one, else a fresh draw. */
  next(): number {
    if (this.#head < this.#buf.length) return this.#buf[this.#head++];
    return this.#draw();
  }
}
