import { describe, expect, it } from 'vitest';
import { gcRates, parseGcCounters } from '../../sim/calibrate/core-gc.ts';
import {
  fitCpuLine,
  fitFleet,
  fullEquivalentShare,
  loadProfileOf,
  rungCostsOf,
  usablePoints,
} from '../../sim/calibrate/fit.ts';
import { LoopSpeedSampler, speedVariationOf } from '../../sim/calibrate/loop-speed.ts';
import { QUANTILE_POINTS, StageSamples } from '../../sim/calibrate/stage-samples.ts';
import { meanOf } from '../../sim/fleet/distributions.ts';
import { SimError } from '../../sim/sim-error.ts';

/** A response's timings (ms) with stage medians around the given values and a little spread. */
function samples(n: number, ms: Record<string, number>): StageSamples {
  const s = new StageSamples();
  for (let i = 0; i < n; i++) {
    const f = 0.8 + (0.4 * i) / n; // 0.8× … 1.2×
    const t: Record<string, number> = {};
    let total = 0;
    for (const [k, v] of Object.entries(ms)) {
      t[k] = v * f;
      total += v * f;
    }
    s.record({ ...t, total });
  }
  return s;
}

const stages = { user: 0.4, retrieval: 1.0, merge: 0.1, enrichment: 0.6, ranking: 1.2, reranking: 0.7 };

describe('reclab calibrate: stage samples and the fit', () => {
  it('keeps stage timings in histograms and gives non-decreasing quantiles', () => {
    const s = samples(1000, stages);
    expect(s.responses).toBe(1000);
    expect(s.count('ranking')).toBe(1000);
    const q = s.quantilesUs('ranking');
    expect(q).toHaveLength(QUANTILE_POINTS);
    expect(q.every((x, i) => i === 0 || x >= q[i - 1])).toBe(true);
    expect(s.percentileUs('ranking', 50)).toBeGreaterThan(1150);
    expect(s.percentileUs('ranking', 50)).toBeLessThan(1250);
    s.record(undefined);
    s.record({ user: 1 }); // no total: not a timed response
    expect(s.responses).toBe(1000);
  });

  it('keeps the top 1% of an empirical stage at its measured mean: one outlier does not stretch it', () => {
    // 500 responses (a 30 s phase at ~17 QPS) and one 50 ms outlier among ~1.2 ms rankings: with
    // so few samples p99.9 is the largest, where the top point used to sit.
    const s = samples(500, stages);
    s.record({ ranking: 50, total: 50 });
    const q = s.quantilesUs('ranking');
    const p99 = q[QUANTILE_POINTS - 2];
    const top = q[QUANTILE_POINTS - 1];
    expect(s.percentileUs('ranking', 99.9)).toBeGreaterThan(40_000);
    // The last segment's mean, (p99 + top) / 2, is the measured mean above p99.
    expect((p99 + top) / 2).toBeCloseTo(s.tailMeanUs('ranking'), -2);
    // Before, the last segment ran up to the outlier (mean ≈ 25.7 ms); now its mean is the top 1%'s.
    expect(top).toBeLessThan(25_000);
    expect(top).toBeGreaterThanOrEqual(p99);
  });

  it('maps CPU-only stages as measured and puts the rest of the CPU per request in requestUs', () => {
    const s = samples(2000, stages);
    const { fleet, notes } = fitFleet({ stages: s, cpuPerRequestUs: 6000 }, 'test');
    const cpu = fleet.replicas.cpu;
    expect(fleet.replicas.count).toBe(1);
    expect(meanOf(cpu.mainRankerUs)).toBeGreaterThan(1100);
    expect(meanOf(cpu.mainRankerUs)).toBeLessThan(1300);
    expect(meanOf(cpu.rerankUs)).toBeCloseTo(s.meanUs('reranking'), -2);
    // The Redis round trip is the user stage less the reply's CPU; enrichment loses one round trip.
    expect(meanOf(fleet.redis.rttUs)).toBeLessThan(s.meanUs('user'));
    expect(meanOf(cpu.enrichmentUs)).toBeLessThan(s.meanUs('enrichment'));
    // requestUs is the residual of a generous CPU budget: positive and below it.
    expect(meanOf(cpu.requestUs)).toBeGreaterThan(100);
    expect(meanOf(cpu.requestUs)).toBeLessThan(6000);
    expect(notes.join('\n')).toMatch(/requestUs = measured CPU per request 6000/);
  });

  it('floors requestUs and says so when the stages already exceed the measured CPU', () => {
    const { fleet, notes } = fitFleet({ stages: samples(500, stages), cpuPerRequestUs: 1000 }, 'test');
    expect(meanOf(fleet.replicas.cpu.requestUs)).toBe(100);
    expect(notes.join('\n')).toMatch(/scaled by 0\.\d+, requestUs 100 µs/);
    // The in-process stages are scaled so the replica's CPU per request is the measured one.
    const c = fleet.replicas.cpu;
    const inProcess = [c.mergeUs, c.mainRankerUs, c.rerankUs].reduce((a, d) => a + meanOf(d), 0);
    const unscaled = fitFleet({ stages: samples(500, stages), cpuPerRequestUs: 1e6 }, 'test').fleet.replicas
      .cpu;
    const before = [unscaled.mergeUs, unscaled.mainRankerUs, unscaled.rerankUs].reduce(
      (a, d) => a + meanOf(d),
      0,
    );
    expect(inProcess).toBeLessThan(before);
  });
});

