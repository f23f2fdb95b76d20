/**
 * Brownout before shedding (issue 10): the admission policy that picks how much of the pipeline a
 * request gets from how loaded the process is, as a pure function (sans-I/O: no clock, no state),
 * so the live core (core/resilience/admission.ts) and the simulator's replicas (sim/fleet/replica.ts)
 * decide with the same code.
 *
 * The levels, richest first (docs/fallback.md, "Brownout"):
 * - `full`: the whole pipeline;
 * - `light`: the light ranker instead of the main (MMoE) ranker (rung `light_ranker`);
 * - `lean`: the light ranker on fewer candidates (`leanCandidates`; rung `light_ranker`, reasons on
 *   `retrieval` and `ranking`);
 * - `popularity`: the in-process popularity cache, no dependency call and no pipeline slot
 *   (rung `popularity`);
 * - `shed`: 503 RECLAB_ERR_OVERLOADED with `Retry-After`, only when even `popularity` would answer
 *   after `deadlineMs`.
 * Every brownout is a degradation with reason RECLAB_ERR_OVERLOADED (core/errors.ts).
 *
 * The idea is Klein et al.'s brownout (ICSE 2014: serve optional content only while the response
 * time allows it) with the control signal of CoDel (Nichols & Jacobson 2012: the time a request
 * spends queued, not the queue's length), extended by the CPU the admitted requests still need: on
 * one event loop, the work already admitted is what a new request waits behind.
 */

/** What the policy can answer, richest first; `shed` refuses. */
export const ADMISSION_DECISIONS = ['full', 'light', 'lean', 'popularity', 'shed'] as const;
export type AdmissionDecision = (typeof ADMISSION_DECISIONS)[number];
/** A decision that serves (all but `shed`). */
export type BrownoutLevel = Exclude<AdmissionDecision, 'shed'>;
/** The levels that run the pipeline (and hold a bulkhead slot while they do). */
export type PipelineLevel = Exclude<BrownoutLevel, 'popularity'>;

/** How loaded the process is when a request is decided; all in ms. */
export interface LoadSignal {
  /** How long this request has already waited for a pipeline slot (0 at arrival). */
  waitedMs: number;
  /** How long a request joining the bulkhead's queue now would wait: the oldest waiter's age (0 at grant). */
  queueDelayMs: number;
  /** CPU the requests in the pipeline were admitted with and have not finished: Σ of their level's `cpuMs`. */
  inFlightCpuMs: number;
  /** Event-loop lag now: how far behind the loop is (0 where it is not measured). */
  loopLagMs: number;
  /** The lag that has lasted (core/resilience/loop-lag.ts): what each further step will wait. */
  standingLagMs: number;
}

export interface BrownoutSettings {
  /** Off: every admitted request runs `full`, and the bulkhead's refusals are 503s (the old behaviour). */
  enabled: boolean;
  /** The response budget: a request whose cheapest answer would come later than this is shed. */
  deadlineMs: number;
  /** The largest expected time to answer at which each pipeline level is still chosen. */
  maxDelayMs: Record<PipelineLevel, number>;
  /** Estimated CPU of one request at each level, ms (measured on the deployment's machine). */
  cpuMs: Record<BrownoutLevel, number>;
  /** Candidates at most at the `lean` level (the full pipeline's cap is RECLAB_CANDIDATES_MAX). */
  leanCandidates: number;
  /** `Retry-After` of a shed request, s. */
  retryAfterS: number;
}

const PIPELINE_LEVELS: readonly PipelineLevel[] = ['full', 'light', 'lean'];

/**
 * Turns of the event loop a pipeline request waits for after its first, one per sequential step
 * (user read, user tower, retrieval, enrichment, ranking, re-rank and reply): each continuation
 * queues behind whatever is ready then, so a request waits the standing lag about this many times,
 * where the popularity cache's answer (one synchronous turn) waits only the lag of now.
 */
export const PIPELINE_LOOP_TURNS = 6;

/**
 * The richest level whose expected time fits its bounds. What a request has already waited — for a
 * slot (`waited`) and behind the loop's lag now — is sunk: it counts only against the deadline.
 * What it will wait is judged per level:
 * - a pipeline level waits for a slot, then behind the CPU already admitted or behind the standing
 *   lag once per step (`PIPELINE_LOOP_TURNS`), whichever is larger (both estimate the waiting on
 *   the one event loop), then runs: `ahead = queueDelay + max(inFlightCpu, turns × standingLag) +
 *   cpuMs[level]`; chosen when `ahead ≤ maxDelayMs[level]` and `waited + loopLag + ahead ≤ deadlineMs`;
 * - `popularity` needs no slot and runs at once: `waited + loopLag + cpuMs.popularity ≤ deadlineMs`;
 * - otherwise `shed`.
 * With `enabled` false it answers `full` (admission then is the bulkhead's alone).
 * Pure: the same inputs always give the same decision.
 */
export function admissionDecision(signal: LoadSignal, s: BrownoutSettings): AdmissionDecision {
  if (!s.enabled) return 'full';
  const sunk = signal.waitedMs + signal.loopLagMs;
  const wait =
    signal.queueDelayMs + Math.max(signal.inFlightCpuMs, PIPELINE_LOOP_TURNS * signal.standingLagMs);
  for (const level of PIPELINE_LEVELS) {
    const ahead = wait + s.cpuMs[level];
    if (ahead <= s.maxDelayMs[level] && sunk + ahead <= s.deadlineMs) return level;
  }
  return popularityOrShed(signal, s);
}

/** `popularity` when the cache's answer still fits the deadline, else `shed`. */
export function popularityOrShed(signal: LoadSignal, s: BrownoutSettings): 'popularity' | 'shed' {
  return signal.waitedMs + signal.loopLagMs + s.cpuMs.popularity <= s.deadlineMs ? 'popularity' : 'shed';
}

/** The poorer of two decisions (the one later in ADMISSION_DECISIONS). */
export function poorer(a: AdmissionDecision, b: AdmissionDecision): AdmissionDecision {
  return ADMISSION_DECISIONS.indexOf(a) >= ADMISSION_DECISIONS.indexOf(b) ? a : b;
}
