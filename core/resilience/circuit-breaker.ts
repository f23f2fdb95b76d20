import { ReclabError } from '../errors.ts';
import type { Clock } from '../ports/clock.ts';
import { TimeSlidingWindow, type WindowCounts } from './sliding-window.ts';

export type BreakerState = 'closed' | 'open' | 'half_open';

/**
 * Why a breaker changed state: it opened on its error rate or on its slow-call rate (from closed,
 * or from half-open on the trial calls' rates); it half-opened because its open wait elapsed; it
 * closed because the trial calls' rates were below both thresholds.
 */
export type TransitionReason = 'failure_rate' | 'slow_call_rate' | 'wait_elapsed' | 'trials_passed';

/** One state change, as `onTransition` receives it. */
export interface BreakerTransition {
  breaker: string;
  from: BreakerState;
  to: BreakerState;
  reason: TransitionReason;
  /** Clock time of the change, ms. */
  atMs: number;
  /** The counts that decided it: the window's (from closed) or the trial calls' (from half-open). */
  calls: number;
  failureRatePct: number;
  slowCallRatePct: number;
}

/**
 * Settings of a rate-based breaker; the names of resilience4j's CircuitBreakerConfig in brackets
 * (resilience4j docs, CircuitBreaker). Env variables and chosen values: docs/fallback.md.
 */
export interface CircuitBreakerOptions {
  /** Length of the time-based sliding window, ms [slidingWindowType TIME_BASED, slidingWindowSize]. */
  windowMs: number;
  /** Buckets the window is split into: it slides by `windowMs / windowBuckets` ms. Integer ≥ 1. */
  windowBuckets: number;
  /** Calls the window must hold before either rate is judged [minimumNumberOfCalls]. Integer ≥ 1. */
  minimumCalls: number;
  /** Share of failed calls, percent in (0, 100], at or above which the breaker opens [failureRateThreshold]. */
  failureRatePct: number;
  /** Share of slow calls (deadline misses), percent in (0, 100], at or above which it opens [slowCallRateThreshold]. */
  slowCallRatePct: number;
  /** How long it stays open before admitting trial calls, ms [waitDurationInOpenState]. */
  openMs: number;
  /** Trial calls admitted in half-open, judged together [permittedNumberOfCallsInHalfOpenState]. Integer ≥ 1. */
  halfOpenCalls: number;
}

/** What `tryAcquire` returns when the call may not proceed. */
export const NOT_PERMITTED = -1;

/**
 * A rate-based circuit breaker as a sans-I/O state machine, with the documented semantics of
 * resilience4j's CircuitBreaker (resilience4j docs, "CircuitBreaker"; the pattern: Nygard,
 * "Release It!", ch. 5 "Circuit Breaker"):
 *
 * - **closed**: every call's outcome goes into a time-based sliding window (`TimeSlidingWindow`).
 *   Once the window holds at least `minimumCalls` calls, the breaker opens when the share of failed
 *   calls reaches `failureRatePct`, or the share of slow calls reaches `slowCallRatePct` (each
 *   "equal or greater", as resilience4j). Failures and slow calls are counted separately, each
 *   against its own threshold: a dependency that is merely slow for a moment (a GC pause, an
 *   event-loop stall) is not declared dead, and one burst shorter than the minimum can never open it.
 * - **open**: every call is refused (`tryAcquire` returns `NOT_PERMITTED`) for `openMs`; the first
 *   call asked for after that moves it to half-open (resilience4j without
 *   automaticTransitionFromOpenToHalfOpen: no timer).
 * - **half_open**: exactly `halfOpenCalls` trial calls are admitted, others refused; once all of
 *   them are recorded, their failure and slow rates are judged against the same thresholds: either
 *   reached → open again for another `openMs`; both below → closed, with an empty window.
 *
 * What a slow call is: the guard (core/resilience/guard.ts) reports a call that missed its deadline
 * as slow; resilience4j's slowCallDurationThreshold is thus the guarded call's own deadline (the
 * guard abandons a call there, so no longer duration is observed). A call that answered with an
 * error before its deadline is a failure.
 *
 * `tryAcquire()` returns a ticket (≥ 0) that the caller hands back with the call's outcome
 * (`onSuccess`, `onFailure`, `onSlow`). A ticket names the state the call was admitted in: an
 * outcome that arrives after the breaker changed state (a call admitted while closed that ends
 * while open or half-open) is ignored, so only trial calls judge a half-open breaker.
 *
 * It reads time only through `Clock` and sets no timers, so the simulator (sim/fleet/) runs this
 * code on its virtual clock. Memory is fixed by `windowBuckets`, whatever the call rate.
 */
export class CircuitBreaker {
  readonly name: string;
  readonly #clock: Clock;
  readonly #opts: CircuitBreakerOptions;
  readonly #onTransition: ((t: BreakerTransition) => void) | undefined;
  readonly #window: TimeSlidingWindow;
  #state: BreakerState = 'closed';
  /** Incremented on every transition; the tickets of calls admitted in the current state. */
  #epoch = 0;
  #openedAtMs = 0;
  #trialsAdmitted = 0;
  readonly #trials: WindowCounts = { calls: 0, failures: 0, slow: 0 };

