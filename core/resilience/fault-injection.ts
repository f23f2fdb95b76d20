import { ReclabError } from '../errors.ts';
import type { Clock } from '../ports/clock.ts';
import type { RandomStream } from '../ports/random.ts';

/**
 * One injected fault on a dependency, named like its circuit breaker: `ranker`, `light_ranker`,
 * `user_encoder`, `features`, `activity`, `retrieval.<source>` (core/pipeline/recommend.ts).
 * - `delay`: the call starts `delayMs` late (a slow dependency: the stage deadline then decides);
 * - `error`: the call fails at once with RECLAB_ERR_FAULT_INJECTED.
 * `ratio` of calls are affected (1 = all), drawn from the `faults` random stream; a fault with
 * `forMs` removes itself that long after it was set.
 */
export interface FaultSpec {
  kind: 'delay' | 'error';
  /** For `delay`: ms, ≥ 0, at most MAX_FAULT_DELAY_MS. */
  delayMs?: number;
  /** Share of calls affected, (0, 1]; default 1. */
  ratio?: number;
  /** Lifetime in ms; default: until cleared. */
  forMs?: number;
}

/** Longest injectable delay, ms: a fault must not hold a request longer than any deadline would. */
export const MAX_FAULT_DELAY_MS = 60_000;

export interface ActiveFault extends FaultSpec {
  target: string;
  /** Unix ms when set. */
  sinceMs: number;
  /** Calls it affected so far. */
  hits: number;
}

/**
 * Fault injection at dependency boundaries, for scenarios and integration tests that need a cause
 * no real component can be made to produce on demand (a single slow retrieval source, an in-process
 * model failing) — in the manner of Envoy's fault-injection filter and Netflix's FIT. The core
 * builds one only when RECLAB_FAULT_INJECTION=on; without it `run` is never on the request path.
 * Time comes from `Clock`, draws from a named stream, so the simulator can run it in virtual time.
 */
export class FaultInjector {
  readonly #faults = new Map<string, ActiveFault>();
  readonly #clock: Clock;
  readonly #random: RandomStream;

  constructor(clock: Clock, random: RandomStream) {
    this.#clock = clock;
    this.#random = random;
  }

  /**
   * Sets (or replaces) the fault on `target`.
   * @throws ReclabError RECLAB_ERR_REQUEST_INVALID for a bad spec
   */
  set(target: string, spec: FaultSpec): ActiveFault {
    const ratio = spec.ratio ?? 1;
    const delayOk =
      spec.kind !== 'delay' ||
      (spec.delayMs !== undefined && spec.delayMs >= 0 && spec.delayMs <= MAX_FAULT_DELAY_MS);
    if (!/^[a-z_]+(\.[a-z_0-9]+)?$/.test(target) || !(ratio > 0 && ratio <= 1) || !delayOk) {
      throw new ReclabError(
        'RECLAB_ERR_REQUEST_INVALID',
        `fault on '${target}': target is a dependency name, ratio in (0, 1], delay_ms in [0, ${MAX_FAULT_DELAY_MS}]`,
      );
    }
    const fault: ActiveFault = { ...spec, ratio, target, sinceMs: this.#clock.now(), hits: 0 };
    this.#faults.set(target, fault);
    return fault;
  }

  /** Removes the fault on `target` (all faults without one). Returns how many were removed. */
  clear(target?: string): number {
    if (target === undefined) {
      const n = this.#faults.size;
      this.#faults.clear();
      return n;
    }
    return this.#faults.delete(target) ? 1 : 0;
  }

  /** The faults in force, expired ones dropped. */
  list(): ActiveFault[] {
    for (const t of [...this.#faults.keys()]) this.#active(t);
    return [...this.#faults.values()].map((f) => ({ ...f }));
  }

  #active(target: string): ActiveFault | undefined {
    const f = this.#faults.get(target);
    if (f?.forMs !== undefined && this.#clock.now() - f.sinceMs >= f.forMs) {
      this.#faults.delete(target);
      return undefined;
    }
    return f;
  }

  /**
   * Runs `call` for dependency `target` with its fault, if one is set and this call is drawn.
   * @throws ReclabError RECLAB_ERR_FAULT_INJECTED for an `error` fault
   */
  run<T>(target: string, call: () => Promise<T>): Promise<T> {
    const f = this.#active(target);
    if (!f || (f.ratio !== undefined && f.ratio < 1 && this.#random.next() >= f.ratio)) return call();
    f.hits++;
    if (f.kind === 'error') {
      return Promise.reject(new ReclabError('RECLAB_ERR_FAULT_INJECTED', `injected error on '${target}'`));
    }
    return new Promise<void>((resolve) => {
      this.#clock.setTimer(f.delayMs ?? 0, resolve);
    }).then(call);
  }
}
