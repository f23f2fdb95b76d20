/**
 * How the high-fidelity run keeps the real, async `recommend()` deterministic (issue 13: "decide how
 * promise continuations run between events … a microtask-drain discipline that is proven
 * deterministic"; docs/simulator.md, "Promise continuations").
 *
 * The discipline: **fire one scheduler event, then settle**, and only then fire the next one.
 * Settling means running every promise job the event made possible, to quiescence:
 * - promise jobs (microtasks) all run before the next macrotask, so awaiting one `setImmediate`
 *   drains every continuation chain the event started, however long;
 * - a chain either ends or waits on a promise that only a later scheduler event resolves (a
 *   simulated Redis reply, a CPU job, a virtual timer), or on real work outside JavaScript: ONNX
 *   Runtime's inference resolves from its thread pool as a macrotask of its own. That work is
 *   registered with `RealWork.track`, and settling waits until none is pending, then drains again.
 * So when the next event fires, every continuation of the previous ones has run, in an order fixed
 * by the event order alone: the real work's finishing order never shows, because its results are
 * only handed on by scheduler events (sim/hifi/sim-ports.ts charges its CPU as a job after it).
 * Nothing else may schedule macrotasks meanwhile (no wall-clock timers: the core's clock is
 * virtual, and the run holds `withoutWallClockAsync`).
 */
import type { EventScheduler } from '../engine/scheduler.ts';

const nextMacrotask = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Real asynchronous work (ONNX inference) that the run must wait for before the next event. */
export class RealWork {
  readonly #pending = new Set<Promise<unknown>>();

  /** Registers `p` until it settles; returns it unchanged. */
  track<T>(p: Promise<T>): Promise<T> {
    const entry = p.then(
      () => {},
      () => {},
    );
    this.#pending.add(entry);
    void entry.then(() => this.#pending.delete(entry));
    return p;
  }

  /** Runs every promise job and waits for all tracked work, to quiescence. */
  async settle(): Promise<void> {
    await nextMacrotask();
    while (this.#pending.size > 0) {
      await Promise.all(this.#pending);
      await nextMacrotask();
    }
  }
}

/**
 * `scheduler.runUntil(endUs)` for a run whose callbacks start promise chains: one event, then
 * `work.settle()`, until nothing is due by `endUs`; the clock then stands at `endUs`.
 */
export async function runUntilSettled(
  scheduler: EventScheduler,
  endUs: number,
  work: RealWork,
): Promise<void> {
  await work.settle();
  while (scheduler.fireNext(endUs)) await work.settle();
  scheduler.advanceTo(endUs);
}
