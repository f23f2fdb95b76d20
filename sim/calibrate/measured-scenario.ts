import { baseline } from '../../scenarios/baseline.ts';
import type { ScenarioDefinition } from '../../scenarios/define.ts';

/** The name of the measured phase of `measuredBaseline` (the low-rate one in a calibration). */
export const MEASURED_PHASE = 'measured';
/** The name of a calibration's second, higher-rate phase (CPU only). */
export const MEASURED_HIGH_PHASE = 'measured_high';

/**
 * The baseline world at one constant arrival rate: a 10 s warm-up (at most 50 QPS) and one
 * measured phase, no assertions. What bench/sim-validation.ts drives live (and simulates).
 * With `highRateQps`, a second measured phase `MEASURED_HIGH_PHASE` at that rate follows: what
 * `reclab calibrate` drives, so that the core's CPU is measured at two rates.
 */
export function measuredBaseline(
  name: string,
  rateQps: number,
  durationS: number,
  highRateQps?: number,
): ScenarioDefinition {
  return {
    ...baseline,
    name,
    description:
      `the baseline world at ${rateQps} QPS` +
      (highRateQps === undefined ? '' : ` then ${highRateQps} QPS`) +
      ` for ${durationS} s each, measured`,
    phases: [
      {
        name: 'warmup',
        arrivals: { kind: 'constant', rateQps: Math.min(rateQps, 50) },
        durationS: 10,
        warmup: true,
      },
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
