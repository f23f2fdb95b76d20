import { type ErrorCode, ReclabError } from '../errors.ts';
import type { Clock } from '../ports/clock.ts';
import type { CircuitBreaker } from './circuit-breaker.ts';
import type { FaultInjector } from './fault-injection.ts';

export interface GuardCodes {
  /** Code thrown when the deadline passes first. */
  timeout: ErrorCode;
  /** Code thrown when the breaker is open or the call fails. */
  unavailable: ErrorCode;
}

/**
 * Runs `call` under a deadline and a circuit breaker: `withDeadline(withBreaker(call))`.
 *
 * - breaker open → throws `codes.unavailable` at once, without calling;
 * - `call` settles after `deadlineMs` → throws `codes.timeout` (the late result is ignored; the
 *   timeout counts as a failure for the breaker, as a slow dependency is a failing one);
 * - `call` rejects → throws `codes.unavailable` with the cause attached.
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
  if (!breaker.tryAcquire()) {
    return Promise.reject(new ReclabError(codes.unavailable, `circuit breaker '${breaker.name}' is open`));
  }
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const cancel = clock.setTimer(deadlineMs, () => {
      if (settled) return;
      settled = true;
      breaker.onFailure();
      reject(new ReclabError(codes.timeout, `'${breaker.name}' exceeded ${deadlineMs} ms`));
    });
    let pending: Promise<T>;
    try {
      pending = faults ? faults.run(breaker.name, call) : call();
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      (value) => {
        if (settled) return;
        settled = true;
        cancel();
        breaker.onSuccess();
        resolve(value);
      },
      (err: unknown) => {
        if (settled) return;
        settled = true;
        cancel();
        breaker.onFailure();
        reject(
          err instanceof ReclabError
            ? err
            : new ReclabError(codes.unavailable, `'${breaker.name}': ${(err as Error)?.message ?? err}`, {
                cause: err,
              }),
        );
      },
    );
  });
}
