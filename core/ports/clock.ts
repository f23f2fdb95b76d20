/**
 * Clock — the only way the core reads time or waits (ARCHITECTURE.md, "Resilience reads time only
 * through Clock"). The system clock serves live mode; the simulator's virtual clock serves virtual
 * time, so the same resilience code runs in both.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch (may be fractional). */
  now(): number;
  /** Calls `fn` after `delayMs`; returns a function that cancels the timer. */
  setTimer(delayMs: number, fn: () => void): () => void;
}
