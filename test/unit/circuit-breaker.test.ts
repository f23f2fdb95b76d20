/**
 * Unit: the rate-based circuit breaker against resilience4j's documented CircuitBreaker semantics
 * (time-based sliding window, minimumNumberOfCalls, failureRateThreshold, slowCallRateThreshold,
 * waitDurationInOpenState, permittedNumberOfCallsInHalfOpenState), the sliding window it judges,
 * and the guard that feeds it (a deadline miss is a slow call, an error a failure). Time is a
 * manual clock, so every case is exact.
 */
import { describe, expect, it } from 'vitest';
import { ReclabError } from '../../core/errors.ts';
import {
  type BreakerTransition,
  CircuitBreaker,
  type CircuitBreakerOptions,
  NOT_PERMITTED,
} from '../../core/resilience/circuit-breaker.ts';
import { guarded, guardedCallback } from '../../core/resilience/guard.ts';
import { TimeSlidingWindow } from '../../core/resilience/sliding-window.ts';
import { TEST_BREAKER } from '../helpers/core-fixtures.ts';
import { manualClock } from '../helpers/manual-clock.ts';

const codes = { timeout: 'RECLAB_ERR_RANKER_TIMEOUT', unavailable: 'RECLAB_ERR_RANKER_UNAVAILABLE' } as const;

/** The core's defaults (RECLAB_BREAKER_*): 5 s window in 10 buckets, 100 calls, 50 % / 80 %, 10 trials. */
const DEFAULTS: CircuitBreakerOptions = { ...TEST_BREAKER, openMs: 5000 };

type Outcome = 'ok' | 'error' | 'slow';

function breaker(opts: Partial<CircuitBreakerOptions> = {}) {
  const mc = manualClock();
  const transitions: BreakerTransition[] = [];
  const b = new CircuitBreaker('dep', mc.clock, { ...DEFAULTS, ...opts }, (t) => transitions.push(t));
  /** One call through the breaker with `outcome`; false when the breaker refused it. */
  const call = (outcome: Outcome): boolean => {
    const ticket = b.tryAcquire();
    if (ticket === NOT_PERMITTED) return false;
    if (outcome === 'ok') b.onSuccess(ticket);
    else if (outcome === 'error') b.onFailure(ticket);
    else b.onSlow(ticket);
    return true;
  };
  /** `n` calls evenly over `overMs` (all at once when 0), each with `outcomeOf(i)`. */
  const calls = (n: number, outcomeOf: (i: number) => Outcome, overMs = 0): number => {
    let refused = 0;
    for (let i = 0; i < n; i++) {
      if (!call(outcomeOf(i))) refused++;
      if (overMs > 0) mc.advance(overMs / n);
    }
    return refused;
  };
  return { b, ...mc, transitions, call, calls };
}

/** Outcome i of a stream where `pct` % are `bad`, spread evenly (Bresenham), the rest ok. */
const share =
  (pct: number, bad: Outcome) =>
  (i: number): Outcome =>
    Math.floor(((i + 1) * pct) / 100) > Math.floor((i * pct) / 100) ? bad : 'ok';

describe('TimeSlidingWindow (resilience4j time-based window: buckets, subtract-on-evict)', () => {
  it('counts the calls of the last window and forgets each bucket as it leaves', () => {
    const w = new TimeSlidingWindow(1000, 4); // 250 ms buckets
    w.record(0, true, false);
    w.record(100, false, true);
    w.record(300, false, false);
    expect({ ...w.counts(300) }).toEqual({ calls: 3, failures: 1, slow: 1 });
    expect({ ...w.counts(999) }).toEqual({ calls: 3, failures: 1, slow: 1 });
    // At 1000 ms the [0, 250) bucket leaves: its failure and slow call with it.
    expect({ ...w.counts(1000) }).toEqual({ calls: 1, failures: 0, slow: 0 });
    expect({ ...w.counts(1250) }).toEqual({ calls: 0, failures: 0, slow: 0 });
    // A long silence clears everything at once; recording starts again.
    w.record(9000, true, true);
    expect({ ...w.counts(9100) }).toEqual({ calls: 1, failures: 1, slow: 1 });
  });

  it('rejects a window or bucket count out of range with RECLAB_ERR_CONFIG_INVALID', () => {
    expect(() => new TimeSlidingWindow(0, 10)).toThrow(/RECLAB_ERR_CONFIG_INVALID|windowMs/);
    expect(() => new TimeSlidingWindow(1000, 1.5)).toThrow(ReclabError);
  });
});

