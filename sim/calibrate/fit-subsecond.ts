/**
 * Fitting the replica's speed within a second (fleet `replicas.subsecondSpeed`) to a calibration
 * run's own tail (issue 13, "Validation against live"; docs/simulator.md, "Within a second").
 *
 * Near the knee the live p99 on this 2-vCPU VM was 2× the calibrated replica's at the same CPU per
 * request and the same wait. The one-second speed samples (loop-speed.ts) show a CV of about 4%;
 * slow stretches shorter than a second average away in them, yet a queue at ρ ≈ 0.8–0.9 grows in
 * tens of milliseconds. They cannot be measured directly from the responses: a 100 ms window holds
 * about 30 responses at 300 QPS, and the requests in flight at its edges add as much noise as the
 * signal. So the coefficient of variation is fitted instead. The calibration scenario is simulated
 * with each `cv` of a grid, and the fit keeps the `cv` whose p99 best matches the live p99 of the
 * phases that can show it: busy (main-thread utilisation ≥ 0.5) and below the knee (≥ 99% of lists
 * on `full`). Past the knee the tail is the brownout's, and an idle loop has no queue to show a
 * slow stretch. Loss: Σ ln(sim p99 ÷ live p99)², each simulated p99 the median over
 * `SUBSECOND_FIT_SEEDS` seeds: one seed's p99 near the knee moved by up to 70% from seed to seed
 * (docs/simulator.md, 2026-12-08), so a one-seed fit chose the `cv` that suited that seed. The
 * scenario is simulated up to the last matched phase only: a simulation is causal, so the phases
 * before are the same. On a tie the smaller `cv` wins.
 *
 * A fitted parameter, not a measurement: the validation runs (bench/sim-validation.ts) are
 * separate live runs, which judge it.
 */
import type { ScenarioDefinition } from '../../scenarios/define.ts';
import type { FleetSpec } from '../fleet/fleet-spec.ts';
import { simulate } from '../run/simulate.ts';
import { median } from '../util/median.ts';

/** The interval of the fitted variation, ms: the scale of a queue's growth at 200–300 QPS. */
export const SUBSECOND_INTERVAL_MS = 100;
/** The coefficients of variation tried. */
export const SUBSECOND_CV_GRID: readonly number[] = [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4];
/** Seeds each `cv` is simulated with (`seed`, `seed` + 1, …); the median p99 per phase is matched. */
export const SUBSECOND_FIT_SEEDS = 5;
/** Phases that count: main-thread CPU ≥ this share of a CPU … */
export const FIT_MIN_UTILISATION = 0.5;
/** … and at least this share of their lists on `full`. */
export const FIT_MIN_FULL_SHARE = 0.99;

/** One live phase the fit matches: its name in the scenario and its measured p99, ms. */
export interface FitPhase {
  phase: string;
  rateQps: number;
  liveP99Ms: number;
}

export interface SubsecondFit {
  intervalMs: number;
  /** The chosen coefficient of variation (0: none). */
  cv: number;
  /** Each matched phase, with the simulated p99 at the chosen `cv`. */
  phases: (FitPhase & { simP99Ms: number })[];
  /** Every `cv` tried and its loss. */
  grid: { cv: number; loss: number }[];
}

/** `fleet` with a sub-second variation of `cv` (none at 0). */
export function withSubsecondSpeed(
  fleet: FleetSpec,
  cv: number,
  intervalMs = SUBSECOND_INTERVAL_MS,
): FleetSpec {
  const { subsecondSpeed: _, ...replicas } = fleet.replicas;
  return { ...fleet, replicas: cv > 0 ? { ...replicas, subsecondSpeed: { intervalMs, cv } } : replicas };
}

/**
 * Fits `cv` on `phases` of `scenario` (see the file header).
 * @param o.fleet the calibrated fleet (load profile, second-by-second variation, GC pauses)
 * @param o.scenario the calibration run's scenario, simulated as it was run live
 * @param o.phases the live phases to match (at least one)
 * @throws Error when `phases` is empty or a phase is not in `scenario`
 */
export function fitSubsecondSpeed(o: {
  fleet: FleetSpec;
  scenario: ScenarioDefinition;
  seed: number;
  phases: readonly FitPhase[];
  grid?: readonly number[];
  /** Seeds per `cv` (default SUBSECOND_FIT_SEEDS). */
  seeds?: number;
}): SubsecondFit {
  if (o.phases.length === 0) throw new Error('fitSubsecondSpeed: no phase to match');
  for (const p of o.phases)
    if (!o.scenario.phases.some((s) => s.name === p.phase))
      throw new Error(`fitSubsecondSpeed: phase ${p.phase} is not in scenario ${o.scenario.name}`);
  const last = Math.max(...o.phases.map((p) => o.scenario.phases.findIndex((s) => s.name === p.phase)));
  const scenario: ScenarioDefinition = {
    ...o.scenario,
    phases: o.scenario.phases.slice(0, last + 1),
    assertions: [],
  };
  const seeds = o.seeds ?? SUBSECOND_FIT_SEEDS;
  const tried = (o.grid ?? SUBSECOND_CV_GRID).map((cv) => {
    const runs = Array.from({ length: seeds }, (_, i) =>
      simulate({
        scenario,
        fleet: withSubsecondSpeed(o.fleet, cv),
        seed: o.seed + i,
        reclabVersion: 'calibrate',
      }),
    );
    const sims = o.phases.map((p) =>
      median(runs.map((run) => run.result.phases.find((r) => r.name === p.phase)!.latencyMs.p99)),
    );
    const loss = o.phases.reduce(
      (sum, p, i) => sum + Math.log(Math.max(sims[i], 1e-3) / p.liveP99Ms) ** 2,
      0,
    );
    return { cv, loss, sims };
  });
  const best = tried.reduce((a, b) => (b.loss < a.loss - 1e-12 ? b : a));
  return {
    intervalMs: SUBSECOND_INTERVAL_MS,
    cv: best.cv,
    phases: o.phases.map((p, i) => ({ ...p, simP99Ms: Math.round(best.sims[i] * 100) / 100 })),
    grid: tried.map((t) => ({ cv: t.cv, loss: Math.round(t.loss * 1e4) / 1e4 })),
  };
}
