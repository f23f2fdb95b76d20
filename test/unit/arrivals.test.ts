import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../core/random/seeded-random.ts';
import {
  type ArrivalProcess,
  arrivalSchedule,
  describeArrivals,
  meanRateQps,
  peakRateQps,
  rateAt,
  scaleArrivals,
} from '../../scenarios/arrivals.ts';

/** Every intended offset of a schedule, s. */
function offsets(p: ArrivalProcess, durationS: number, seed = 1): number[] {
  const s = arrivalSchedule(p, durationS, seededRandom(seed).stream('arrivals.test'));
  const out: number[] = [];
  for (let t = s.next(); t !== undefined; t = s.next()) out.push(t);
  return out;
}

/** Arrivals per 1 s bucket. */
function perSecond(ts: number[], durationS: number): number[] {
  const n = new Array(Math.ceil(durationS)).fill(0);
  for (const t of ts) n[Math.floor(t)]++;
  return n;
}

describe('arrival schedules (scenarios/arrivals.ts)', () => {
  it('constant: t_k = k / rate, the live driver’s old slots exactly', () => {
    const ts = offsets({ kind: 'constant', rateQps: 200 }, 3);
    expect(ts.length).toBe(600);
    ts.forEach((t, k) => {
      expect(t).toBeCloseTo(k / 200, 12);
    });
    // A non-integer rate × duration: ceil(rate × D) slots, all inside the phase.
    const odd = offsets({ kind: 'constant', rateQps: 33.3 }, 1.5);
    expect(odd.length).toBe(Math.ceil(33.3 * 1.5));
    expect(Math.max(...odd)).toBeLessThan(1.5);
  });

  it('ramp: the rate climbs linearly from → to; the count is the mean rate × duration', () => {
    const ramp: ArrivalProcess = { kind: 'ramp', fromQps: 50, toQps: 250 };
    const ts = offsets(ramp, 10);
    expect(ts.length).toBe(1500); // (50 + 250) / 2 × 10
    const n = perSecond(ts, 10);
    // Second k holds ∫ rate = 50 + 20 (k + 0.5) requests.
    n.forEach((c, k) => {
      expect(Math.abs(c - (60 + 20 * k))).toBeLessThanOrEqual(1);
    });
    expect(meanRateQps(ramp, 10)).toBe(150);
    expect(rateAt(ramp, 10, 5)).toBe(150);
    // A ramp down, to 0, stays inside the phase and monotone.
    const down = offsets({ kind: 'ramp', fromQps: 100, toQps: 0 }, 4);
    expect(down.length).toBe(200);
    for (let i = 1; i < down.length; i++) expect(down[i]).toBeGreaterThan(down[i - 1]);
  });

  it('step: a staircase of everyS-long levels', () => {
    const step: ArrivalProcess = { kind: 'step', fromQps: 100, stepQps: 100, everyS: 2 };
    const n = perSecond(offsets(step, 8), 8);
    expect(n).toEqual([100, 100, 200, 200, 300, 300, 400, 400]);
    expect(peakRateQps(step, 8)).toBe(400);
  });

  it('spike: base, a linear rise to the peak, hold, decay, base again', () => {
    const spike: ArrivalProcess = {
      kind: 'spike',
      baseQps: 100,
      peakQps: 300,
      atS: 2,
      riseS: 2,
      holdS: 2,
      decayS: 2,
    };
    const n = perSecond(offsets(spike, 10), 10);
    expect(n[0]).toBe(100);
    expect(n[1]).toBe(100);
    expect(Math.abs(n[2] - 150)).toBeLessThanOrEqual(1); // mean over the first half of the rise
    expect(Math.abs(n[3] - 250)).toBeLessThanOrEqual(1);
    expect(n[4]).toBe(300);
    expect(n[5]).toBe(300);
    expect(Math.abs(n[6] - 250)).toBeLessThanOrEqual(1);
    expect(Math.abs(n[7] - 150)).toBeLessThanOrEqual(1);
    expect(n[8]).toBe(100);
    expect(n[9]).toBe(100);
    expect(peakRateQps(spike, 10)).toBe(300);
    expect(describeArrivals(spike)).toBe('spike 100→300/s at 2 s (rise 2 s, hold 2 s, decay 2 s)');
  });

  it('poisson: seeded, exponential gaps with mean 1/rate, count within 4σ of rate × duration', () => {
    const p: ArrivalProcess = { kind: 'poisson', rateQps: 500 };
    const a = offsets(p, 20, 7);
    expect(offsets(p, 20, 7)).toEqual(a); // same seed, same schedule
    expect(offsets(p, 20, 8)).not.toEqual(a);
    expect(Math.abs(a.length - 10_000)).toBeLessThan(4 * Math.sqrt(10_000));
    const gaps = a.slice(1).map((t, i) => t - a[i]);
    const mean = gaps.reduce((s, g) => s + g, 0) / gaps.length;
    expect(mean).toBeCloseTo(1 / 500, 4);
    // Exponential: the share of gaps longer than the mean is e^-1.
    expect(gaps.filter((g) => g > mean).length / gaps.length).toBeCloseTo(Math.exp(-1), 1);
  });

  it('poisson spacing on a shaped process follows its rate curve (time rescaling)', () => {
    const ramp: ArrivalProcess = { kind: 'ramp', fromQps: 0, toQps: 2000, spacing: 'poisson' };
    const n = perSecond(offsets(ramp, 10, 3), 10);
    // Second k expects 200 k + 100 arrivals (Poisson: within 4σ).
    n.forEach((c, k) => {
      expect(Math.abs(c - (200 * k + 100))).toBeLessThan(4 * Math.sqrt(200 * k + 100) + 1);
    });
  });

  it('a Poisson process without a stream is refused; an even one draws nothing', () => {
    expect(() => arrivalSchedule({ kind: 'poisson', rateQps: 1 }, 1)).toThrow(/random stream/);
    expect(arrivalSchedule({ kind: 'constant', rateQps: 1 }, 1).next()).toBe(0);
  });

  it('scaling multiplies rates and times', () => {
    const spike: ArrivalProcess = { kind: 'spike', baseQps: 10, peakQps: 40, atS: 4, riseS: 2, decayS: 6 };
    expect(scaleArrivals(spike, 2, 0.5)).toEqual({
      kind: 'spike',
      baseQps: 20,
      peakQps: 80,
      atS: 2,
      riseS: 1,
      holdS: undefined,
      decayS: 3,
    });
  });
});
