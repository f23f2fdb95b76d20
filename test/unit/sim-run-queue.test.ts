/**
 * The simulated replica's wait for a shared CPU (sim/fleet/run-queue.ts): the arrival-rate window,
 * the interpolated table, and its effect on a run (a replica that waits answers later, and the
 * wait shrinks where the calibration measured less of it).
 */
import { describe, expect, it } from 'vitest';
import { measuredBaseline } from '../../sim/calibrate/measured-scenario.ts';
import { FifoServer } from '../../sim/fleet/fifo-server.ts';
import { parseFleet } from '../../sim/fleet/fleet-spec.ts';
import { ArrivalRate, runQueueStretch, waitPerCpuAt } from '../../sim/fleet/run-queue.ts';
import { simulate } from '../../sim/run/simulate.ts';

describe('run queue: the arrival rate over the last second', () => {
  it('counts arrivals of the last second only, in virtual time', () => {
    const r = new ArrivalRate();
    for (let i = 0; i < 100; i++) r.add(2_000_000 + i * 10_000); // 100/s during [2 s, 3 s)
    expect(r.perSecond(2_999_999)).toBeCloseTo(100, 6);
    // Half a second later about half of those have left the window: it is the current 100 ms
    // bucket and the 9 before it, so [2.6 s, 3.5 s] here, 40 arrivals.
    expect(r.perSecond(3_500_000)).toBe(40);
    expect(r.perSecond(10_000_000)).toBe(0);
  });

  it('reads a rate at the very start from the time elapsed, not a whole second', () => {
    const r = new ArrivalRate();
    for (let i = 0; i < 20; i++) r.add(i * 10_000); // 100/s over the first 0.2 s
    expect(r.perSecond(199_999)).toBeCloseTo(100, 3);
  });
});

describe('run queue: the wait per µs of CPU', () => {
  const table = [
    { rateQps: 30, waitPerCpu: 0.3 },
    { rateQps: 90, waitPerCpu: 0.15 },
    { rateQps: 150, waitPerCpu: 0.1 },
  ];

  it('interpolates between calibrated rates and holds the ends', () => {
    expect(waitPerCpuAt(table, 10)).toBe(0.3);
    expect(waitPerCpuAt(table, 60)).toBeCloseTo(0.225, 9);
    expect(waitPerCpuAt(table, 120)).toBeCloseTo(0.125, 9);
    expect(waitPerCpuAt(table, 400)).toBe(0.1);
    expect(waitPerCpuAt([], 60)).toBe(0);
  });

  it('stretches each job of a replica that waits, and counts the wait as busy', () => {
    const rate = new ArrivalRate();
    const server = new FifoServer(runQueueStretch(table, rate));
    expect(server.submit(0, 1000)).toBeCloseTo(1300, 9); // no arrivals yet: the lowest rate's wait
    expect(server.busyUs).toBeCloseTo(1300, 9);
    const plain = new FifoServer();
    expect(plain.submit(0, 1000)).toBe(1000);
  });

  it('refuses a table out of order in a fleet file', () => {
    expect(() =>
      parseFleet({
        replicas: {
          count: 1,
          runQueue: [
            { rateQps: 90, waitPerCpu: 0.1 },
            { rateQps: 30, waitPerCpu: 0.3 },
          ],
        },
      }),
    ).toThrow(/sorted by rateQps/);
  });

  it('makes a simulated replica answer later at a low rate, and the same as without it where the wait is 0', () => {
    const run = (runQueue: { rateQps: number; waitPerCpu: number }[]) => {
      const fleet = parseFleet({ replicas: { count: 1, runQueue }, redis: { shards: 1 } });
      const scenario = measuredBaseline('rq', 40, 20, [], 5);
      const p = simulate({ scenario, fleet, seed: 7, reclabVersion: 'test' }).result.phases.find(
        (x) => x.name === 'measured',
      )!;
      return p.latencyMs.p50;
    };
    const none = run([]);
    const zero = run([{ rateQps: 40, waitPerCpu: 0 }]);
    const waits = run([{ rateQps: 40, waitPerCpu: 0.3 }]);
    expect(zero).toBe(none);
    // The CPU part of a request's time grows by 30%; its Redis round trips do not.
    expect(waits).toBeGreaterThan(none * 1.1);
    expect(waits).toBeLessThan(none * 1.35);
  });
});
