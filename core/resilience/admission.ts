import { ERRORS, type ReclabError, RetryableError } from '../errors.ts';
import {
  ADMISSION_DECISIONS,
  type AdmissionDecision,
  admissionDecision,
  type BrownoutSettings,
  type LoadSignal,
  type PipelineLevel,
  poorer,
  popularityOrShed,
} from './brownout.ts';
import type { Bulkhead } from './bulkhead.ts';
import { type LagSource, NO_LAG } from './loop-lag.ts';

/** What admission granted one request. */
export type Admission =
  | {
      /** Runs the pipeline at this level; holds a bulkhead slot until `release()`. */
      decision: PipelineLevel;
      /** Time spent waiting for the slot, ms. */
      waitedMs: number;
      /** Call exactly once when the request ends (later calls do nothing). */
      release: () => void;
    }
  | { decision: 'popularity'; waitedMs: number; release: () => void }
  | { decision: 'shed'; waitedMs: number; error: RetryableError };

export interface AdmissionStats {
  /** Decisions since start, by decision. */
  decisions: Record<AdmissionDecision, number>;
  /** CPU the requests in the pipeline were admitted with, ms (the policy's `inFlightCpuMs`). */
  inFlightCpuMs: number;
}

const NOTHING = () => {};

/** The bulkhead's own words for a refusal (its message without the code's). */
function detailOf(err: ReclabError): string {
  const prefix = `${ERRORS.RECLAB_ERR_OVERLOADED.message}: `;
  return err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
}

/**
 * The core's admission controller (issue 10, "Brownout before shedding"): the bulkhead with its
 * CoDel-style shedding (core/resilience/bulkhead.ts) and the brownout policy
 * (core/resilience/brownout.ts) together. Per request it reads the load signal — the bulkhead's
 * queueing delay, the CPU admitted and not yet finished, the event-loop lag (`lag`, none when not
 * measured) — and decides at arrival; a request that had to queue is decided again when it gets
 * its slot, with the time it waited, and never gets a richer level than at arrival. Where the
 * bulkhead would refuse (queue full, or shedding) the request is served from the popularity cache
 * unless even that would miss the deadline. With brownout off it is the bulkhead alone: `full`, or
 * `shed` when refused.
 *
 * Time only through the bulkhead's clock and `lag`; no I/O: the simulator's replicas run it.
 */
export class AdmissionController {
  readonly bulkhead: Bulkhead;
  readonly settings: Readonly<BrownoutSettings>;
  readonly #lag: LagSource;
  #inFlightCpuMs = 0;
  readonly #decisions = Object.fromEntries(ADMISSION_DECISIONS.map((d) => [d, 0])) as Record<
    AdmissionDecision,
    number
  >;

  constructor(bulkhead: Bulkhead, settings: Readonly<BrownoutSettings>, lag: LagSource = NO_LAG) {
    this.bulkhead = bulkhead;
    this.settings = settings;
    this.#lag = lag;
  }

  stats(): AdmissionStats {
    return { decisions: { ...this.#decisions }, inFlightCpuMs: this.#inFlightCpuMs };
  }

  /** Admission as a Promise (never rejects: a refusal is `decision: 'shed'`). */
  acquire(): Promise<Admission> {
    return new Promise((resolve) => this.admit(resolve));
  }

  /**
   * Admission in callback form, the one implementation (the simulator calls it directly): `grant`
   * is called exactly once — synchronously unless the request waits in the bulkhead's queue.
   */
  admit(grant: (a: Admission) => void): void {
    const s = this.settings;
    if (!s.enabled) {
      const refused = this.bulkhead.tryAcquire((release, waitedMs) =>
        this.#run(grant, 'full', waitedMs, release),
      );
      if (refused) this.#serveCheap(grant, 'shed', 0, detailOf(refused));
      return;
    }
    const atArrival = admissionDecision(this.#signal(0, this.bulkhead.queueDelayMs()), s);
    if (atArrival === 'popularity' || atArrival === 'shed') {
      this.#serveCheap(grant, atArrival, 0);
      return;
    }
    const refused = this.bulkhead.tryAcquire((release, waitedMs) => {
      const decision =
        waitedMs > 0 ? poorer(atArrival, admissionDecision(this.#signal(waitedMs, 0), s)) : atArrival;
      if (decision === 'popularity' || decision === 'shed') {
        release();
        this.#serveCheap(grant, decision, waitedMs);
      } else this.#run(grant, decision, waitedMs, release);
    });
    // Queue full or a standing queue (CoDel): no slot soon; the cache answers if it still can.
    if (refused) this.#serveCheap(grant, popularityOrShed(this.#signal(0, 0), s), 0, detailOf(refused));
  }

  #signal(waitedMs: number, queueDelayMs: number): LoadSignal {
    return {
      waitedMs,
      queueDelayMs,
      inFlightCpuMs: this.#inFlightCpuMs,
      loopLagMs: this.#lag.lagMs(),
      standingLagMs: this.#lag.standingLagMs(),
    };
  }

  #run(grant: (a: Admission) => void, decision: PipelineLevel, waitedMs: number, release: () => void): void {
    this.#decisions[decision]++;
    const cpuMs = this.settings.enabled ? this.settings.cpuMs[decision] : 0;
    this.#inFlightCpuMs += cpuMs;
    let released = false;
    grant({
      decision,
      waitedMs,
      release: () => {
        if (released) return;
        released = true;
        this.#inFlightCpuMs -= cpuMs;
        release();
      },
    });
  }

  #serveCheap(
    grant: (a: Admission) => void,
    decision: 'popularity' | 'shed',
    waitedMs: number,
    detail?: string,
  ): void {
    this.#decisions[decision]++;
    if (decision === 'popularity') {
      grant({ decision, waitedMs, release: NOTHING });
      return;
    }
    const why =
      detail ?? `even the popularity cache would answer after the ${this.settings.deadlineMs} ms deadline`;
    grant({
      decision,
      waitedMs,
      error: new RetryableError('RECLAB_ERR_OVERLOADED', this.settings.retryAfterS, why),
    });
  }
}
