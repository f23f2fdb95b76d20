import { describe, expect, it } from 'vitest';
import type { LiveProgress } from '../../loadtest/drivers/autocannon/open-model.ts';
import { liveProgressRenderer, progressLine, rungMixLine } from '../../loadtest/live-progress.ts';

const tick = (phase: string, elapsedS: number): LiveProgress => ({
  phase,
  elapsedS,
  totalS: 30,
  offeredQps: 100,
  achievedQps: 98.5,
  p99Ms: 12.345,
  rungCounts: { full: 97, popularity: 3 },
  shed: 0,
  errors: 1,
});

describe('live progress of reclab run', () => {
  it('says phase, elapsed, offered and achieved rate, live p99, rung mix, shed and errors', () => {
    expect(progressLine(tick('steady', 12.7))).toBe(
      'phase steady  12/30 s  offered 100/s achieved 98.5/s  p99 12.3 ms  full 97% popularity 3%  shed 0 errors 1',
    );
    expect(rungMixLine({})).toBe('rungs -');
    expect(rungMixLine({ popularity: 0, full: 3 })).toBe('full 100%');
  });

  it('off a terminal (CI, a log file): one line every 10 s of a phase', () => {
    const lines: string[] = [];
    const r = liveProgressRenderer({
      stream: { write: () => true, isTTY: false },
      env: {},
      out: (l) => lines.push(l),
    });
    for (let s = 1; s <= 30; s++) r.update(tick('steady', s));
    for (let s = 1; s <= 12; s++) r.update(tick('outage', s));
    expect(lines.map((l) => l.slice(0, l.indexOf(' s '))).join(', ')).toBe(
      'phase steady  10/30, phase steady  20/30, phase steady  30/30, phase outage  10/30',
    );
  });

  it('on a terminal (not CI): a bar redrawn on every update, log lines above it', () => {
    let screen = '';
    const stream = {
      write: (c: string) => {
        screen += c;
        return true;
      },
      isTTY: true,
    };
    const r = liveProgressRenderer({ stream, env: {}, out: () => {} });
    r.update(tick('steady', 1));
    r.log('fault: redis down (phase steady +0 s)');
    r.update(tick('steady', 2));
    r.stop();
    expect(screen).toContain('fault: redis down');
    expect(screen).toMatch(/steady \[.*\] 2\/30 s \| offered 100\/s achieved 98\.5\/s {2}p99 12\.3 ms/);
    // In CI the same terminal gets plain lines.
    const ci: string[] = [];
    liveProgressRenderer({ stream, env: { CI: 'true' }, out: (l) => ci.push(l) }).update(tick('x', 10));
    expect(ci).toHaveLength(1);
  });
});
