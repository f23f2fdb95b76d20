import { describe, expect, it } from 'vitest';
import { ReclabError } from '../../core/errors.ts';
import { CircuitBreaker } from '../../core/resilience/circuit-breaker.ts';
import { guarded } from '../../core/resilience/guard.ts';
import { manualClock } from '../helpers/manual-clock.ts';

const codes = { timeout: 'RECLAB_ERR_RANKER_TIMEOUT', unavailable: 'RECLAB_ERR_RANKER_UNAVAILABLE' } as const;

describe('CircuitBreaker (cockatiel ConsecutiveBreaker semantics)', () => {
  it('opens after N consecutive failures, half-opens after openMs, closes on a successful trial', () => {
    const { clock, advance } = manualClock();
    const b = new CircuitBreaker('x', clock, { failureThreshold: 3, openMs: 1000 });
    for (let i = 0; i < 2; i++) b.onFailure();
    expect(b.state).toBe('closed');
    b.onSuccess(); // a success resets the consecutive count
    for (let i = 0; i < 3; i++) b.onFailure();
    expect(b.state).toBe('open');
    expect(b.tryAcquire()).toBe(false);
    advance(999);
    expect(b.tryAcquire()).toBe(false);
    advance(1);
    expect(b.state).toBe('half_open');
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false); // only one trial call in half-open
    b.onSuccess();
    expect(b.state).toBe('closed');
  });

  it('re-opens for another openMs when the half-open trial fails', () => {
    const { clock, advance } = manualClock();
    const b = new CircuitBreaker('x', clock, { failureThreshold: 1, openMs: 100 });
    b.onFailure();
    advance(100);
    expect(b.tryAcquire()).toBe(true);
    b.onFailure();
    expect(b.state).toBe('open');
    advance(50);
    expect(b.tryAcquire()).toBe(false);
  });
});

describe('guarded (deadline + breaker)', () => {
  it('times out with the timeout code when the deadline passes first, and counts a failure', async () => {
    const { clock, advance } = manualClock();
    const b = new CircuitBreaker('r', clock, { failureThreshold: 1, openMs: 1000 });
    const p = guarded(clock, b, 50, codes, () => new Promise(() => {}));
    advance(50);
    await expect(p).rejects.toMatchObject({ code: 'RECLAB_ERR_RANKER_TIMEOUT' });
    expect(b.state).toBe('open');
    await expect(guarded(clock, b, 50, codes, async () => 1)).rejects.toMatchObject({
      code: 'RECLAB_ERR_RANKER_UNAVAILABLE',
    });
  });

  it('wraps driver errors in the unavailable code and passes ReclabErrors through', async () => {
    const { clock } = manualClock();
    const b = new CircuitBreaker('r', clock, { failureThreshold: 5, openMs: 1000 });
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
