import { baseline } from '../../scenarios/baseline.ts';
import type { ScenarioDefinition } from '../../scenarios/define.ts';

/** The name of the one measured phase of `measuredBaseline`. */
export const MEASURED_PHASE = 'measured';

/**
 * The baseline world at one constant arrival rate: a 10 s warm-up (at most 50 QPS) and one
 * measured phase, no assertions. What `reclab calibrate` and bench/sim-validation.ts drive live
 * (and simulate), so both measure the same thing.
 */
export function measuredBaseline(name: string, rateQps: number, durationS: number): ScenarioDefinition {
  return {
    ...baseline,
    name,
    description: `the baseline world at ${rateQps} QPS for ${durationS} s, measured`,
    phases: [
      {
        name: 'warmup',
        arrivals: { kind: 'constant', rateQps: Math.min(rateQps, 50) },
        durationS: 10,
        warmup: true,
      },
      { name: MEASURED_PHASE, arrivals: { kind: 'constant', rateQps }, durationS },
    ],
    assertions: [],
  };
}
