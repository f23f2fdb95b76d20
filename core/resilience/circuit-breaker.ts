import type { Clock } from '../ports/clock.ts';

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the breaker (seed 000 §6: failure_threshold = 5). */
  failureThreshold: number;
  /** How long the breaker stays open before it lets one trial call through (seed 000 §6: 30 s). */
  openMs: number;
}

/**
 * A consecutive-failure circuit breaker as a sans-I/O state machine (seed 000 §6; the semantics of
 * cockatiel's ConsecutiveBreaker): closed → open after `failureThreshold` consecutive failures;
 * open → half-open once `openMs` has passed, admitting exactly one trial call; the trial's success
 * closes the breaker, its failure re-opens it for another `openMs`.
 *
 * It performs no I/O and reads time only through `Clock`, so the simulator runs the same code.
 * Callers ask `tryAcquire()` before a call and report `onSuccess()` / `onFailure()` after it.
 */
export class CircuitBreaker {
  readonly name: string;
  readonly #clock: Clock;
  readonly #opts: CircuitBreakerOptions;
  #state: BreakerState = 'closed';
  #consecutiveFailures = 0;
  #openedAtMs = 0;
  #trialInFlight = false;

  constructor(name: string, clock: Clock, opts: CircuitBreakerOptions) {
    this.name = name;
    this.#clock = clock;
    this.#opts = opts;
  }

  /** The state now (an open breaker whose `openMs` has passed reports half_open). */
  get state(): BreakerState {
    if (this.#state === 'open' && this.#clock.now() - this.#openedAtMs >= this.#opts.openMs)
      return 'half_open';
    return this.#state;
  }

  /** True when a call may proceed; in half-open only the first caller gets true. */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open') return false;
    if (this.#trialInFlight) return false;
    this.#state = 'half_open';
    this.#trialInFlight = true;
    return true;
  }

  onSuccess(): void {
    this.#consecutiveFailures = 0;
    this.#trialInFlight = false;
    this.#state = 'closed';
  }

  onFailure(): void {
    this.#trialInFlight = false;
    this.#consecutiveFailures++;
    if (this.#state === 'half_open' || this.#consecutiveFailures >= this.#opts.failureThreshold) {
      this.#state = 'open';
      this.#openedAtMs = this.#clock.now();
    }
  }
}
