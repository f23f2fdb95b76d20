/**
 * One replica of the high-fidelity run (issue 13, `--fidelity high`): a real core built by the
 * composition root (core/compose.ts `createCore`) over simulated adapters (sim/hifi/sim-ports.ts),
 * serving through the transport-free path (core/serve.ts `serveRecommendation`): the real
 * `recommend()`, its admission, breakers, deadlines and ladder, on the virtual clock, building real
 * lists from the world's data and the real models.
 *
 * CPU on the replica's event loop (a FIFO server, as the fleet replica's): the request's parse
 * (`requestUs`) before the handler; the models' and Redis replies' costs where the ports are called;
 * the in-process stages between them (merge, enrichment, re-rank; or the popularity answer; or the
 * refusal) as one job after `recommend()` returns, before the response leaves. That last job is
 * the one place where the order differs from the live core's (those stages run before ranking
 * there), so a ranking deadline sees slightly less queueing than live. Admission reads the replica's
 * CPU backlog as its event-loop lag, as the fleet replica does.
 */
import type { Core } from '../../core/compose.ts';
import type { RecommendResult } from '../../core/pipeline/recommend.ts';
import { AdmissionController } from '../../core/resilience/admission.ts';
import { Bulkhead } from '../../core/resilience/bulkhead.ts';
import type { Rung } from '../../core/resilience/fallback-ladder.ts';
import { type ServeRequest, type ServingCore, serveRecommendation } from '../../core/serve.ts';
import type { FifoServer } from '../fleet/fifo-server.ts';
import type { RequestOutcome } from '../fleet/replica.ts';
import { cpuJob, type SimSite } from './sim-ports.ts';

/** What the run knows of a served list: its rung and its videos (catalogue indices, page order). */
export interface ServedList {
  userIdx: number;
  intendedUs: number;
  rung: Rung;
  videos: number[];
}

export interface HifiReplicaDeps {
  /** The replica's place in the fleet; the core's adapters were built over the same site. */
  site: SimSite;
  core: Core;
  /** The request a user sends (id, page size, region). */
  requestOf(userIdx: number): ServeRequest;
  gc?: { pauses: readonly { perRequest: number; pause: () => number }[]; draw: () => number };
  onOutcome(o: RequestOutcome): void;
  onServed(l: ServedList): void;
}

const POPULAR_RUNGS: ReadonlySet<string> = new Set(['popularity', 'editorial']);

export class HifiReplica {
  readonly cpuServer: FifoServer;
  /** Requests accepted and not yet answered (the least-outstanding balancer reads it). */
  outstanding = 0;
  readonly site: SimSite;
  readonly #d: HifiReplicaDeps;
  readonly #serving: ServingCore;

  constructor(d: HifiReplicaDeps) {
    this.#d = d;
    this.site = d.site;
    this.cpuServer = d.site.cpuServer;
    const backlogMs = () => this.cpuServer.backlogUs(d.site.scheduler.nowUs) / 1000;
    const { core } = d;
    this.#serving = {
      ...core,
      admission: new AdmissionController(
        new Bulkhead(core.clock, core.settings.bulkhead),
        core.settings.brownout,
        {
          lagMs: backlogMs,
          standingLagMs: backlogMs,
        },
      ),
    };
  }

  /**
   * The first error that escaped the serve path (a bug: recommend() answers every failure with a
   * rung); the run stops with it after the slice (simulate-high.ts).
   */
  failure: unknown;

  /** A request for user `userIdx` arriving now, intended at `intendedUs`. */
  handle(userIdx: number, intendedUs: number): void {
    this.outstanding++;
    this.#serve(userIdx, intendedUs).catch((err: unknown) => {
      this.failure ??= err;
    });
  }

  async #serve(userIdx: number, intendedUs: number): Promise<void> {
    const { site } = this;
    const cpu = site.cpu;
    await cpuJob(site, cpu.request());
    const res = await serveRecommendation(this.#serving, this.#d.requestOf(userIdx));
    if (!res.ok) {
      await cpuJob(site, cpu.reject());
      this.#finish({ intendedUs, doneUs: site.scheduler.nowUs, status: 503, rung: undefined, reasons: [] });
      return;
    }
    const body: RecommendResult = res.body;
    const { rung, reasons, candidates } = body.meta;
    const rowShare = Math.min(1, candidates.ranked / site.candidates);
    await cpuJob(
      site,
      POPULAR_RUNGS.has(rung)
        ? cpu.popularity()
        : cpu.merge() + cpu.enrichment() * rowShare + cpu.rerank() * rowShare,
    );
    this.#finish({ intendedUs, doneUs: site.scheduler.nowUs, status: 200, rung, reasons });
    this.#d.onServed({
      userIdx,
      intendedUs,
      rung,
      videos: body.items.map((i) => Number(i.video_id.slice(2))),
    });
  }

  #finish(o: RequestOutcome): void {
    this.outstanding--;
    const { gc } = this.#d;
    if (gc) {
      // As the fleet replica: this request's allocation may trigger a collection, a pause on the loop.
      for (const g of gc.pauses)
        if (gc.draw() < g.perRequest) this.cpuServer.submitFixed(this.site.scheduler.nowUs, g.pause());
    }
    this.#d.onOutcome(o);
  }
}
