import { type ErrorCode, ReclabError } from '../errors.ts';
import type { Clock } from '../ports/clock.ts';
import { type CircuitBreaker, NOT_PERMITTED } from './circuit-breaker.ts';
import type { FaultInjector } from './fault-injection.ts';

export interface GuardCodes {
  /** Code thrown when the deadline passes first. */
  timeout: ErrorCode;
  /** Code thrown when the breaker is open or the call fails. */
  unavailable: ErrorCode;
}

/**
 * The callback form of `guarded`, the one implementation of the deadline-and-breaker rule: the
 * simulator's synchronous request flow (sim/fleet/) calls it directly, `guarded` wraps it in a
 * Promise. Same semantics as `guarded`; `start` begins the call and reports once through `done`
 * (later reports are ignored), `onSettle` receives the outcome exactly once — synchronously when
 * the breaker is open.
 */
export function guardedCallback<T>(
  clock: Clock,
  breaker: CircuitBreaker,
  deadlineMs: number,
  codes: GuardCodes,
  start: (done: (err: unknown, value?: T) => void) => void,
  onSettle: (err: ReclabError | undefined, value?: T) => void,
): void {
  const ticket = breaker.tryAcquire();
  if (ticket === NOT_PERMITTED) {
    onSettle(new ReclabError(codes.unavailable, `circuit breaker '${breaker.name}' is ${breaker.state}`));
    return;
  }
  let settled = false;
  const cancel = clock.setTimer(deadlineMs, () => {
    if (settled) return;
    settled = true;
    breaker.onSlow(ticket);
    onSettle(new ReclabError(codes.timeout, `'${breaker.name}' exceeded ${deadlineMs} ms`));
  });
  start((err, value) => {
    if (settled) return;
    settled = true;
    cancel();
    if (err === undefined) {
      breaker.onSuccess(ticket);
      onSettle(undefined, value);
      return;
    }
    breaker.onFailure(ticket);
    onSettle(
      err instanceof ReclabError
        ? err
        : new ReclabError(codes.unavailable, `'${breaker.name}': ${(err as Error)?.message ?? err}`, {
            cause: err,
          }),
    );
  });
}

/**
 * Runs `call` under a deadline and a circuit breaker: `withDeadline(withBreaker(call))`.
 *
 * - breaker open (or half-open with every trial call admitted) → throws `codes.unavailable` at
 *   once, without calling;
 * - `call` settles after `deadlineMs` → throws `codes.timeout` (the late result is ignored); the
 *   breaker records a **slow** call, judged against its slow-call rate, not its failure rate;
 * - `call` rejects → throws `codes.unavailable` with the cause attached; the breaker records a
 *   **failure**;
 * - `call` resolves in time → its value; the breaker records a success.
 *
 * With `faults`, a fault set on the breaker's name (core/resilience/fault-injection.ts) applies to
 * the call — inside the deadline, so an injected delay times out like a slow dependency.
 * Time comes only from `clock`, so this runs unchanged in virtual time.
 */
export function guarded<T>(
  clock: Clock,
  breaker: CircuitBreaker,
  deadlineMs: number,
  codes: GuardCodes,
  call: () => Promise<T>,
  faults?: FaultInjector,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    guardedCallback<T>(
      clock,
      breaker,
      deadlineMs,
      codes,
      (done) => {
        let pending: Promise<T>;
        try {
          pending = faults ? faults.run(breaker.name, call) : call();
        } catch (err) {
          pending = Promise.reject(err);
        }
        pending.then(
          (value) => done(undefined, value),
          (err: unknown) => done(err ?? new Error('rejected without a reason')),
        );
      },
      (err, value) => (err ? reject(err) : resolve(value as T)),
    );
  });
}