describe('CircuitBreaker: what never opens it', () => {
  it('a single deadline miss, even as the first call of an empty window', () => {
    const { b, call, calls } = breaker();
    call('slow');
    expect(b.state).toBe('closed'); // 1 call of 1 slow = 100 %, but below minimumCalls
    calls(200, () => 'ok', 1000);
    call('slow');
    expect(b.state).toBe('closed');
    expect(b.snapshot()).toMatchObject({ calls: 202, slow: 2, failures: 0 });
  });

  it('a burst of deadline misses shorter than minimumCalls × slowCallRatePct (80), even at a cold start', () => {
    const { b, calls, transitions } = breaker();
    calls(79, () => 'slow'); // every call so far slow: below the 100-call minimum, not judged
    expect(b.state).toBe('closed');
    calls(400, () => 'ok', 1000); // at the 100th call: 79 % slow, below 80 %
    expect(b.state).toBe('closed');
    expect(transitions).toEqual([]);

    // The boundary, so this case can fail: 80 misses in an empty window do open it at call 100.
    const control = breaker();
    control.calls(80, () => 'slow');
    control.calls(20, () => 'ok');
    expect(control.b.state).toBe('open');
    expect(control.transitions[0]).toMatchObject({ reason: 'slow_call_rate', calls: 100 });
  });

  it('a 50 ms GC pause at 400 calls/s through the guard: every call in flight misses its 30 ms deadline, none opens it', () => {
    const { clock, advance } = manualClock();
    const transitions: BreakerTransition[] = [];
    const b = new CircuitBreaker('retrieval.subscriptions', clock, DEFAULTS, (t) => transitions.push(t));
    let timeouts = 0;
    let pauseEndMs = Number.POSITIVE_INFINITY;
    let pauseStartMs = Number.POSITIVE_INFINITY;
    // 400 calls/s (one every 2.5 ms) answering in 2 ms; during the pause nothing answers, and the
    // backlog after it (three times the pause) answers late too: the worst case for one stall.
    const step = 0.5;
    for (let t = 0; t < 10_000; t += step) {
      if (t === 6000) {
        pauseStartMs = t;
        pauseEndMs = t + 50;
      }
      if (t % 2.5 === 0) {
        const late = t >= pauseStartMs - 2 && t < pauseEndMs + 150;
        guardedCallback(
          clock,
          b,
          30,
          codes,
          (done) => clock.setTimer(late ? 40 : 2, () => done(undefined)),
          (err) => {
            if ((err as ReclabError | undefined)?.code === codes.timeout) timeouts++;
          },
        );
      }
      advance(step);
    }
    expect(timeouts).toBe(80); // the pause and its backlog (200 ms of calls) missed their deadlines
    expect(b.state).toBe('closed');
    expect(transitions).toEqual([]);
  });

  it('errors and deadline misses are judged apart: 45 % of each (90 % bad in all) stays closed', () => {
    const { b, calls } = breaker();
    calls(1000, (i) => (i % 20 < 9 ? 'error' : i % 20 < 18 ? 'slow' : 'ok'), 4000);
    expect(b.state).toBe('closed');
    const s = b.snapshot();
    expect(s.failures / s.calls).toBeCloseTo(0.45, 2);
    expect(s.slow / s.calls).toBeCloseTo(0.45, 2);
  });
});

