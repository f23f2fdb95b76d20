/**
 * Both drivers at once, against the same core (issue 14, "Driver agreement";
 * `reclab run --driver paired`): vegeta sends the even slots of a constant-rate phase at half the
 * rate, reclab's open-model driver the odd ones (segment 1/2). Each measures its own half, so the
 * two latency distributions come from the same core in the same seconds, and their ratio is a
 * comparison within one run (ARCHITECTURE.md, measurement rules). Drivers compared in separate runs
 * also compare two states of the machine: on this 2-vCPU VM the live p99 moves 2× between identical
 * runs (docs/simulator.md), more than the 20%/30% the agreement check allows.
 *
 * The phase's own figures are the two halves merged from their histograms (merge-phases.ts), as a
 * segmented run's are. Faults are timed from the open-model half's schedule start.
 */
import type { RandomStream } from '../../core/ports/random.ts';
import type { ArrivalProcess } from '../../scenarios/arrivals.ts';
import { mergePhaseResults } from '../segments/merge-phases.ts';
import {
  type PhaseResult,
  type RequestSpec,
  type ResponseInfo,
  runOpenModel,
} from './autocannon/open-model.ts';
import { runVegetaPhase } from './vegeta/vegeta.ts';

/** One driver's half of a paired phase: what it measured, in the run's JSON. */
export interface DriverHalf {
  driver: 'open-model' | 'vegeta';
  /** Requests sent (measured window). */
  requests: number;
  offeredQps: number;
  /** Latency from the intended send time, ms, from the half's histogram. */
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  /** Latency from the driver's own send, ms: what the service took, less the driver's pacing lag. */
  fromSendP50Ms: number;
  fromSendP99Ms: number;
  /** The driver's lag behind its schedule, ms (p50). */
  sendLagP50Ms: number;
  /** Slots sent more than the late threshold after their intended time. */
  late: number;
}

/** A paired phase: the merged figures and each driver's half. */
export interface PairedPhase {
  merged: PhaseResult;
  halves: [DriverHalf, DriverHalf];
}

export interface PairedPhaseOptions {
  url: string;
  /** A constant rate with even spacing: what vegeta paces (vegeta.ts `vegetaUnsupported`). */
  arrivals: ArrivalProcess;
  durationS: number;
  phase: string;
  /** Request of slot `k` of the whole schedule. */
  makeRequest: (k: number) => RequestSpec;
  /** Every response, with `i` the slot of the whole schedule (vegeta's after its attack). */
  onResponse?: (r: ResponseInfo) => void;
  onScheduleStart?: () => void;
  /** vegeta's targets and results. */
  workDir: string;
  /** The open-model half's arrival stream (not drawn from with even spacing). */
  random?: RandomStream;
  vegetaBin?: string;
}

const halfOf = (driver: DriverHalf['driver'], r: PhaseResult): DriverHalf => ({
  driver,
  requests: r.completed,
  offeredQps: r.offeredQps,
  p50Ms: r.latencyMs.p50,
  p90Ms: r.latencyMs.p90,
  p99Ms: r.latencyMs.p99,
  fromSendP50Ms: r.latencyFromSendMs.p50,
  fromSendP99Ms: r.latencyFromSendMs.p99,
  sendLagP50Ms: r.sendLagMs.p50,
  late: r.late,
});

/**
 * Runs one constant-rate phase with both drivers at once (see the file header).
 * @throws OpenModelError RECLAB_ERR_LOADTEST_OPTIONS_INVALID when the phase is not a constant rate
 *   with even spacing; RECLAB_ERR_LOADTEST_ENGINE_FAILED when either driver fails
 */
export async function runPairedPhase(o: PairedPhaseOptions): Promise<PairedPhase> {
  const a = o.arrivals;
  // vegeta refuses anything else itself; checked here too so that neither half starts alone.
  const half: ArrivalProcess =
    a.kind === 'constant' && a.spacing !== 'poisson' ? { kind: 'constant', rateQps: a.rateQps / 2 } : a;
  const [vegeta, open] = await Promise.all([
    runVegetaPhase({
      url: o.url,
      arrivals: half,
      durationS: o.durationS,
      phase: o.phase,
      // vegeta's slot j is the whole schedule's slot 2j: j / (r/2) = 2j / r.
      makeRequest: (j) => o.makeRequest(2 * j),
      onResponse: o.onResponse ? (r) => o.onResponse!({ ...r, i: 2 * r.i }) : undefined,
      workDir: o.workDir,
      ...(o.vegetaBin ? { bin: o.vegetaBin } : {}),
    }),
    runOpenModel({
      url: o.url,
      arrivals: o.arrivals,
      random: o.random,
      durationS: o.durationS,
      phase: o.phase,
      segment: { index: 1, count: 2 },
      onScheduleStart: o.onScheduleStart,
      // A segment numbers its own slots: its slot j is the whole schedule's slot 2j + 1.
      makeRequest: (j) => o.makeRequest(2 * j + 1),
      onResponse: o.onResponse ? (r) => o.onResponse!({ ...r, i: 2 * r.i + 1 }) : undefined,
    }),
  ]);
  return {
    merged: mergePhaseResults([vegeta, open]),
    halves: [halfOf('vegeta', vegeta), halfOf('open-model', open)],
  };
}
