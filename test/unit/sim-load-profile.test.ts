/**
 * A simulated replica's speed by load (sim/fleet/load-profile.ts): the arrival-rate window, the
 * interpolated profile, and its effect on a run (a replica that waits, or costs more CPU a request,
 * answers later).
 */
import { describe, expect, it } from 'vitest';
import { measuredBaseline } from '../../sim/calibrate/measured-scenario.ts';
import { FifoServer } from '../../sim/fleet/fifo-server.ts';
import { parseFleet } from '../../sim/fleet/fleet-spec.ts';
import { ArrivalRate, loadAt, loadStretch, speedVariation } from '../../sim/fleet/load-profile.ts';
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

describe('load profile: CPU factor and wait by rate', () => {
  const table = [
    { rateQps: 30, cpuFactor: 1, waitPerCpu: 0.3 },
    { rateQps: 90, cpuFactor: 0.9, waitPerCpu: 0.15 },
    { rateQps: 150, cpuFactor: 0.75, waitPerCpu: 0.1 },
  ];

  it('interpolates between calibrated rates and holds the ends', () => {
    expect(loadAt(table, 10)).toEqual({ cpuFactor: 1, waitPerCpu: 0.3 });
    const at60 = loadAt(table, 60);
    expect(at60.cpuFactor).toBeCloseTo(0.95, 9);
    expect(at60.waitPerCpu).toBeCloseTo(0.225, 9);
    expect(loadAt(table, 120).waitPerCpu).toBeCloseTo(0.125, 9);
    expect(loadAt(table, 400)).toEqual({ cpuFactor: 0.75, waitPerCpu: 0.1 });
    expect(loadAt([], 60)).toEqual({ cpuFactor: 1, waitPerCpu: 0 });
  });

  it("stretches each job by CPU factor × (1 + wait) at the replica's rate, and counts it as busy", () => {
    const rate = new ArrivalRate();
    const server = new FifoServer(loadStretch(table, rate));
    expect(server.submit(0, 1000)).toBeCloseTo(1300, 9); // no arrivals yet: the lowest rate's
    expect(server.busyUs).toBeCloseTo(1300, 9);
    for (let i = 0; i < 150; i++) rate.add(1_000_000 + i * 6_000); // 150 in [1 s, 1.9 s)
    const start = 1_950_000; // the window is [1 s, 2 s): 150/s
    expect(server.submit(start, 1000) - start).toBeCloseTo(1000 * 0.75 * 1.1, 6);
    expect(new FifoServer().submit(0, 1000)).toBe(1000);
    // A GC pause is the time the loop stood still, measured as such: the profile does not scale it,
    // but it still queues behind (and holds up) the work ahead.
    const end = server.submit(start + 10_000, 1000);
    expect(server.submitFixed(start + 10_000, 4000)).toBeCloseTo(end + 4000, 6);
  });

  it('refuses a profile out of order in a fleet file', () => {
    expect(() =>
      parseFleet({
        replicas: {
          count: 1,
          loadProfile: [
            { rateQps: 90, waitPerCpu: 0.1 },
            { rateQps: 30, waitPerCpu: 0.3 },
          ],
        },
      }),
    ).toThrow(/sorted by rateQps/);
  });

  it('makes a simulated replica answer later where it waits or costs more, and the same where the profile is neutral', () => {
    const run = (loadProfile: { rateQps: number; cpuFactor?: number; waitPerCpu?: number }[]) => {
      const fleet = parseFleet({ replicas: { count: 1, loadProfile }, redis: { shards: 1 } });
      const scenario = measuredBaseline('rq', 40, 20, [], 5);
      const p = simulate({ scenario, fleet, seed: 7, reclabVersion: 'test' }).result.phases.find(
        (x) => x.name === 'measured',
      )!;
      return p.latencyMs.p50;
    };
    const none = run([]);
    expect(run([{ rateQps: 40 }])).toBe(none);
    const waits = run([{ rateQps: 40, waitPerCpu: 0.3 }]);
    // The CPU part of a request's time grows by 30%; its Redis round trips do not.
    expect(waits).toBeGreaterThan(none * 1.1);
    expect(waits).toBeLessThan(none * 1.35);
    expect(run([{ rateQps: 40, cpuFactor: 1.3 }])).toBeCloseTo(waits, 0);
    expect(run([{ rateQps: 40, cpuFactor: 0.8 }])).toBeLessThan(none);
  });
});

describe('speed variation: a factor per interval of virtual time', () => {
  it('draws one factor per interval, in interval order, skipped intervals included', () => {
    let draws = 0;
    const at = speedVariation(1_000_000, () => ++draws);
    expect(at(0)).toBe(1);
    expect(at(999_999)).toBe(1); // the same interval: no new draw
    expect(at(1_000_000)).toBe(2);
    // Intervals 2 and 3 had no job: their factors were still drawn, so interval 4 gets the 5th.
    expect(at(4_200_000)).toBe(5);
    expect(draws).toBe(5);
  });

  const p99At = (rate: number, quantiles?: number[]) => {
    const fleet = parseFleet({
      replicas: { count: 1, ...(quantiles ? { speedVariation: { intervalMs: 1000, quantiles } } : {}) },
      redis: { shards: 1 },
    });
    const scenario = measuredBaseline('sv', rate, 30, [], 5);
    const run = simulate({ scenario, fleet, seed: 7, reclabVersion: 'test' });
    return {
      p99: run.result.phases.find((x) => x.name === 'measured')!.latencyMs.p99,
      hash: run.result.fleet?.traceHash,
    };
  };

  it('leaves a steady replica alone, and lengthens the tail near saturation where seconds are slower or faster', () => {
    // Factors 0.8–1.2 (mean 1): at a low rate the tail barely moves; near the replica's capacity
    // (the default fleet's replica saturates a little above 250 QPS) the slow seconds build a
    // queue that the mean speed does not (measured: p99 7.3 ms steady, 26.4 ms varied, seed 7).
    const spread = [0.8, 1, 1.2];
    const low = p99At(50);
    const lowVar = p99At(50, spread);
    expect(lowVar.p99).toBeLessThan(low.p99 * 1.35);
    const high = p99At(250);
    const highVar = p99At(250, spread);
    expect(highVar.p99).toBeGreaterThan(high.p99 * 2);
    expect(p99At(250, spread).hash).toBe(highVar.hash); // deterministic from the seed
    expect(p99At(250, [1, 1]).p99).toBe(high.p99); // a constant factor of 1 changes nothing
  });

  it('refuses quantiles out of order', () => {
    expect(() =>
      parseFleet({ replicas: { count: 1, speedVariation: { intervalMs: 1000, quantiles: [1.1, 0.9] } } }),
    ).toThrow(/non-decreasing/);
  });
});
