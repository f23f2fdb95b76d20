/**
 * `--rate-scale` and `--duration-scale`, one rule for both runners: every phase's rates × the rate
 * scale; every measured phase's times — its duration, the process's times (spike, step) and its
 * faults' windows — × the duration scale. Warm-up phases keep their duration: they exist to warm
 * the JIT, caches and connection pools, which takes the same wall time however long the scenario.
 */
import { peakRateQps, scaleArrivals } from './arrivals.ts';
import type { Phase, ScenarioDefinition } from './define.ts';

export interface Scales {
  rateScale?: number;
  durationScale?: number;
  /** Instead of `durationScale`: every measured phase lasts this long (its times scaled to fit). */
  measuredDurationS?: number;
}

export function scalePhase(p: Phase, s: Scales): Phase {
  const r = s.rateScale ?? 1;
  const d = p.warmup
    ? 1
    : s.measuredDurationS !== undefined
      ? s.measuredDurationS / p.durationS
      : (s.durationScale ?? 1);
  if (r === 1 && d === 1) return p;
  return {
    ...p,
    durationS: p.durationS * d,
    arrivals: scaleArrivals(p.arrivals, r, d),
    faults: p.faults?.map((f) => ({
      ...f,
      fromS: f.fromS * d,
      ...(f.toS === undefined ? {} : { toS: f.toS * d }),
    })),
    // The viral video's start moves with the phase's times; its event rate with the rates.
    ...(p.viral ? { viral: { ...p.viral, atS: p.viral.atS * d, eventsPerS: p.viral.eventsPerS * r } } : {}),
  };
}

/** The scenario with `s` applied to every phase (assertions unchanged). */
export function scaleScenario(sc: ScenarioDefinition, s: Scales): ScenarioDefinition {
  return { ...sc, phases: sc.phases.map((p) => scalePhase(p, s)) };
}

/** The highest rate any measured phase offers (all phases when none is measured), requests/s. */
export function peakMeasuredRateQps(sc: ScenarioDefinition): number {
  const measured = sc.phases.filter((p) => !p.warmup);
  return Math.max(
    0,
    ...(measured.length ? measured : sc.phases).map((p) => peakRateQps(p.arrivals, p.durationS)),
  );
}

/** A fault's window end in its phase: `toS`, else the phase's end (an event has none). */
export function faultEndS(f: NonNullable<Phase['faults']>[number], phase: Phase): number | undefined {
  if (f.target === 'redis' && f.kind === 'restart_empty') return undefined;
  return f.toS ?? phase.durationS;
}