describe('reclab calibrate: the event loop CPU at two rates', () => {
  it('fits CPU per request and background CPU per second through two measured rates', () => {
    // 4.8 ms a request at 50 QPS and 3.3 ms at 200 QPS: 2.8 ms a request plus 100 ms/s.
    const line = fitCpuLine([
      { rateQps: 50, cpuUsPerS: 240_000 },
      { rateQps: 200, cpuUsPerS: 660_000 },
    ]);
    expect(line.perRequestUs).toBeCloseTo(2800, 6);
    expect(line.backgroundUsPerS).toBeCloseTo(100_000, 6);
  });

  it('fits the least-squares line through more rates (exact on a line, between the points off it)', () => {
    // 4 ms a request + 80 ms/s at 30, 90 and 150 QPS, the middle point `aboveUsPerS` off the line.
    const threeRates = (aboveUsPerS: number) =>
      fitCpuLine(
        [30, 90, 150].map((rateQps) => ({
          rateQps,
          cpuUsPerS: rateQps * 4000 + 80_000 + (rateQps === 90 ? aboveUsPerS : 0),
        })),
      );
    const on = threeRates(0);
    expect(on.perRequestUs).toBeCloseTo(4000, 6);
    expect(on.backgroundUsPerS).toBeCloseTo(80_000, 3);
    // The middle point 60 ms/s above the line: the slope stays, the intercept rises by a third of it.
    const off = threeRates(60_000);
    expect(off.perRequestUs).toBeCloseTo(4000, 6);
    expect(off.backgroundUsPerS).toBeCloseTo(100_000, 3);
  });

  it("turns each rate's CPU per request and run-queue delay into the replica's load profile, relative to the stage-timing phase", () => {
    const ref = { rateQps: 30, cpuUsPerS: 210_000, runDelayUsPerS: 63_000 };
    const table = loadProfileOf(
      [
        { rateQps: 150, cpuUsPerS: 787_500, runDelayUsPerS: 78_750 },
        ref,
        { rateQps: 90, cpuUsPerS: 567_000 },
      ],
      ref,
    );
    expect(table).toEqual([
      { rateQps: 30, cpuFactor: 1, waitPerCpu: 0.3 },
      // 6.3 ms a request against 7 ms; no schedstat reading: no wait.
      { rateQps: 90, cpuFactor: 0.9, waitPerCpu: 0 },
      { rateQps: 150, cpuFactor: 0.75, waitPerCpu: 0.1 },
    ]);
  });

  it('reads a browned-out phase per full request: its cheaper rungs are not a faster replica', () => {
    const costs = { light: 0.8, noRanker: 0.75, cache: 0.1, refused: 0.05 };
    const ref = { rateQps: 30, cpuUsPerS: 120_000, rungs: { full: 900 }, requests: 900 };
    // 500 QPS at 3.2 ms a request, half of the lists on the light ranker: 0.9 of a full one each,
    // so 3.2 ÷ 0.9 = 3.556 ms per full request, against 4 ms at 30 QPS.
    const past = {
      rateQps: 500,
      cpuUsPerS: 1_600_000,
      rungs: { full: 7500, light_ranker: 7500 },
      requests: 15_000,
    };
    expect(fullEquivalentShare(past, costs)).toBeCloseTo(0.9, 9);
    expect(loadProfileOf([ref, past], ref, costs)[1].cpuFactor).toBe(0.889);
    expect(loadProfileOf([ref, past], ref)[1].cpuFactor).toBe(0.8); // the mix read as speed
    // Refused requests (no rung) count at a 503's cost; a phase without a mix counts as full.
    expect(fullEquivalentShare({ rungs: { full: 50 }, requests: 100 }, costs)).toBeCloseTo(0.525, 9);
    expect(fullEquivalentShare({}, costs)).toBe(1);
  });

  it("prices each rung from the fitted fleet's CPU: the light ranker's list costs less than a full one", () => {
    const { fleet } = fitFleet({ stages: samples(500, stages), cpuPerRequestUs: 3000 }, 't');
    const c = rungCostsOf(fleet);
    expect(c.light).toBeLessThan(1);
    expect(c.noRanker).toBeLessThan(c.light);
    expect(c.cache).toBeLessThan(c.noRanker);
    expect(c.refused).toBeLessThan(c.cache);
  });

  it("measures the core's speed per interval from schedstat, per response", () => {
    let cpuMs = 0;
    let delayMs = 0;
    const sampler = new LoopSpeedSampler(() => ({ cpuMs, delayMs }), 60_000);
    sampler.start();
    for (let i = 0; i < 100; i++) sampler.served();
    cpuMs = 300;
    delayMs = 30;
    sampler.tick();
    for (let i = 0; i < 50; i++) sampler.served();
    cpuMs = 500;
    expect(sampler.stop()).toEqual([{ requests: 100, cpuMs: 300, waitMs: 30 }]); // the partial one dropped
  });

  it("turns the intervals into speed factors around each phase's own mean, only where a second holds enough responses", () => {
    // Phase A: 200 responses a second, alternately 2.7 and 3.3 ms each (CPU + wait); phase B: 20 a second.
    const a = Array.from({ length: 20 }, (_, i) => ({ requests: 200, cpuMs: i % 2 ? 660 : 540, waitMs: 0 }));
    const b = Array.from({ length: 20 }, (_, i) => ({ requests: 20, cpuMs: i % 2 ? 200 : 20, waitMs: 0 }));
    const fit = speedVariationOf([a, b], 1000)!;
    expect(fit.phases).toBe(1);
    expect(fit.intervals).toBe(20);
    expect(fit.cv).toBeCloseTo(0.1, 9);
    expect(fit.lag1).toBeLessThan(-0.9); // alternating seconds
    const q = fit.quantiles;
    expect(q[0]).toBeCloseTo(0.9, 2);
    expect(q[q.length - 1]).toBeCloseTo(1.1, 2);
    let mean = 0;
    for (let k = 1; k < q.length; k++) mean += (q[k] + q[k - 1]) / 2;
    expect(mean / (q.length - 1)).toBeCloseTo(1, 3);
    expect(speedVariationOf([b], 1000)).toBeUndefined();
  });

  it('leaves out a phase the hypervisor took more than 5% of the machine from, and says why', () => {
    const { kept, dropped } = usablePoints([
      { rateQps: 30, cpuUsPerS: 200_000, stealShare: 0.01 },
      { rateQps: 150, cpuUsPerS: 700_000, stealShare: 0.193 },
      { rateQps: 90, cpuUsPerS: 500_000 },
    ]);
    expect(kept.map((p) => p.rateQps)).toEqual([30, 90]);
    expect(dropped).toEqual([expect.stringMatching(/^150 QPS left out: .*19\.3%/)]);
  });

  it('leaves out a phase other processes took more than 5% of the machine in, and says why', () => {
    const { kept, dropped } = usablePoints([
      { rateQps: 30, cpuUsPerS: 200_000, foreignShare: 0.02 },
      { rateQps: 120, cpuUsPerS: 600_000, foreignShare: 0.131 },
    ]);
    expect(kept.map((p) => p.rateQps)).toEqual([30]);
    expect(dropped).toEqual([expect.stringMatching(/^120 QPS left out: processes outside the run .*13\.1%/)]);
  });

  it('charges all the CPU per request when the intercept would be negative', () => {
    const line = fitCpuLine([
      { rateQps: 50, cpuUsPerS: 100_000 },
      { rateQps: 200, cpuUsPerS: 600_000 },
    ]);
    expect(line).toEqual({ perRequestUs: 3000, backgroundUsPerS: 0 });
  });

  it('refuses rates that are not two distinct positive ones, the second higher', () => {
    const same = () =>
      fitCpuLine([
        { rateQps: 100, cpuUsPerS: 1 },
        { rateQps: 100, cpuUsPerS: 2 },
      ]);
    expect(same).toThrow(SimError);
    expect(same).toThrow(/two or more distinct/);
    try {
      same();
    } catch (e) {
      expect((e as SimError).code).toBe('RECLAB_ERR_SIM_FLEET_INVALID');
    }
  });

  it('the fitted background CPU lands on the replica and in the fleet file', () => {
    const { fleet } = fitFleet(
      { stages: samples(500, stages), cpuPerRequestUs: 3000, backgroundUsPerS: 80_000 },
      't',
    );
    expect(fleet.replicas.backgroundUsPerS).toBe(80_000);
  });
});