  /**
   * @param name the dependency's name (`ranker`, `retrieval.subscriptions`, …): in errors and metrics
   * @param onTransition told of every state change, synchronously (metrics, logs); must not throw
   * @throws ReclabError RECLAB_ERR_CONFIG_INVALID when an option is out of range (listed above)
   */
  constructor(
    name: string,
    clock: Clock,
    opts: CircuitBreakerOptions,
    onTransition?: (t: BreakerTransition) => void,
  ) {
    const problems = [
      !(opts.openMs >= 0) && 'openMs must be ≥ 0',
      !(Number.isInteger(opts.minimumCalls) && opts.minimumCalls >= 1) &&
        'minimumCalls must be an integer ≥ 1',
      !(Number.isInteger(opts.halfOpenCalls) && opts.halfOpenCalls >= 1) &&
        'halfOpenCalls must be an integer ≥ 1',
      !(opts.failureRatePct > 0 && opts.failureRatePct <= 100) && 'failureRatePct must be in (0, 100]',
      !(opts.slowCallRatePct > 0 && opts.slowCallRatePct <= 100) && 'slowCallRatePct must be in (0, 100]',
    ].filter((p): p is string => typeof p === 'string');
    if (problems.length > 0) {
      throw new ReclabError('RECLAB_ERR_CONFIG_INVALID', `circuit breaker '${name}': ${problems.join('; ')}`);
    }
    this.name = name;
    this.#clock = clock;
    this.#opts = opts;
    this.#onTransition = onTransition;
    this.#window = new TimeSlidingWindow(opts.windowMs, opts.windowBuckets);
  }

  /**
   * The state now. An open breaker stays `open` after its wait until a call is asked for (that
   * call moves it to half-open), as resilience4j does without automatic transition.
   */
  get state(): BreakerState {
    return this.#state;
  }

  /**
   * The counts being judged now: the sliding window's while closed, the trial calls' while
   * half-open, zeros while open. A copy.
   */
  snapshot(): { state: BreakerState } & WindowCounts {
    if (this.#state === 'closed') return { state: 'closed', ...this.#window.counts(this.#clock.now()) };
    if (this.#state === 'half_open') return { state: 'half_open', ...this.#trials };
    return { state: 'open', calls: 0, failures: 0, slow: 0 };
  }

  /**
   * Asks to make a call. Returns a ticket (≥ 0) to pass to `onSuccess` / `onFailure` / `onSlow`
   * once the call ends, or `NOT_PERMITTED` (-1) when the breaker refuses it (open, or half-open
   * with every trial admitted).
   */
  tryAcquire(): number {
    if (this.#state === 'closed') return this.#epoch;
    if (this.#state === 'open') {
      if (this.#clock.now() - this.#openedAtMs < this.#opts.openMs) return NOT_PERMITTED;
      this.#transition('half_open', 'wait_elapsed', this.#trials);
    }
    if (this.#trialsAdmitted >= this.#opts.halfOpenCalls) return NOT_PERMITTED;
    this.#trialsAdmitted++;
    return this.#epoch;
  }

  /** The call admitted with `ticket` answered in time. */
  onSuccess(ticket: number): void {
    this.#record(ticket, false, false);
  }

  /** The call admitted with `ticket` failed (an error before its deadline). */
  onFailure(ticket: number): void {
    this.#record(ticket, true, false);
  }

  /** The call admitted with `ticket` was slow: it missed its deadline. */
  onSlow(ticket: number): void {
    this.#record(ticket, false, true);
  }

  #record(ticket: number, failed: boolean, slow: boolean): void {
    if (ticket !== this.#epoch || this.#state === 'open') return;
    if (this.#state === 'closed') {
      const now = this.#clock.now();
      this.#window.record(now, failed, slow);
      const counts = this.#window.counts(now);
      if (counts.calls < this.#opts.minimumCalls) return;
      const reason = this.#verdict(counts);
      if (reason) this.#open(reason, counts);
      return;
    }
    // half_open: the trial calls are judged together once all of them have ended.
    const t = this.#trials;
    t.calls++;
    if (failed) t.failures++;
    if (slow) t.slow++;
    if (t.calls < this.#opts.halfOpenCalls) return;
    const reason = this.#verdict(t);
    if (reason) this.#open(reason, t);
    else this.#transition('closed', 'trials_passed', t);
  }

  /** The threshold `counts` reach, errors first; undefined when below both. */
  #verdict(counts: WindowCounts): 'failure_rate' | 'slow_call_rate' | undefined {
    if (counts.failures * 100 >= this.#opts.failureRatePct * counts.calls) return 'failure_rate';
    if (counts.slow * 100 >= this.#opts.slowCallRatePct * counts.calls) return 'slow_call_rate';
    return undefined;
  }

  #open(reason: 'failure_rate' | 'slow_call_rate', counts: WindowCounts): void {
    this.#openedAtMs = this.#clock.now();
    this.#transition('open', reason, counts);
  }

  #transition(to: BreakerState, reason: TransitionReason, counts: WindowCounts): void {
    const from = this.#state;
    const event: BreakerTransition | undefined = this.#onTransition && {
      breaker: this.name,
      from,
      to,
      reason,
      atMs: this.#clock.now(),
      calls: counts.calls,
      failureRatePct: counts.calls > 0 ? (100 * counts.failures) / counts.calls : 0,
      slowCallRatePct: counts.calls > 0 ? (100 * counts.slow) / counts.calls : 0,
    };
    this.#state = to;
    this.#epoch++;
    // Every state starts from nothing: a fresh window when closing, no trials when half-opening.
    this.#window.reset();
    this.#trialsAdmitted = 0;
    this.#trials.calls = 0;
    this.#trials.failures = 0;
    this.#trials.slow = 0;
    if (event) this.#onTransition?.(event);
  }
}
