import { baseline } from '../../scenarios/baseline.ts';
import type { ScenarioDefinition } from '../../scenarios/define.ts';

/** The name of the measured phase of `measuredBaseline` (the low-rate one in a calibration). */
export const MEASURED_PHASE = 'measured';
/** The warm-up phase before it (excluded from the figures). */
export const WARMUP_PHASE = 'warmup';
/** The name of a calibration's second, higher-rate phase (CPU only). */
export const MEASURED_HIGH_PHASE = 'measured_high';

/** The name of a calibration's `i`-th higher-rate phase (0-based): `measured_high`, `measured_high_2`, … */
export const measuredHighPhase = (i: number) =>
  i === 0 ? MEASURED_HIGH_PHASE : `${MEASURED_HIGH_PHASE}_${i + 1}`;
/**
 * Default warm-up, s. It outlasts the core's in-process video-record cache (RECLAB_L1_CACHE_TTL_MS,
 * 60 s by default): before one TTL has passed the cache has not yet reached its steady hit rate, and
 * the live core's CPU per request was still falling (docs/simulator.md, "Validation against live").
 */
export const DEFAULT_WARMUP_S = 60;

/**
 * The baseline world at one constant arrival rate: a warm-up at that rate (`warmupS`, excluded from
 * every figure) and one measured phase of `durationS`, no assertions. What bench/sim-validation.ts
 * drives live (and simulates). With `highRatesQps`, a measured phase at each of those rates follows
 * (`measuredHighPhase(i)`, rising): what `reclab calibrate` drives, so that the core's CPU and its
 * wait for a CPU are measured at several rates.
 */
export function measuredBaseline(
  name: string,
  rateQps: number,
  durationS: number,
  highRatesQps: readonly number[] = [],
  warmupS: number = DEFAULT_WARMUP_S,
): ScenarioDefinition {
  return {
    ...baseline,
    name,
    description:
      `the baseline world at ${rateQps} QPS` +
      (highRatesQps.length ? ` then ${highRatesQps.join(', ')} QPS` : '') +
      ` for ${durationS} s each after a ${warmupS} s warm-up, measured`,
    phases: [
      // At the measured rate: the caches and the JIT settle where the measured phase will run.
      { name: WARMUP_PHASE, arrivals: { kind: 'constant', rateQps }, durationS: warmupS, warmup: true },
      { name: MEASURED_PHASE, arrivals: { kind: 'constant', rateQps }, durationS },
      ...highRatesQps.map((r, i) => ({
        name: measuredHighPhase(i),
        arrivals: { kind: 'constant' as const, rateQps: r },
        durationS,
      })),
    ],
    assertions: [],
  };
}
