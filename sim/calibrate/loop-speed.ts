/**
 * The live core's speed second by second (issue 13, "Validation against live": the tail near the
 * knee). A phase's mean CPU per request (the load profile, sim/fleet/load-profile.ts) hides how it
 * moves from one second to the next, and near saturation the slow seconds make the tail. Over each
 * interval of a measured phase the runner reads the core's main thread from schedstat (time on a
 * CPU and run-queue wait, ns; loadtest/phase-cpu.ts `mainThreadSchedStat`) and counts the
 * responses; `speedVariationOf` turns the intervals into the fleet's `replicas.speedVariation`.
 */
import { mainThreadSchedStat } from '../../loadtest/phase-cpu.ts';
import { meanOf } from '../fleet/distributions.ts';

/** One interval of the core's event loop: responses counted, main-thread CPU and run-queue wait, ms. */
export interface LoopInterval {
  requests: number;
  cpuMs: number;
  waitMs: number;
}

/** Reads the main thread's CPU and wait so far, ms (undefined without /proc). */
export type LoopReader = () => { cpuMs: number; delayMs: number } | undefined;

/**
 * Samples one phase: `start`, `served` per response, `stop` for the whole intervals. The timer
 * runs on the runner's event loop; a late tick only lengthens its interval, since the figures
 * used are per request.
 */
export class LoopSpeedSampler {
  readonly #read: LoopReader;
  readonly #intervalMs: number;
  readonly #intervals: LoopInterval[] = [];
  #requests = 0;
  #last: { cpuMs: number; delayMs: number } | undefined;
  #timer: NodeJS.Timeout | undefined;

  /** @param corePid the core's pid, or a reader (tests) */
  constructor(corePid: number | LoopReader, intervalMs = 1000) {
    this.#read = typeof corePid === 'number' ? () => mainThreadSchedStat(corePid) : corePid;
    this.#intervalMs = intervalMs;
  }

  start(): void {
    this.#last = this.#read();
    this.#requests = 0;
    this.#timer = setInterval(() => this.tick(), this.#intervalMs);
    this.#timer.unref();
  }

  served(): void {
    this.#requests++;
  }

  /** Closes the current interval (the timer calls it; public for tests). */
  tick(): void {
    const now = this.#read();
    if (now && this.#last)
      this.#intervals.push({
        requests: this.#requests,
        cpuMs: now.cpuMs - this.#last.cpuMs,
        waitMs: now.delayMs - this.#last.delayMs,
      });
    this.#last = now;
    this.#requests = 0;
  }

  /** Stops; returns the whole intervals (the partial last one is dropped). */
  stop(): LoopInterval[] {
    clearInterval(this.#timer);
    this.#timer = undefined;
    return [...this.#intervals];
  }
}

/** The fleet's `replicas.speedVariation`, and what it was fitted from. */
export interface SpeedVariationFit {
  intervalMs: number;
  /** Factor quantiles, i/(n−1), scaled so that the sampled mean is 1. */
  quantiles: number[];
  /** Intervals used, and the phases they came from. */
  intervals: number;
  phases: number;
  /** Mean responses per interval over the phases used. */
  meanRequests: number;
  /** Coefficient of variation of the factors. */
  cv: number;
  /** Lag-1 autocorrelation of the factors within a phase (the model draws intervals independently). */
  lag1: number;
}

const QUANTILES = 21;

/**
 * Pools each phase's per-interval stretch (`(cpu + wait) ÷ requests`) relative to that phase's
 * mean. Only phases with at least `minRequests` responses per interval on average count: below it
 * the count of requests itself (Poisson) and their uneven cost make most of the spread, and the
 * simulator already draws those. Undefined when no phase qualifies or fewer than 10 intervals do.
 */
export function speedVariationOf(
  phases: readonly (readonly LoopInterval[])[],
  intervalMs: number,
  minRequests = 150,
): SpeedVariationFit | undefined {
  const factors: number[] = [];
  let lagSum = 0;
  let lagPhases = 0;
  let used = 0;
  let requests = 0;
  for (const intervals of phases) {
    const live = intervals.filter((i) => i.requests > 0);
    if (live.length === 0) continue;
    const n = live.reduce((t, i) => t + i.requests, 0);
    if (n / live.length < minRequests) continue;
    const mean = live.reduce((t, i) => t + i.cpuMs + i.waitMs, 0) / n;
    if (!(mean > 0)) continue;
    const f = live.map((i) => (i.cpuMs + i.waitMs) / i.requests / mean);
    factors.push(...f);
    requests += n;
    used++;
    const r = lag1Of(f);
    if (r !== undefined) {
      lagSum += r;
      lagPhases++;
    }
  }
  if (factors.length < 10) return undefined;
  factors.sort((a, b) => a - b);
  const q = Array.from({ length: QUANTILES }, (_, k) => quantileOf(factors, k / (QUANTILES - 1)));
  // Scaled so that the simulator's sampler of these quantiles (an `empirical` distribution) has a
  // mean of 1: the load profile keeps the phase's mean speed and this adds only its spread.
  const scale = 1 / meanOf({ kind: 'empirical', quantilesUs: q });
  const mean = factors.reduce((t, x) => t + x, 0) / factors.length;
  const sd = Math.sqrt(factors.reduce((t, x) => t + (x - mean) ** 2, 0) / factors.length);
  const r4 = (x: number) => Math.round(x * 10_000) / 10_000;
  return {
    intervalMs,
    quantiles: q.map((x) => r4(x * scale)),
    intervals: factors.length,
    phases: used,
    meanRequests: Math.round(requests / factors.length),
    cv: r4(sd / mean),
    lag1: r4(lagPhases ? lagSum / lagPhases : 0),
  };
}

/** Linear-interpolated quantile `p` of sorted `xs`. */
function quantileOf(xs: readonly number[], p: number): number {
  const x = p * (xs.length - 1);
  const i = Math.floor(x);
  return i >= xs.length - 1 ? xs[xs.length - 1] : xs[i] + (xs[i + 1] - xs[i]) * (x - i);
}

/** Lag-1 autocorrelation of `xs`; undefined for fewer than 3 values or no variance. */
function lag1Of(xs: readonly number[]): number | undefined {
  if (xs.length < 3) return undefined;
  const m = xs.reduce((t, x) => t + x, 0) / xs.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    den += (xs[i] - m) ** 2;
    if (i > 0) num += (xs[i] - m) * (xs[i - 1] - m);
  }
  return den > 0 ? num / den : undefined;
}
