/** Exit codes of `reclab run` (docs/exit-codes.md; after k6's stable codes). */
export const EXIT = { pass: 0, crash: 1, invalidConfig: 2, budgetBreached: 3, invariantViolated: 4 } as const;

/** What decides a run's exit code (docs/exit-codes.md). */
export interface RunVerdictInput {
  /** 200 responses minus distinct impressions on the topic. */
  impressionsLost: number;
  /** Accepted events missing from the events topic (0 without user events). */
  eventsLost: number;
  /** The core's exit code after SIGTERM; null when a signal (SIGKILL after the stop bound) ended it. */
  coreExitCode: number | null;
  /** Every assertion of the scenario held. */
  budgetsOk: boolean;
}

/**
 * The run's exit code: 4 (invariant violated, data may be lost) when impressions or events are
 * missing from their topics, or when the core did not exit 0 — a core that crashed, overran its
 * stop bound or reported dropped records may have lost what it held; else 3 when a budget broke;
 * else 0.
 */
export function runVerdict(v: RunVerdictInput): number {
  if (v.impressionsLost !== 0 || v.eventsLost !== 0 || v.coreExitCode !== 0) return EXIT.invariantViolated;
  return v.budgetsOk ? EXIT.pass : EXIT.budgetBreached;
}