describe('reclab calibrate: GC pauses', () => {
  const page = (minor: [number, number], major: [number, number], prefix = 'reclab_') =>
    [
      `# HELP ${prefix}nodejs_gc_duration_seconds Garbage collection duration by kind`,
      `${prefix}nodejs_gc_duration_seconds_bucket{le="0.001",kind="minor"} 3`,
      `${prefix}nodejs_gc_duration_seconds_sum{kind="minor"} ${minor[1]}`,
      `${prefix}nodejs_gc_duration_seconds_count{kind="minor"} ${minor[0]}`,
      `${prefix}nodejs_gc_duration_seconds_sum{kind="major"} ${major[1]}`,
      `${prefix}nodejs_gc_duration_seconds_count{kind="major"} ${major[0]}`,
      'reclab_process_cpu_seconds_total 12.5',
    ].join('\n');

  it('reads the GC histogram with or without the reclab_ prefix, per kind', () => {
    expect(parseGcCounters(page([10, 0.02], [1, 0.005]))).toEqual({
      minor: { count: 10, sumS: 0.02 },
      major: { count: 1, sumS: 0.005 },
    });
    expect(parseGcCounters(page([4, 0.01], [0, 0], ''))).toEqual({
      minor: { count: 4, sumS: 0.01 },
      major: { count: 0, sumS: 0 },
    });
  });

  it('gives pauses per request and their mean over a phase; kinds with none are left out', () => {
    const before = parseGcCounters(page([10, 0.02], [1, 0.005]));
    const after = parseGcCounters(page([60, 0.12], [1, 0.005]));
    const rates = gcRates(before, after, 1000);
    expect(rates).toHaveLength(1);
    expect(rates[0].kind).toBe('minor');
    expect(rates[0].perRequest).toBeCloseTo(0.05, 9);
    expect(rates[0].meanPauseUs).toBeCloseTo(2000, 6);
  });

  it('takes the GC CPU out of the stages and puts the pauses on the replica', () => {
    const gc = [{ kind: 'minor', perRequest: 0.05, meanPauseUs: 2000 }];
    const withGc = fitFleet({ stages: samples(500, stages), cpuPerRequestUs: 1000, gc }, 't');
    const without = fitFleet({ stages: samples(500, stages), cpuPerRequestUs: 1000 }, 't');
    expect(withGc.fleet.replicas.gcPauses).toEqual([
      { kind: 'minor', perRequest: 0.05, pauseUs: { kind: 'exponential', meanUs: 2000 } },
    ]);
    // 100 µs a request moves from the stages to the pauses.
    expect(meanOf(without.fleet.replicas.cpu.rerankUs)).toBeGreaterThan(
      meanOf(withGc.fleet.replicas.cpu.rerankUs),
    );
    expect(withGc.notes.join('\n')).toMatch(/GC pauses 100 µs a request/);
  });
});
