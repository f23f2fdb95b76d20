/**
 * Arrival processes as schedules of intended send times: the one definition of "when is request
 * i due" that both runners follow — the live driver (loadtest/drivers/autocannon/open-model.ts)
 * and the simulator (sim/run/simulate.ts). Sans-I/O: no clock, no timers; the caller asks for the
 * next intended offset and decides when it is due.
 *
 * Every process is a rate curve λ(t) over the phase, piecewise linear in t (constant, ramp, step,
 * spike), with cumulative count Λ(t) = ∫₀ᵗ λ. Arrival times follow the time-rescaling theorem
 * (Brown et al. 2002, "The time-rescaling theorem and its application to neural spike train data
 * analysis"): arrival k is at Λ⁻¹(u_k), where
 * - `spacing: 'even'` (default): u_k = k, k = 0, 1, 2, … — evenly spaced in Λ, so a constant rate r
 *   gives t_k = k / r exactly (the first request at t = 0, as the live driver always sent it);
 * - `spacing: 'poisson'` and the `poisson` kind: u_k = E₁ + … + E_k with E ~ Exp(1) from the seeded
 *   stream — a (non-homogeneous) Poisson process with intensity λ(t).
 * Arrivals at or past the phase's duration are not part of it.
 */
import type { RandomStream } from '../core/ports/random.ts';

/** Rates in requests per second, times in seconds from the phase start. */
export type ArrivalProcess =
  | { kind: 'constant'; rateQps: number; spacing?: Spacing }
  | { kind: 'poisson'; rateQps: number }
  | { kind: 'ramp'; fromQps: number; toQps: number; spacing?: Spacing }
  /** A staircase: `fromQps` for `everyS`, then `stepQps` more every `everyS` (a rate sweep). */
  | { kind: 'step'; fromQps: number; stepQps: number; everyS: number; spacing?: Spacing }
  /**
   * `baseQps`, then from `atS` a linear rise to `peakQps` over `riseS`, `holdS` at the peak, a
   * linear decay back to `baseQps` over `decayS`, then `baseQps` to the end.
   */
  | {
      kind: 'spike';
      baseQps: number;
      peakQps: number;
      atS: number;
      riseS: number;
      holdS?: number;
      decayS: number;
      spacing?: Spacing;
    };

export type Spacing = 'even' | 'poisson';

/** One linear piece of λ(t): from `t0S` to `t1S`, rate `r0` → `r1`. */
interface Segment {
  t0S: number;
  t1S: number;
  r0: number;
  r1: number;
  /** Λ(t0S). */
  cum0: number;
}

/** Float tolerance on offsets, so k / r for integer k·r never lands one slot off. */
const EPS = 1e-9;

/** The piecewise-linear rate curve of a process over [0, durationS]. */
export function rateSegments(p: ArrivalProcess, durationS: number): Segment[] {
  const pieces: [number, number, number][] = []; // [lengthS, r0, r1]
  switch (p.kind) {
    case 'constant':
    case 'poisson':
      pieces.push([durationS, p.rateQps, p.rateQps]);
      break;
    case 'ramp':
      pieces.push([durationS, p.fromQps, p.toQps]);
      break;
    case 'step':
      for (let t = 0, k = 0; t < durationS - EPS; t += p.everyS, k++) {
        const r = Math.max(0, p.fromQps + k * p.stepQps);
        pieces.push([Math.min(p.everyS, durationS - t), r, r]);
      }
      break;
    case 'spike': {
      const hold = p.holdS ?? 0;
      pieces.push(
        [p.atS, p.baseQps, p.baseQps],
        [p.riseS, p.baseQps, p.peakQps],
        [hold, p.peakQps, p.peakQps],
        [p.decayS, p.peakQps, p.baseQps],
        [durationS - p.atS - p.riseS - hold - p.decayS, p.baseQps, p.baseQps],
      );
      break;
    }
  }
  const segments: Segment[] = [];
  let t = 0;
  let cum = 0;
  for (const [len, r0, r1] of pieces) {
    if (!(len > 0)) continue;
    const t1 = Math.min(durationS, t + len);
    segments.push({ t0S: t, t1S: t1, r0, r1, cum0: cum });
    cum += ((r0 + r1) / 2) * (t1 - t);
    t = t1;
  }
  return segments;
}

/** λ(t), requests per second, at `tS` seconds into the phase (0 outside it). */
export function rateAt(p: ArrivalProcess, durationS: number, tS: number): number {
  for (const s of rateSegments(p, durationS)) {
    if (tS >= s.t0S && tS < s.t1S) return s.r0 + ((s.r1 - s.r0) * (tS - s.t0S)) / (s.t1S - s.t0S);
  }
  return 0;
}

