/**
 * The replica's speed within a second (fleet `replicas.subsecondSpeed`, sim/fleet/load-profile.ts
 * `meanOneLognormal`) and its fit to a calibration's tail (sim/calibrate/fit-subsecond.ts).
 */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../core/random/seeded-random.ts';
import { fitSubsecondSpeed, withSubsecondSpeed } from '../../sim/calibrate/fit-subsecond.ts';
import { measuredBaseline } from '../../sim/calibrate/measured-scenario.ts';
import { parseFleet } from '../../sim/fleet/fleet-spec.ts';
import { meanOneLognormal } from '../../sim/fleet/load-profile.ts';
import { simulate } from '../../sim/run/simulate.ts';

const fleet = parseFleet({ replicas: { count: 1 }, redis: { shards: 1 } });

describe('speed within a second: a mean-1 lognormal factor per interval', () => {
  it('draws factors of mean 1 and the given coefficient of variation; 0 is always 1', () => {
    const draw = meanOneLognormal(0.2, seededRandom(3).stream('t'));
    const xs = Array.from({ length: 40_000 }, draw);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    expect(mean).toBeCloseTo(1, 2);
    expect(sd / mean).toBeCloseTo(0.2, 2);
    expect(Math.min(...xs)).toBeGreaterThan(0);
    const none = meanOneLognormal(0, seededRandom(3).stream('t'));
    expect([none(), none(), none()]).toEqual([1, 1, 1]);
  });

  const run = (rate: number, cv: number, seed = 7) => {
    const r = simulate({
      scenario: measuredBaseline('sub', rate, 30, [], 5),
      fleet: withSubsecondSpeed(fleet, cv),
      seed,
      reclabVersion: 'test',
    });
    const p = r.result.phases.find((x) => x.name === 'measured')!.latencyMs;
    return { p50: p.p50, p99: p.p99, hash: r.result.fleet?.traceHash };
  };

  it('lengthens the tail of a busy replica far more than its median, deterministically', () => {
    // The default fleet's replica saturates a little above 250 QPS: at 220 QPS (ρ ≈ 0.85) slow
    // tenths of a second build queues that the mean speed does not.
    const steady = run(220, 0);
    const varied = run(220, 0.2);
    expect(varied.p99).toBeGreaterThan(steady.p99 * 1.5);
    expect(varied.p50).toBeLessThan(steady.p50 * 1.25);
    expect(run(220, 0.2).hash).toBe(varied.hash);
    // Absent and CV 0 are the same run: no stream is drawn from.
    expect(run(220, 0).hash).toBe(
      simulate({ scenario: measuredBaseline('sub', 220, 30, [], 5), fleet, seed: 7, reclabVersion: 'test' })
        .result.fleet?.traceHash,
    );
  });

  it('refuses an interval outside 10–1000 ms or a CV outside 0–1 in a fleet file', () => {
    expect(() =>
      parseFleet({ replicas: { count: 1, subsecondSpeed: { intervalMs: 5, cv: 0.2 } } }),
    ).toThrow();
    expect(() =>
      parseFleet({ replicas: { count: 1, subsecondSpeed: { intervalMs: 100, cv: 1.5 } } }),
    ).toThrow();
    expect(
      parseFleet({ replicas: { count: 1, subsecondSpeed: { intervalMs: 100, cv: 0.2 } } }).replicas
        .subsecondSpeed,
    ).toEqual({
      intervalMs: 100,
      cv: 0.2,
    });
  });
});

describe('fitting the speed within a second to a calibration run', () => {
  const scenario = measuredBaseline('fit', 30, 20, [150, 220], 5);
  const p99Of = (cv: number, phase: string, seed: number) =>
    simulate({
      scenario,
      fleet: withSubsecondSpeed(fleet, cv),
      seed,
      reclabVersion: 'test',
    }).result.phases.find((x) => x.name === phase)!.latencyMs.p99;

  it('picks the CV whose simulated p99 matches the phases given, and reports each phase and the grid', () => {
    // "Live" tails made by a replica with CV 0.2 on another seed; the fit runs on seed 7.
    const phases = [
      { phase: 'measured_high', rateQps: 150, liveP99Ms: p99Of(0.2, 'measured_high', 11) },
      { phase: 'measured_high_2', rateQps: 220, liveP99Ms: p99Of(0.2, 'measured_high_2', 11) },
    ];
    const fit = fitSubsecondSpeed({ fleet, scenario, seed: 7, phases, grid: [0, 0.1, 0.2, 0.3] });
    expect(fit.cv).toBeGreaterThanOrEqual(0.1);
    expect(fit.cv).toBeLessThanOrEqual(0.3);
    expect(fit.grid.map((g) => g.cv)).toEqual([0, 0.1, 0.2, 0.3]);
    expect(fit.phases.map((p) => p.phase)).toEqual(['measured_high', 'measured_high_2']);
    // Tails a steady replica makes give no variation.
    const steady = phases.map((p) => ({ ...p, liveP99Ms: p99Of(0, p.phase, 7) }));
    expect(fitSubsecondSpeed({ fleet, scenario, seed: 7, phases: steady, grid: [0, 0.1, 0.2] }).cv).toBe(0);
  });

  it('matches the median p99 over its seeds, each as in a run of the whole scenario', () => {
    const phase = 'measured_high';
    const fit = fitSubsecondSpeed({
      fleet,
      scenario,
      seed: 7,
      phases: [{ phase, rateQps: 150, liveP99Ms: 10 }],
      grid: [0.2],
      seeds: 3,
    });
    // Whole-scenario runs on seeds 7, 8 and 9: the fit stops after the matched phase (a simulation
    // is causal), and its p99 is their median.
    const whole = [7, 8, 9].map((seed) => p99Of(0.2, phase, seed)).sort((a, b) => a - b);
    expect(new Set(whole).size).toBeGreaterThan(1); // the seeds differ, so the median is a choice
    expect(fit.phases[0].simP99Ms).toBe(Math.round(whole[1] * 100) / 100);
  });

  it('refuses nothing to match, or a phase the scenario does not have', () => {
    expect(() => fitSubsecondSpeed({ fleet, scenario, seed: 7, phases: [] })).toThrow(/no phase/);
    expect(() =>
      fitSubsecondSpeed({ fleet, scenario, seed: 7, phases: [{ phase: 'nope', rateQps: 1, liveP99Ms: 1 }] }),
    ).toThrow(/not in scenario/);
  });
});
