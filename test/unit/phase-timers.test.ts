import { describe, expect, it } from 'vitest';
import { PhaseTimers } from '../../loadtest/phase-timers.ts';

describe('PhaseTimers', () => {
  it('flush() fires the pending timers at once, in the order set, and never twice', async () => {
    const t = new PhaseTimers();
    const fired: string[] = [];
    t.at(0, () => fired.push('early'));
    t.at(60_000, () => fired.push('apply'));
    t.at(60_000, () => fired.push('revert'));
    await new Promise((r) => setTimeout(r, 20));
    expect(fired).toEqual(['early']);
    // The phase ended before the 60 s timers: a window ending with its phase is closed now.
    t.flush();
    expect(fired).toEqual(['early', 'apply', 'revert']);
    t.flush();
    expect(fired).toEqual(['early', 'apply', 'revert']);
  });
});
