/**
 * The transport-free serve path (issue 13, "A transport-free serve path"): everything that decides
 * a recommendation request besides parsing it — readiness, admission (bulkhead and shedding), A/B
 * assignment, the model set a variant pins, the model lease, the pipeline, the metrics of what was
 * served — in one function that answers without HTTP. The Fastify route (core/app.ts) calls it and
 * writes its answer; the simulator can call it the same way.
 */
import type { Core } from './compose.ts';
import { type ProblemDetails, problem, problemHeaders, problemOf } from './http/problem.ts';
import { assignExperiments } from './pipeline/experiments.ts';
import { type RecommendRequest, type RecommendResult, recommend } from './pipeline/recommend.ts';
import type { SwappableModelSet } from './registry/model-slots.ts';

/** What the core reports at /readyz and uses to refuse work while starting or stopping. */
export interface Lifecycle {
  ready: boolean;
  draining: boolean;
}

/** A request as the serve path takes it: validated, context resolved to indices. */
export type ServeRequest = Omit<RecommendRequest, 'assignments'>;

/**
 * The answer: status, body and the headers the transport must send with it. A refusal's body is
 * RFC 9457 problem details (core/http/problem.ts: `application/problem+json`, docs/errors.md) and
 * its headers carry `Retry-After`.
 */
export type ServeResponse =
  | { ok: true; status: 200; body: RecommendResult; headers: Readonly<Record<string, string>> }
  | { ok: false; status: number; body: ProblemDetails; headers: Readonly<Record<string, string>> };

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** The parts of a core the serve path uses. */
export type ServingCore = Pick<
  Core<SwappableModelSet>,
  'lifecycle' | 'admission' | 'settings' | 'models' | 'pinned' | 'deps' | 'breakers' | 'metrics'
>;

/**
 * Serves one recommendation request (seed 000 §1):
 * 1. not ready or draining → 503 RECLAB_ERR_NOT_READY with `Retry-After: 1`;
 * 2. admission (core/resilience/admission.ts): from the queueing delay and the CPU in flight it
 *    picks the request's level — `full`, or under load a cheaper one (light ranker, fewer
 *    candidates, the popularity cache: a brownout, reason RECLAB_ERR_OVERLOADED) — and only when
 *    even the popularity cache would miss the deadline refuses: 503 RECLAB_ERR_OVERLOADED with
 *    `Retry-After` (a refused request costs nothing further);
 * 3. A/B assignment (core/pipeline/experiments.ts): a variant may pin the model version;
 * 4. the request takes one model set (the pinned one, else the active one) for its whole life;
 * 5. `recommend()` (core/pipeline/recommend.ts): dependency failures step down the fallback ladder
 *    and never make a 5xx.
 * Resolves with the answer; throws only on a bug (the transport answers 500 RECLAB_ERR_INTERNAL).
 */
export async function serveRecommendation(core: ServingCore, req: ServeRequest): Promise<ServeResponse> {
  const { lifecycle, settings } = core;
  if (!lifecycle.ready || lifecycle.draining) {
    return {
      ok: false,
      status: 503,
      body: problem('RECLAB_ERR_NOT_READY', lifecycle.draining ? 'draining before a stop' : 'starting'),
      headers: problemHeaders('RECLAB_ERR_NOT_READY'),
    };
  }
  const admission = await core.admission.acquire();
  core.metrics?.admissions.inc({ decision: admission.decision });
  if (admission.decision === 'shed') {
    const { error } = admission;
    return {
      ok: false,
      status: error.status,
      body: problemOf(error),
      headers: problemHeaders(error.code, error),
    };
  }
  const cfg = settings.pipeline;
  // A/B assignment first: a variant may pin the model version that serves the request.
  const assignments = assignExperiments(req.userId, cfg.experiments, cfg.rankingWeights);
  const pinned = assignments.modelVersion ? core.pinned.get(assignments.modelVersion) : undefined;
  const lease = (pinned ?? core.models).acquire();
  try {
    const brownout = admission.decision === 'full' ? undefined : admission.decision;
    const result = await recommend(core.deps, lease.models, cfg, core.breakers, {
      ...req,
      assignments,
      brownout,
    });
    core.metrics?.observeRecommendation(result.meta.timings_ms, result.meta.reasons);
    return { ok: true, status: 200, body: result, headers: NO_HEADERS };
  } finally {
    lease.release();
    admission.release();
  }
}