/** Λ(durationS) / durationS: the mean offered rate the process intends, requests/s. */
export function meanRateQps(p: ArrivalProcess, durationS: number): number {
  const segs = rateSegments(p, durationS);
  const last = segs.at(-1);
  if (!last || durationS <= 0) return 0;
  return (last.cum0 + ((last.r0 + last.r1) / 2) * (last.t1S - last.t0S)) / durationS;
}

/** The highest rate of the process over the phase, requests/s. */
export function peakRateQps(p: ArrivalProcess, durationS: number): number {
  return Math.max(0, ...rateSegments(p, durationS).flatMap((s) => [s.r0, s.r1]));
}

/** Intended send times of one phase, in order; each call to `next` gives the following one. */
export interface ArrivalSchedule {
  /** Offset of the next arrival, seconds from the phase start, or undefined once past the end. */
  next(): number | undefined;
}

/**
 * The schedule of `process` over `durationS` seconds. `random` (a stream named for the phase, e.g.
 * `arrivals.<phase>`) is read only by Poisson spacing, one Exp(1) draw per arrival, so a process
 * without it draws nothing.
 * @throws Error when Poisson spacing is asked without a stream (a runner bug)
 */
export function arrivalSchedule(
  process: ArrivalProcess,
  durationS: number,
  random?: RandomStream,
): ArrivalSchedule {
  const segments = rateSegments(process, durationS);
  const poisson = process.kind === 'poisson' || process.spacing === 'poisson';
  if (poisson && !random) throw new Error(`arrivalSchedule: a Poisson ${process.kind} needs a random stream`);
  let seg = 0;
  let u = 0; // Λ-value of the next arrival
  let k = 0;
  let done = false;
  return {
    next() {
      if (done) return undefined;
      if (poisson) u += -Math.log(1 - random!.next());
      else u = k;
      k++;
      // Λ is non-decreasing and u increases, so the segment pointer only moves forward.
      while (seg < segments.length) {
        const s = segments[seg];
        const len = s.t1S - s.t0S;
        const inSeg = ((s.r0 + s.r1) / 2) * len;
        if (u < s.cum0 + inSeg - EPS) {
          const t = s.t0S + invertLinear(s.r0, (s.r1 - s.r0) / len, u - s.cum0);
          if (t < durationS - EPS) return t;
          break;
        }
        seg++;
      }
      done = true;
      return undefined;
    },
  };
}

/**
 * The x ≥ 0 with r0·x + slope·x²/2 = y (the time into a linear segment at which its cumulative
 * count reaches y), in the form that stays exact when r0 or slope is 0.
 */
function invertLinear(r0: number, slope: number, y: number): number {
  if (y <= 0) return 0;
  if (slope === 0) return y / r0;
  const disc = Math.max(0, r0 * r0 + 2 * slope * y);
  return (2 * y) / (r0 + Math.sqrt(disc));
}

/** Short human form: `constant 100/s`, `spike 100→300/s at 10 s (rise 5, hold 10, decay 5)`. */
export function describeArrivals(p: ArrivalProcess): string {
  const sp = 'spacing' in p && p.spacing === 'poisson' ? ' poisson' : '';
  switch (p.kind) {
    case 'constant':
      return `constant ${p.rateQps}/s${sp}`;
    case 'poisson':
      return `poisson ${p.rateQps}/s`;
    case 'ramp':
      return `ramp ${p.fromQps}→${p.toQps}/s${sp}`;
    case 'step':
      return `step ${p.fromQps}/s ${p.stepQps >= 0 ? '+' : ''}${p.stepQps}/s every ${p.everyS} s${sp}`;
    case 'spike':
      return (
        `spike ${p.baseQps}→${p.peakQps}/s at ${p.atS} s ` +
        `(rise ${p.riseS} s, hold ${p.holdS ?? 0} s, decay ${p.decayS} s)${sp}`
      );
  }
}

/** The process with every rate × `rateScale` and every time × `durationScale`. */
export function scaleArrivals(p: ArrivalProcess, rateScale: number, durationScale: number): ArrivalProcess {
  const r = (x: number) => x * rateScale;
  const t = (x: number) => x * durationScale;
  switch (p.kind) {
    case 'constant':
      return { ...p, rateQps: r(p.rateQps) };
    case 'poisson':
      return { ...p, rateQps: r(p.rateQps) };
    case 'ramp':
      return { ...p, fromQps: r(p.fromQps), toQps: r(p.toQps) };
    case 'step':
      return { ...p, fromQps: r(p.fromQps), stepQps: r(p.stepQps), everyS: t(p.everyS) };
    case 'spike':
      return {
        ...p,
        baseQps: r(p.baseQps),
        peakQps: r(p.peakQps),
        atS: t(p.atS),
        riseS: t(p.riseS),
        holdS: p.holdS === undefined ? undefined : t(p.holdS),
        decayS: t(p.decayS),
      };
  }
}
