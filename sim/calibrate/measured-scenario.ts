import { baseline } from '../../scenarios/baseline.ts';
import type { ScenarioDefinition } from '../../scenarios/define.ts';

/** The name of the measured phase of `measuredBaseline` (the low-rate one in a calibration). */
export const MEASURED_PHASE = 'measured';
/** The name of a calibration's second, higher-rate phase (CPU only). */
export const MEASURED_HIGH_PHASE = 'measured_high';
/**
 * Default warm-up, s. It outlasts the core's in-process video-record cache (RECLAB_L1_CACHE_TTL_MS,
 * 60 s by default): before one TTL has passed the cache has not yet reached its steady hit rate, and
 * the live core's CPU per request was still falling (docs/simulator.md, "Validation against live").
 */
export const DEFAULT_WARMUP_S = 60;

/**
 * The baseline world at one constant arrival rate: a warm-up at that rate (`warmupS`, excluded from
 * every figure) and one measured phase of `durationS`, no assertions. What bench/sim-validation.ts
 * drives live (and simulates). With `highRateQps`, a second measured phase `MEASURED_HIGH_PHASE` at
 * that rate follows: what `reclab calibrate` drives, so that the core's CPU is measured at two rates.
 */
export function measuredBaseline(
  name: string,
  rateQps: number,
  durationS: number,
  highRateQps?: number,
  warmupS: number = DEFAULT_WARMUP_S,
): ScenarioDefinition {
  return {
    ...baseline,
    name,
    description:
      `the baseline world at ${rateQps} QPS` +
      (highRateQps === undefined ? '' : ` then ${highRateQps} QPS`) +
      ` for ${durationS} s each after a ${warmupS} s warm-up, measured`,
    phases: [
      // At the measured rate: the caches and the JIT settle where the measured phase will run.
      { name: 'warmup', arrivals: { kind: 'constant', rateQps }, durationS: warmupS, warmup: true },
      { name: MEASURED_PHASE, arrivals: { kind: 'constant', rateQps }, durationS },
      ...(highRateQps === undefined
        ? []
        : [
            {
              name: MEASURED_HIGH_PHASE,
              arrivals: { kind: 'constant' as const, rateQps: highRateQps },
              durationS,
            },
          ]),
    ],
    assertions: [],
  };
}