describe('CircuitBreaker: what opens it', () => {
  it('a sustained error rate at or above failureRatePct opens it, reason failure_rate; below it does not', () => {
    const below = breaker();
    below.calls(2000, share(45, 'error'), 8000);
    expect(below.b.state).toBe('closed');

    const above = breaker();
    const refused = above.calls(2000, share(60, 'error'), 8000);
    expect(above.b.state).toBe('open');
    expect(refused).toBeGreaterThan(0);
    expect(above.transitions[0]).toMatchObject({ from: 'closed', to: 'open', reason: 'failure_rate' });
    expect(above.transitions[0].failureRatePct).toBeGreaterThanOrEqual(50);
    expect(above.transitions[0].calls).toBeGreaterThanOrEqual(100);
  });

  it('the slow-call rate opens it only at or above its own threshold (80 %), not the error one (50 %)', () => {
    const seventy = breaker();
    seventy.calls(2000, share(70, 'slow'), 8000);
    expect(seventy.b.state).toBe('closed');

    const ninety = breaker();
    ninety.calls(2000, share(90, 'slow'), 8000);
    expect(ninety.b.state).toBe('open');
    expect(ninety.transitions[0]).toMatchObject({ to: 'open', reason: 'slow_call_rate' });
    expect(ninety.transitions[0].slowCallRatePct).toBeGreaterThanOrEqual(80);
    expect(ninety.transitions[0].failureRatePct).toBe(0);
  });

  it('honours minimumCalls: 99 failures leave it closed, the 100th opens it', () => {
    const { b, calls, call } = breaker();
    calls(99, () => 'error');
    expect(b.state).toBe('closed');
    call('error');
    expect(b.state).toBe('open');
  });

  it('a dependency that dies under steady traffic opens it within half the window (errors)', () => {
    const { b, calls, clock, transitions } = breaker();
    calls(2000, () => 'ok', 5000); // 400 calls/s, window full of successes
    const diedAt = clock.now();
    calls(2000, () => 'error', 5000);
    expect(b.state).toBe('open');
    const openedAfter = transitions[0].atMs - diedAt;
    expect(openedAfter).toBeGreaterThan(2000);
    expect(openedAfter).toBeLessThanOrEqual(2600); // 50 % of a 4.5–5 s window
  });

  it('the window slides: failures older than windowMs no longer count', () => {
    const aged = breaker();
    aged.calls(90, () => 'error'); // below the minimum
    aged.advance(6000); // past the window
    aged.calls(10, () => 'ok');
    expect(aged.b.state).toBe('closed');
    expect(aged.b.snapshot()).toMatchObject({ calls: 10, failures: 0 });

    const within = breaker(); // the control: the same calls within one window do open it
    within.calls(90, () => 'error');
    within.advance(2000);
    within.calls(10, () => 'ok');
    expect(within.b.state).toBe('open');
  });
});

describe('CircuitBreaker: open, half-open, closed', () => {
  it('refuses every call while open; the first call after waitDuration makes it half-open', () => {
    const { b, calls, call, advance, transitions } = breaker({ openMs: 1000 });
    calls(100, () => 'error');
    expect(b.state).toBe('open');
    expect(b.tryAcquire()).toBe(NOT_PERMITTED);
    advance(999);
    expect(call('ok')).toBe(false);
    expect(b.state).toBe('open'); // no timer: it stays open until a call is asked for
    advance(1);
    expect(b.state).toBe('open');
    expect(b.tryAcquire()).not.toBe(NOT_PERMITTED);
    expect(b.state).toBe('half_open');
    expect(transitions.map((t) => `${t.to}:${t.reason}`)).toEqual([
      'open:failure_rate',
      'half_open:wait_elapsed',
    ]);
  });

  it('half-open admits exactly halfOpenCalls trials and closes when they pass', () => {
    const { b, calls, advance, transitions } = breaker({ openMs: 1000, halfOpenCalls: 10 });
    calls(100, () => 'error');
    advance(1000);
    const tickets = Array.from({ length: 10 }, () => b.tryAcquire());
    expect(tickets.every((t) => t !== NOT_PERMITTED)).toBe(true);
    expect(b.tryAcquire()).toBe(NOT_PERMITTED); // the 11th waits for the verdict
    for (const t of tickets.slice(0, 9)) b.onSuccess(t);
    expect(b.state).toBe('half_open'); // judged only once all 10 have ended
    b.onSlow(tickets[9]); // 1 of 10 slow: below both thresholds
    expect(b.state).toBe('closed');
    expect(transitions.at(-1)).toMatchObject({
      from: 'half_open',
      to: 'closed',
      reason: 'trials_passed',
      calls: 10,
    });
    expect(b.snapshot()).toMatchObject({ state: 'closed', calls: 0 }); // a fresh window
  });

  it('half-open re-opens for another wait when the trials fail at the failure rate', () => {
    const { b, calls, advance, transitions } = breaker({ openMs: 1000, halfOpenCalls: 4 });
    calls(100, () => 'error');
    advance(1000);
    const tickets = Array.from({ length: 4 }, () => b.tryAcquire());
    b.onSuccess(tickets[0]);
    b.onSuccess(tickets[1]);
    b.onFailure(tickets[2]);
    b.onFailure(tickets[3]); // 2 of 4 = 50 %: at the threshold
    expect(b.state).toBe('open');
    expect(transitions.at(-1)).toMatchObject({ from: 'half_open', to: 'open', reason: 'failure_rate' });
    advance(999);
    expect(b.tryAcquire()).toBe(NOT_PERMITTED);
    advance(1);
    expect(b.tryAcquire()).not.toBe(NOT_PERMITTED);
  });

  it('half-open re-opens on trials that miss their deadline (reason slow_call_rate)', () => {
    const { b, calls, advance, transitions } = breaker({ openMs: 1000, halfOpenCalls: 5 });
    calls(100, () => 'slow');
    expect(transitions[0].reason).toBe('slow_call_rate');
    advance(1000);
    calls(5, () => 'slow');
    expect(b.state).toBe('open');
    expect(transitions.at(-1)).toMatchObject({ from: 'half_open', to: 'open', reason: 'slow_call_rate' });
  });

  it('ignores outcomes of calls admitted before the state changed: only trials judge half-open', () => {
    const { b, calls, advance } = breaker({ openMs: 1000, halfOpenCalls: 2 });
    const early = Array.from({ length: 20 }, () => b.tryAcquire()); // admitted while closed
    calls(100, () => 'error');
    expect(b.state).toBe('open');
    for (const t of early) b.onFailure(t); // end while open: ignored
    advance(1000);
    const trials = [b.tryAcquire(), b.tryAcquire()];
    for (const t of early) b.onSuccess(t); // end while half-open: not trials, ignored
    expect(b.state).toBe('half_open');
    expect(b.snapshot()).toMatchObject({ calls: 0 });
    b.onSuccess(trials[0]);
    b.onSuccess(trials[1]);
    expect(b.state).toBe('closed');
  });

  it('rejects options out of range with RECLAB_ERR_CONFIG_INVALID, naming each', () => {
    const { clock } = manualClock();
    expect(
      () =>
        new CircuitBreaker('x', clock, {
          ...DEFAULTS,
          minimumCalls: 0,
          failureRatePct: 120,
          halfOpenCalls: 0,
        }),
    ).toThrow(/'x'.*minimumCalls.*halfOpenCalls.*failureRatePct/);
    expect(() => new CircuitBreaker('x', clock, { ...DEFAULTS, windowBuckets: 0 })).toThrow(ReclabError);
  });
});

