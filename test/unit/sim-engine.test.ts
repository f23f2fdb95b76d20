import { describe, expect, it } from 'vitest';
import { withoutWallClock } from '../../sim/engine/no-wall-clock.ts';
import { EventScheduler } from '../../sim/engine/scheduler.ts';
import { TraceHash } from '../../sim/engine/trace-hash.ts';
import { VirtualClock } from '../../sim/engine/virtual-clock.ts';

describe('EventScheduler', () => {
  it('fires events in time order, ties in the order they were scheduled', () => {
    const s = new EventScheduler();
    const seen: string[] = [];
    s.at(20, () => seen.push('b20'));
    s.at(10, () => seen.push('a10'));
    s.at(20, () => seen.push('c20'));
    s.at(10, () => {
      seen.push('d10');
      s.at(10, () => seen.push('e10-nested'));
    });
    s.runUntil(100);
    expect(seen).toEqual(['a10', 'd10', 'e10-nested', 'b20', 'c20']);
    expect(s.nowUs).toBe(100);
  });

  it('skips cancelled events and stops at the slice end', () => {
    const s = new EventScheduler();
    const seen: number[] = [];
    const cancel = s.at(5, () => seen.push(5));
    s.at(7, () => seen.push(7));
    s.at(50, () => seen.push(50));
    cancel();
    s.runUntil(10);
    expect(seen).toEqual([7]);
    expect(s.fired).toBe(1);
    s.runUntil(60);
    expect(seen).toEqual([7, 50]);
  });
});

describe('VirtualClock', () => {
  it('implements Clock on virtual time: now() in ms from the fixed epoch, timers fire on time', () => {
    const s = new EventScheduler();
    const clock = new VirtualClock(s, 1_000_000);
    const fired: number[] = [];
    clock.setTimer(2.5, () => fired.push(clock.now()));
    const cancel = clock.setTimer(2.5, () => fired.push(-1));
    clock.setTimer(1, () => fired.push(clock.now()));
    cancel();
    s.runUntil(10_000);
    expect(fired).toEqual([1_000_001, 1_000_002.5]);
  });

  it('timers of one delay keep their order across many cancellations', () => {
    const s = new EventScheduler();
    const clock = new VirtualClock(s, 0);
    const fired: number[] = [];
    for (let i = 0; i < 5000; i++) {
      s.at(i, () => {
        const cancel = clock.setTimer(30, () => fired.push(i));
        if (i % 3 !== 0) s.after(10_000, cancel); // cancelled 10 ms later, before the 30 ms deadline
      });
    }
    s.runUntil(10_000_000);
    expect(fired).toEqual(Array.from({ length: 5000 }, (_, i) => i).filter((i) => i % 3 === 0));
  });
});

describe('no wall clock in a simulated slice', () => {
  it('Date.now, performance.now and Math.random throw inside and work again after', () => {
    const reads: (() => unknown)[] = [
      () => Date.now(),
      () => performance.now(),
      () => Math.random(),
      () => crypto.randomUUID(),
    ];
    for (const read of reads) {
      expect(() => withoutWallClock(read)).toThrow(/RECLAB_ERR_SIM_NONDETERMINISM/);
    }
    expect(typeof Date.now()).toBe('number');
    expect(Math.random()).toBeLessThan(1);
  });
});

describe('TraceHash', () => {
  it('is a function of the sequence: order and values matter', () => {
    const h = (xs: number[]) => {
      const t = new TraceHash();
      for (const x of xs) t.add(x);
      return t.hex();
    };
    expect(h([1, 2, 3])).toBe(h([1, 2, 3]));
    expect(h([1, 2, 3])).not.toBe(h([1, 3, 2]));
    expect(h([2 ** 40 + 1])).not.toBe(h([1]));
    expect(h([])).toMatch(/^[0-9a-f]{16}$/);
  });
});
