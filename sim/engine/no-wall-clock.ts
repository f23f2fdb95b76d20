/**
 * While a simulated slice runs, reading wall time or an unseeded random is a bug: the run would no
 * longer be a function of its seed. `withoutWallClock` replaces `Date.now`, `performance.now`,
 * `Math.random` and `crypto.randomUUID` with functions that throw RECLAB_ERR_SIM_NONDETERMINISM,
 * runs `fn`, and restores them. Cost: four property writes per slice, nothing per event.
 */
import * as crypto from 'node:crypto';
import { SimError } from '../sim-error.ts';

type Patch = [object, string, unknown];

export function withoutWallClock<T>(fn: () => T): T {
  const restore = forbidWallClock();
  try {
    return fn();
  } finally {
    restore();
  }
}

/**
 * `withoutWallClock` for an async run (the high-fidelity run, sim/hifi/): the guard stays on until
 * `fn`'s promise settles. Nothing else may run in the process meanwhile: the guard is global.
 */
export async function withoutWallClockAsync<T>(fn: () => Promise<T>): Promise<T> {
  const restore = forbidWallClock();
  try {
    return await fn();
  } finally {
    restore();
  }
}

/** Installs the throwing replacements; returns the function that puts the originals back. */
function forbidWallClock(): () => void {
  const forbid = (name: string) => () => {
    throw new SimError('RECLAB_ERR_SIM_NONDETERMINISM', `${name} called during a simulated run`);
  };
  const saved: Patch[] = [
    [Date, 'now', Date.now],
    [performance, 'now', performance.now],
    [Math, 'random', Math.random],
    [globalThis.crypto, 'randomUUID', globalThis.crypto.randomUUID],
  ];
  (Date as { now: unknown }).now = forbid('Date.now');
  (performance as { now: unknown }).now = forbid('performance.now');
  (Math as { random: unknown }).random = forbid('Math.random');
  (globalThis.crypto as { randomUUID: unknown }).randomUUID = forbid('crypto.randomUUID');
  // node:crypto's own export is a separate binding; it cannot be reassigned on the ESM namespace,
  // so the source check (test/unit/sim-run.test.ts) covers it.
  void crypto;
  return () => {
    for (const [obj, key, value] of saved) (obj as Record<string, unknown>)[key] = value;
  };
}
