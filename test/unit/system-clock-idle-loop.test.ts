import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CLOCK = fileURLToPath(new URL('../../core/adapters/clock/system-clock.ts', import.meta.url));

describe('systemClock.setTimer', () => {
  it('fires in a process whose event loop nothing else wakes (deadlines and the batch delay must not wait for I/O)', () => {
    // A child process whose only other handle is a 2 s interval: a timer that needed another wake-up
    // would take ~2 s; each 2 ms timer must fire long before that.
    const script = `
      const { systemClock } = await import(${JSON.stringify(CLOCK)});
      const keep = setInterval(() => {}, 2000);
      let worst = 0;
      for (let i = 0; i < 10; i++) {
        const t0 = performance.now();
        await new Promise((r) => systemClock.setTimer(2, r));
        worst = Math.max(worst, performance.now() - t0);
      }
      let fired = false;
      systemClock.setTimer(1, () => { fired = true; })();
      await new Promise((r) => setTimeout(r, 20));
      clearInterval(keep);
      console.log(JSON.stringify({ worst, fired }));
    `;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    const { worst, fired } = JSON.parse(out.trim().split('\n').at(-1)!);
    expect(worst).toBeGreaterThanOrEqual(1.9);
    expect(worst).toBeLessThan(1000);
    expect(fired).toBe(false);
  });
});