describe('guarded (deadline + breaker)', () => {
  it('a deadline miss throws the timeout code and counts as slow, not as a failure', async () => {
    const { clock, advance } = manualClock();
    const b = new CircuitBreaker('r', clock, { ...DEFAULTS, minimumCalls: 1, openMs: 1000 });
    const p = guarded(clock, b, 50, codes, () => new Promise(() => {}));
    advance(50);
    await expect(p).rejects.toMatchObject({ code: 'RECLAB_ERR_RANKER_TIMEOUT' });
    expect(b.state).toBe('open'); // 1 of 1 slow ≥ 80 %, with a minimum of 1
    await expect(guarded(clock, b, 50, codes, async () => 1)).rejects.toMatchObject({
      code: 'RECLAB_ERR_RANKER_UNAVAILABLE',
    });
  });

  it('records successes, errors and deadline misses apart', async () => {
    const { clock, advance } = manualClock();
    const b = new CircuitBreaker('r', clock, DEFAULTS);
    await guarded(clock, b, 50, codes, async () => 1);
    await expect(
      guarded(clock, b, 50, codes, async () => Promise.reject(new Error('boom'))),
    ).rejects.toMatchObject({
      code: 'RECLAB_ERR_RANKER_UNAVAILABLE',
    });
    const late = guarded(clock, b, 50, codes, () => new Promise(() => {}));
    advance(50);
    await expect(late).rejects.toMatchObject({ code: 'RECLAB_ERR_RANKER_TIMEOUT' });
    expect(b.snapshot()).toEqual({ state: 'closed', calls: 3, failures: 1, slow: 1 });
  });

  it('wraps driver errors in the unavailable code and passes ReclabErrors through', async () => {
    const { clock } = manualClock();
    const b = new CircuitBreaker('r', clock, DEFAULTS);
    await expect(
      guarded(clock, b, 50, codes, async () => Promise.reject(new Error('boom'))),
    ).rejects.toBeInstanceOf(ReclabError);
    await expect(
      guarded(clock, b, 50, codes, async () => {
        throw new ReclabError('RECLAB_ERR_RANKER_INVALID_OUTPUT');
      }),
    ).rejects.toMatchObject({ code: 'RECLAB_ERR_RANKER_INVALID_OUTPUT' });
    await expect(guarded(clock, b, 50, codes, async () => 42)).resolves.toBe(42);
  });
});
