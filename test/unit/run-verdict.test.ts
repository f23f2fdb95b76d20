/**
 * The run's exit code (loadtest/run-verdict.ts, docs/exit-codes.md): a core that does not exit 0
 * after its graceful stop fails the run with 4 (data may be lost), whatever the budgets and counts
 * say; so do impressions or events missing from their topics (issue 9 items 3b and 4).
 */
import { describe, expect, it } from 'vitest';
import { EXIT, runVerdict } from '../../loadtest/run-verdict.ts';

const clean = { impressionsLost: 0, eventsLost: 0, coreExitCode: 0, budgetsOk: true };

describe('runVerdict', () => {
  it('passes a run with nothing lost, the budgets held and the core exiting 0', () => {
    expect(runVerdict(clean)).toBe(EXIT.pass);
  });

  it('fails with 4 when the core exits non-zero, even with every count right', () => {
    for (const coreExitCode of [1, 2, 4, 137]) {
      expect(runVerdict({ ...clean, coreExitCode }), `core exit ${coreExitCode}`).toBe(4);
    }
  });

  it('fails with 4 when a signal ended the core (SIGKILL after its stop bound)', () => {
    expect(runVerdict({ ...clean, coreExitCode: null })).toBe(4);
  });

  it('fails with 4 when impressions or events are missing from their topics', () => {
    expect(runVerdict({ ...clean, impressionsLost: 1 })).toBe(4);
    expect(runVerdict({ ...clean, eventsLost: 3 })).toBe(4);
  });

  it('reports a breached budget as 3 only when no data may be lost', () => {
    expect(runVerdict({ ...clean, budgetsOk: false })).toBe(EXIT.budgetBreached);
    expect(runVerdict({ ...clean, budgetsOk: false, coreExitCode: 1 })).toBe(4);
  });
});
