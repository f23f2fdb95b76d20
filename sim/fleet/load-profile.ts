/**
 * A replica whose speed depends on its load (issue 13, "Validation against live"). Two effects the
 * live core shows on this project's 2-vCPU machine, both measured per rate by `reclab calibrate`
 * (docs/simulator.md):
 *
 * - **CPU per request falls as the rate rises**: the main thread spent 7.10, 7.14, 6.39, 5.80 and
 *   5.45 ms a request at 30, 60, 90, 120 and 150 QPS (2026-12-07). Flat at low rates, then lower:
 *   work amortised over several requests per turn of the event loop, warmer caches. A constant
 *   cost plus background CPU (a line) gives a request too little CPU of its own at low rates.
 * - **Waiting for a CPU**: on a shared machine the event loop is often ready while another process
 *   has the CPU (schedstat's run-queue delay): 0.28 µs per µs of CPU at 30 QPS down to 0.06 at 150.
 *
 * Model (mean-field, a load-dependent server): each CPU job of a replica takes
 * `cost × cpuFactor(λ) × (1 + waitPerCpu(λ))`, λ the replica's arrival rate over the last second
 * of virtual time, both interpolated linearly between calibrated rates and held flat outside them.
 * `cost` is the CPU the stages were calibrated at (the profile's factor 1). The wait is time, not
 * CPU: the replica's utilisation counts it as busy, as the live loop's lag does. It models the
 * calibration machine; a replica with a core of its own has no wait (drop the table or its waits
 * for a capacity plan on such a fleet). Empty by default: a constant speed.
 */

import type { RandomStream } from '../../core/ports/random.ts';

/** One calibrated rate: requests/s reaching the replica, its CPU per request ÷ the stages', its wait per µs of CPU. */
export interface LoadPoint {
  rateQps: number;
  cpuFactor: number;
  waitPerCpu: number;
}

/** Buckets of the arrival-rate window, and their width: 10 × 100 ms = the last second. */
const BUCKETS = 10;
const BUCKET_US = 100_000;

/**
 * Arrivals of one replica over the last second of virtual time, in fixed buckets (no per-request
 * memory). Deterministic: it reads only the times it is given.
 */
export class ArrivalRate {
  readonly #counts = new Float64Array(BUCKETS);
  /** Index (time ÷ BUCKET_US) of the newest bucket written. */
  #newest = 0;
  #sum = 0;

  /** Counts one arrival at `nowUs`. */
  add(nowUs: number): void {
    this.#advance(nowUs);
    this.#counts[this.#newest % BUCKETS]++;
    this.#sum++;
  }

  /**
   * Arrivals per second over the last second before `nowUs`, at 100 ms resolution (the current
   * bucket and the 9 before it; over the time elapsed at the very start).
   */
  perSecond(nowUs: number): number {
    this.#advance(nowUs);
    const spanUs = Math.min(BUCKETS * BUCKET_US, Math.max(BUCKET_US, nowUs + 1));
    return (this.#sum * 1e6) / spanUs;
  }

  #advance(nowUs: number): void {
    const idx = Math.floor(nowUs / BUCKET_US);
    if (idx <= this.#newest) return;
    // Empty every bucket between the newest written and now (at most all of them).
    const steps = Math.min(BUCKETS, idx - this.#newest);
    for (let k = 1; k <= steps; k++) {
      const b = (this.#newest + k) % BUCKETS;
      this.#sum -= this.#counts[b];
      this.#counts[b] = 0;
    }
    this.#newest = idx;
  }
}

/**
 * The profile at rate `rateQps`: linear between points (sorted by rate), the nearest point's
 * outside them; factor 1 and no wait for an empty table.
 */
export function loadAt(
  table: readonly LoadPoint[],
  rateQps: number,
): { cpuFactor: number; waitPerCpu: number } {
  if (table.length === 0) return { cpuFactor: 1, waitPerCpu: 0 };
  const at = (p: LoadPoint) => ({ cpuFactor: p.cpuFactor, waitPerCpu: p.waitPerCpu });
  if (rateQps <= table[0].rateQps) return at(table[0]);
  for (let i = 1; i < table.length; i++) {
    const b = table[i];
    if (rateQps <= b.rateQps) {
      const a = table[i - 1];
      const t = (rateQps - a.rateQps) / (b.rateQps - a.rateQps);
      return {
        cpuFactor: a.cpuFactor + (b.cpuFactor - a.cpuFactor) * t,
        waitPerCpu: a.waitPerCpu + (b.waitPerCpu - a.waitPerCpu) * t,
      };
    }
  }
  return at(table[table.length - 1]);
}

/** How much longer than its cost a job submitted now takes: `cpuFactor × (1 + waitPerCpu)` at the current rate. */
export function loadStretch(table: readonly LoadPoint[], rate: ArrivalRate): (nowUs: number) => number {
  return (nowUs) => {
    const p = loadAt(table, rate.perSecond(nowUs));
    return p.cpuFactor * (1 + p.waitPerCpu);
  };
}

/**
 * A replica's speed from interval to interval (fleet `replicas.speedVariation`): the live core's
 * CPU per request is not steady from one second to the next (the machine's other processes, the
 * CPU's caches and frequency, the loop's lumpier work), and near saturation the tail is made of
 * the slow seconds: a queue grows like 1/(1−ρ), so they add more tail than the fast ones take away.
 * The mean-field profile above cannot show that. Every `intervalUs` of virtual time the replica
 * draws a factor with `draw` (independent intervals; the calibration reports how far the live
 * seconds were correlated) and every job started in that interval is stretched by it.
 * Deterministic: factors are drawn in interval order, one per interval, whatever the jobs.
 *
 * @param intervalUs the interval, µs (> 0)
 * @param draw one factor per call (the fleet's quantiles, sampled on the replica's stream)
 * @returns the factor at a job's start time; start times must not decrease (a FIFO server's don't)
 */
export function speedVariation(intervalUs: number, draw: () => number): (nowUs: number) => number {
  let index = -1;
  let factor = 1;
  return (nowUs) => {
    const i = Math.floor(nowUs / intervalUs);
    // One draw per interval, skipped ones included, so a factor belongs to its interval.
    while (index < i) {
      factor = draw();
      index++;
    }
    return factor;
  };
}

/**
 * Draws of a lognormal factor with mean 1 and coefficient of variation `cv` (σ² = ln(1 + cv²),
 * μ = −σ²/2), for `speedVariation`: the fleet's `replicas.subsecondSpeed`. A lognormal keeps every
 * factor positive and, like the measured second-by-second factors, skews to the slow side.
 *
 * @param cv coefficient of variation, ≥ 0 (0: always 1)
 * @param random the replica's stream (`replica<i>.speed-subsecond`)
 */
export function meanOneLognormal(cv: number, random: RandomStream): () => number {
  if (cv === 0) return () => 1;
  const sigma = Math.sqrt(Math.log(1 + cv * cv));
  const mu = -(sigma * sigma) / 2;
  return () => Math.exp(mu + sigma * random.normal());
}
