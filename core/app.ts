import Fastify, { type FastifyInstance, type FastifyReply, LogController } from 'fastify';
import type { Core } from './compose.ts';
import { ReclabError, RetryableError } from './errors.ts';
import { parseVideoIndex, videoIdOf } from './features/ids.ts';
import { DEVICES, REGIONS, VIDEO_FEATURE_DIM, VIDEO_RECORD, videoModelInput } from './features/schema.ts';
import { type AdminAccess, adminGuard } from './http/admin-access.ts';
import {
  type BoundedSchema,
  eventBatchJsonSchema,
  maxJsonBytes,
  NO_BODY_LIMIT_BYTES,
} from './http/body-limits.ts';
import { clientErrorHandler, httpLayerError } from './http/http-errors.ts';
import { ADMIN_SECURITY, registerOpenApi } from './http/openapi.ts';
import {
  DEFAULT_RETRY_AFTER_S,
  PROBLEM_CONTENT_TYPE,
  type ProblemDetails,
  problem,
  problemHeaders,
  problemOf,
} from './http/problem.ts';
import {
  activateBody,
  eventBatchBody,
  eventsResponse,
  faultBody,
  faultListResponse,
  faultSetResponse,
  faultsRemovedResponse,
  faultTargetParams,
  freshVideosBody,
  freshVideosResponse,
  healthResponse,
  metricsResponse,
  modelsResponse,
  openApiResponse,
  problemResponses,
  problemSchema,
  readyResponses,
  recommendationBody,
  recommendationResponse,
  swapResponse,
} from './http/route-schemas.ts';
import {
  DEFAULT_SERVER_TIMEOUTS,
  type ServerTimeouts,
  serverTimeoutOptions,
} from './http/server-timeouts.ts';
import { holdUnusedConnections } from './http/unused-connections.ts';
import { listVersions } from './registry/model-registry.ts';
import { indexFreshUploads, type SwappableModelSet, type SwapRecord } from './registry/model-slots.ts';
import type { ActiveFault, FaultInjector } from './resilience/fault-injection.ts';
import { serveRecommendation } from './serve.ts';
import type { StreamEvent } from './streaming/events.ts';

interface RecommendationBody {
  user_id: string;
  count: number;
  context?: { region?: (typeof REGIONS)[number]; device?: (typeof DEVICES)[number]; time?: string };
}

/** A swap record as the admin API shows it (snake_case, ISO time). */
function swapView(s: SwapRecord) {
  return {
    kind: s.kind,
    from: s.from,
    to: s.to,
    load_ms: s.loadMs,
    warm_ms: s.warmMs,
    swap_ms: s.swapMs,
    at: new Date(s.atMs).toISOString(),
    ...(s.fresh ? { fresh_carried: s.fresh.videos, fresh_ms: s.fresh.ms } : {}),
  };
}

interface FaultBody {
  kind: 'delay' | 'error';
  delay_ms?: number;
  ratio?: number;
  for_ms?: number;
}

/**
 * Each route's body limit, bytes: the largest body its schema admits as compact JSON
 * (core/http/body-limits.ts); routes without a body take NO_BODY_LIMIT_BYTES.
 */
export const BODY_LIMITS = Object.freeze({
  recommendations: maxJsonBytes(recommendationBody as BoundedSchema),
  freshVideos: maxJsonBytes(freshVideosBody as BoundedSchema),
  events: maxJsonBytes(eventBatchJsonSchema),
  activate: maxJsonBytes(activateBody as BoundedSchema),
  faults: maxJsonBytes(faultBody as BoundedSchema),
  noBody: NO_BODY_LIMIT_BYTES,
});

/**
 * Builds the HTTP app of a core made by `createCore` (core/compose.ts); never listens: core/main.ts
 * does, tests use `inject()`. GET /metrics exists when the core has metrics, POST /v1/events when it
 * has an event log.
 *
 * Routes:
 * - `POST /v1/recommendations` `{user_id, count?, context?: {region?, device?, time?}}` →
 *   200 `{items: [{video_id, score, source, exploration?}], meta: {impression_id, rung, reasons,
 *   timings_ms, model_version, experiment, experiments, candidates}}`; 400 RECLAB_ERR_REQUEST_INVALID;
 *   503 RECLAB_ERR_NOT_READY.
 *   Dependency failures never produce a 5xx: they step down the fallback ladder (`meta.rung`).
 *   Each request takes one model set once (`acquire()`) and uses only it: the set its experiment
 *   variant pins (`core.pinned`), else the active one. The route parses and validates; the
 *   rest is `serveRecommendation` (core/serve.ts), which also answers 503 RECLAB_ERR_OVERLOADED
 *   when admission refuses the request.
 * - `GET /healthz` liveness; `GET /readyz` readiness with breaker states and model versions (503
 *   with `Retry-After` while starting or draining).
 * - `POST /v1/events` `[event, …]` (1..500; core/streaming/events.ts) → 202 `{accepted}`; 400
 *   RECLAB_ERR_EVENT_INVALID; 503 RECLAB_ERR_EVENTS_UNAVAILABLE / _BACKLOG_FULL.
 * - `GET /openapi.json`: this API as OpenAPI 3.1 (core/http/openapi.ts, docs/openapi.json).
 * - `GET /admin/models`, `POST /admin/models/activate {version}`, `POST /admin/models/rollback`:
 *   blue/green model swap (seed 000 §7; docs/configuration.md). Errors by code:
 *   RECLAB_ERR_MODEL_VERSION_UNKNOWN 404, RECLAB_ERR_MODEL_REGISTRY_UNSET 409,
 *   RECLAB_ERR_MODEL_SWAP_IN_PROGRESS 409, RECLAB_ERR_MODEL_NO_PREVIOUS 409,
 *   RECLAB_ERR_MODEL_LOAD_FAILED 500.
 * - `GET /admin/faults`, `PUT /admin/faults/:target {kind: delay|error, delay_ms?, ratio?, for_ms?}`,
 *   `DELETE /admin/faults[/:target]`: fault injection at a dependency (`deps.faults`); 404
 *   RECLAB_ERR_FAULT_INJECTION_OFF when the core runs without it.
 * - `/admin/*` and `POST /v1/videos/fresh` answer 401 RECLAB_ERR_ADMIN_UNAUTHORIZED with
 *   `WWW-Authenticate: Bearer` unless `opts.admin` lets the caller in (default: closed).
 * - Every route has a body limit (BODY_LIMITS, 413 RECLAB_ERR_BODY_TOO_LARGE) and the server has
 *   timeouts (`opts.timeouts`, 408 RECLAB_ERR_REQUEST_TIMEOUT); the HTTP layer's own refusals carry
 *   the core's codes with their own status (core/http/http-errors.ts, docs/errors.md).
 * - Every route has request and response schemas (core/http/route-schemas.ts); every error answer
 *   is RFC 9457 problem details, `application/problem+json` (core/http/problem.ts), a 503 with
 *   `Retry-After` and a 401 with `WWW-Authenticate`.
 */
export function buildApp(
  core: Core<SwappableModelSet>,
  opts: {
    logLevel?: string;
    /** Who may call /admin/* and POST /v1/videos/fresh (core/http/admin-access.ts); default closed. */
    admin?: AdminAccess;
    /** Server timeouts; default DEFAULT_SERVER_TIMEOUTS (RECLAB_HTTP_*_MS). */
    timeouts?: ServerTimeouts;
    registryDir?: string;
  } = {},
): FastifyInstance {
  const { deps, models, breakers, lifecycle } = core;
  const timeouts = opts.timeouts ?? DEFAULT_SERVER_TIMEOUTS;
  const app = Fastify({
    // Logs go to stderr: stdout carries the core's one machine-readable `listening` line.
    logger: { level: opts.logLevel ?? 'info', stream: process.stderr },
    // Per-request log lines at thousands of requests per second would cost more than the pipeline.
    logController: new LogController({ disableRequestLogging: true }),
    // Routes with a body set their own limit (BODY_LIMITS); this one is for all others.
    bodyLimit: BODY_LIMITS.noBody,
    ...serverTimeoutOptions(timeouts),
    // On close, idle keep-alive sockets are closed at once (not after keepAliveTimeout); sockets
    // busy with a request close after its reply (see the draining hook below).
    forceCloseConnections: 'idle',
    clientErrorHandler,
    // The router's refusals (a malformed URL, an over-long path parameter) go through the error table.
    frameworkErrors: (err, _req, reply) => sendError(reply, err),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
  });
  // A connection that has not sent a request is idle: closed quietly after the keep-alive timeout,
  // not answered 408 at the request timeout (core/http/unused-connections.ts).
  holdUnusedConnections(app.server, timeouts);
  /** Every error answer: problem details (core/http/problem.ts), with Retry-After or WWW-Authenticate. */
  const sendProblem = (reply: FastifyReply, body: ProblemDetails, err?: ReclabError) => {
    for (const [name, value] of Object.entries(problemHeaders(body.code, err))) {
      if (!reply.hasHeader(name)) reply.header(name, value);
    }
    return reply.status(body.status).type(PROBLEM_CONTENT_TYPE).send(body);
  };
  const sendError = (reply: FastifyReply, err: unknown) => {
    const known = httpLayerError(err);
    if (known) return sendProblem(reply, problemOf(known), known);
    app.log.error({ err }, 'unhandled error');
    return sendProblem(reply, problem('RECLAB_ERR_INTERNAL'));
  };
  app.setErrorHandler((err, _req, reply) => sendError(reply, err));
  // Bodies are JSON only: any other media type is 415 RECLAB_ERR_MEDIA_TYPE_UNSUPPORTED.
  app.removeContentTypeParser('text/plain');
  // HTTP/1.1 requires Host (RFC 9112 §3.2): 400 with the core's code rather than Node's empty one.
  app.addHook('onRequest', async (req) => {
    if (req.raw.httpVersion === '1.1' && req.headers.host === undefined) {
      throw new ReclabError('RECLAB_ERR_REQUEST_MALFORMED', 'an HTTP/1.1 request needs a Host header');
    }
  });
  const guard = adminGuard(opts.admin ?? 'closed');
  app.setNotFoundHandler((req, reply) =>
    sendProblem(reply, problem('RECLAB_ERR_ROUTE_NOT_FOUND', `${req.method} ${req.url}`)),
  );

  // While draining, every reply ends its connection: a client on a keep-alive socket reconnects
  // (to another instance) instead of holding a socket the closing server waits for.
  app.addHook('onSend', async (_req, reply) => {
    if (lifecycle.draining) reply.header('connection', 'close');
  });

  const rungOf = new WeakMap<object, string>();
  const { metrics, events } = core;
  if (metrics) {
    app.addHook('onResponse', async (req, reply) => {
      metrics.requestSeconds.observe(
        {
          route: req.routeOptions.url ?? 'unmatched',
          status: String(reply.statusCode),
          rung: rungOf.get(req) ?? 'none',
        },
        reply.elapsedTime / 1000,
      );
    });
  }

  // The OpenAPI document hears every route added after it (core/http/openapi.ts), so the routes
  // are added in a plugin registered after it; the hooks and handlers above apply to them all.
  registerOpenApi(app);
  app.addSchema(problemSchema);
  app.register(async (api) => {
    api.get(
      '/openapi.json',
      {
        schema: {
          summary: 'This API (OpenAPI 3.1)',
          response: { 200: openApiResponse, ...problemResponses([]) },
        },
      },
      async () => api.swagger(),
    );

    if (metrics) {
      api.get(
        '/metrics',
        {
          schema: {
            summary: 'Prometheus metrics',
            response: { 200: metricsResponse, ...problemResponses([]) },
          },
        },
        async (_req, reply) => {
          metrics.setBreakers(breakers.all().map((b) => ({ name: b.name, ...b.snapshot() })));
          metrics.setImpressions({ ...deps.impressions.stats() });
          return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
        },
      );
    }

    api.get(
      '/healthz',
      { schema: { summary: 'Liveness', response: { 200: healthResponse, ...problemResponses([]) } } },
      async () => ({ status: 'ok' }),
    );
    api.get(
      '/readyz',
      {
        schema: {
          summary: 'Readiness: breaker states, model versions, the impression and event logs',
          response: { ...problemResponses([]), ...readyResponses },
        },
      },
      async (_req, reply) => {
        const ok = lifecycle.ready && !lifecycle.draining;
        const body = {
          status: ok ? 'ready' : 'not_ready',
          draining: lifecycle.draining,
          breakers: Object.fromEntries(breakers.all().map((b) => [b.name, b.state])),
          popularity_cache_size: deps.popularity.size,
          impressions: deps.impressions.stats(),
          events: core.events?.stats?.() ?? null,
          model_version: models.active.modelVersion,
          model_standby: models.standby?.modelVersion ?? null,
        };
        if (!ok) reply.header('retry-after', String(DEFAULT_RETRY_AFTER_S));
        return reply.status(ok ? 200 : 503).send(body);
      },
    );

    api.post<{ Body: RecommendationBody }>(
      '/v1/recommendations',
      {
        schema: {
          summary: 'A page of recommendations for a user',
          body: recommendationBody,
          response: {
            200: recommendationResponse,
            ...problemResponses(
              ['RECLAB_ERR_REQUEST_INVALID', 'RECLAB_ERR_NOT_READY', 'RECLAB_ERR_OVERLOADED'],
              {
                body: true,
              },
            ),
          },
        },
        bodyLimit: BODY_LIMITS.recommendations,
        // The hot route's answers go out through JSON.stringify, not the serializer Fastify would
        // compile from the response schema (fast-json-stringify): the bytes are the same (every
        // body is built whole, in the schema's order: test/unit/response-serialisation.test.ts), and
        // under load in the core the compiled serializer cost about twice JSON.stringify's CPU and
        // more garbage (profiles in docs/performance.md). The schema still documents the route.
        serializerCompiler: () => stringifyJson,
      },
      async (req, reply) => {
        const { user_id, count, context } = req.body;
        const res = await serveRecommendation(core, {
          userId: user_id,
          count,
          regionIdx: context?.region ? REGIONS.indexOf(context.region) : undefined,
          deviceIdx: context?.device ? DEVICES.indexOf(context.device) : undefined,
        });
        if (!res.ok)
          return reply.status(res.status).headers(res.headers).type(PROBLEM_CONTENT_TYPE).send(res.body);
        rungOf.set(req, res.body.meta.rung);
        return reply.send(res.body);
      },
    );

    // Fresh uploads (seed 000 §7): the uploader has written the videos' records to the feature store;
    // the core embeds them with the active version's item tower into its fresh index, from where
    // two-tower retrieval finds them at once. The fresh index keeps their item-tower input, so a
    // swapped-in version starts with the same fresh videos, re-embedded by its own tower
    // (core/registry/model-slots.ts); the standby set indexes them too, for a rollback.
    api.post<{ Body: { video_ids: string[] } }>(
      '/v1/videos/fresh',
      {
        schema: {
          summary: 'Index freshly uploaded videos',
          security: ADMIN_SECURITY,
          body: freshVideosBody,
          response: {
            202: freshVideosResponse,
            ...problemResponses(
              ['RECLAB_ERR_REQUEST_INVALID', 'RECLAB_ERR_ADMIN_UNAUTHORIZED', 'RECLAB_ERR_ARTIFACT_INVALID'],
              { body: true },
            ),
          },
        },
        bodyLimit: BODY_LIMITS.freshVideos,
        onRequest: guard,
      },
      async (req, reply) => {
        const videos = req.body.video_ids.map(parseVideoIndex);
        const bad = req.body.video_ids.filter((_, i) => videos[i] < 0);
        if (bad.length > 0)
          throw new ReclabError('RECLAB_ERR_REQUEST_INVALID', `not video ids: ${bad.join(', ')}`);
        const lease = models.acquire();
        try {
          const { fresh, itemEncoder } = lease.models;
          if (!fresh || !itemEncoder)
            throw new ReclabError('RECLAB_ERR_ARTIFACT_INVALID', 'this model set has no item tower');
          const records = await deps.features.getVideos(videos);
          const found = videos.filter((_, i) => records[i] !== undefined);
          const input = new Float32Array(found.length * VIDEO_FEATURE_DIM);
          const nowS = deps.clock.now() / 1000;
          let row = 0;
          records.forEach((r) => {
            if (r) videoModelInput(r, nowS, input, row++ * VIDEO_FEATURE_DIM);
          });
          if (found.length > 0) await indexFreshUploads(models, lease.models, found, input);
          // Each upload also joins its creator's recent uploads (creator and time from its record), so
          // followers' subscription retrieval finds it at once. A failed write is logged and reported
          // as `subscriptions: 0`: the fresh index holds the videos already.
          let subscriptions = 0;
          if (core.uploads && found.length > 0) {
            const uploads = records.flatMap((r, i) =>
              r
                ? [
                    {
                      video: videos[i],
                      creator: r[VIDEO_RECORD.creator],
                      uploadTsS: r[VIDEO_RECORD.uploadTsS],
                    },
                  ]
                : [],
            );
            try {
              subscriptions = await core.uploads.addUploads(uploads);
            } catch (err) {
              req.log.warn({ err }, 'fresh uploads not added to their creators');
            }
          }
          const missing = videos.filter((_, i) => records[i] === undefined).map(videoIdOf);
          return reply.status(202).send({
            indexed: found.length,
            missing,
            subscriptions,
            model_version: lease.models.modelVersion,
          });
        } finally {
          lease.release();
        }
      },
    );

    if (events) {
      // Body: a JSON array of 1..500 events (core/streaming/events.ts), validated by the route's
      // schema; all or nothing. 202 once every event is on Kafka or in the disk spool; a 503 carries
      // Retry-After, and sending the same events again is safe (the consumer deduplicates by
      // event_id; docs/streaming.md, "Retry contract").
      api.post<{ Body: StreamEvent[] }>(
        '/v1/events',
        {
          schema: {
            summary: 'Ingest user events (watch, click, like, impression)',
            body: eventBatchBody,
            response: {
              202: eventsResponse,
              ...problemResponses(
                [
                  'RECLAB_ERR_EVENT_INVALID',
                  'RECLAB_ERR_EVENTS_UNAVAILABLE',
                  'RECLAB_ERR_EVENTS_BACKLOG_FULL',
                ],
                { body: true },
              ),
            },
          },
          // A batch that fails the schema is RECLAB_ERR_EVENT_INVALID, not the generic REQUEST_INVALID.
          attachValidation: true,
          bodyLimit: BODY_LIMITS.events,
        },
        async (req, reply) => {
          if (req.validationError)
            throw new ReclabError('RECLAB_ERR_EVENT_INVALID', req.validationError.message);
          // The schema checked each event's shape once; what it cannot say (a video id past
          // v_2147483647) is checked here, in the same pass that keeps the known fields.
          const body = req.body;
          const batch = new Array<StreamEvent>(body.length);
          for (let i = 0; i < body.length; i++) {
            if (parseVideoIndex(body[i].video_id) < 0) {
              throw new ReclabError('RECLAB_ERR_EVENT_INVALID', `body/${i}/video_id is not a video id`);
            }
            batch[i] = knownEventFields(body[i]);
          }
          try {
            await events.publish(batch);
          } catch (err) {
            throw err instanceof ReclabError
              ? err
              : new RetryableError('RECLAB_ERR_EVENTS_UNAVAILABLE', 1, (err as Error).message, {
                  cause: err,
                });
          }
          return reply.status(202).send({ accepted: batch.length });
        },
      );
    }

    api.register(
      async (admin) => {
        admin.addHook('onRequest', guard);
        // Fault injection (core/resilience/fault-injection.ts): present only with RECLAB_FAULT_INJECTION=on.
        const faults = (): FaultInjector => {
          if (!deps.faults) throw new ReclabError('RECLAB_ERR_FAULT_INJECTION_OFF');
          return deps.faults;
        };
        const faultView = (f: ActiveFault) => ({
          target: f.target,
          kind: f.kind,
          delay_ms: f.delayMs ?? null,
          ratio: f.ratio ?? 1,
          for_ms: f.forMs ?? null,
          since: new Date(f.sinceMs).toISOString(),
          hits: f.hits,
        });
        const adminSchema = (
          summary: string,
          ok: object,
          codes: Parameters<typeof problemResponses>[0],
          body = false,
        ) => ({
          summary,
          security: ADMIN_SECURITY,
          response: {
            200: ok,
            ...problemResponses(['RECLAB_ERR_ADMIN_UNAUTHORIZED', ...codes], { body }),
          },
        });
        const faultCodes = ['RECLAB_ERR_FAULT_INJECTION_OFF'] as const;
        admin.get(
          '/faults',
          { schema: adminSchema('The injected faults', faultListResponse, faultCodes) },
          async () => ({
            faults: faults().list().map(faultView),
          }),
        );
        admin.put<{ Params: { target: string }; Body: FaultBody }>(
          '/faults/:target',
          {
            schema: {
              ...adminSchema(
                'Inject a fault at a dependency',
                faultSetResponse,
                [...faultCodes, 'RECLAB_ERR_REQUEST_INVALID', 'RECLAB_ERR_URL_TOO_LONG'],
                true,
              ),
              params: faultTargetParams,
              body: faultBody,
            },
            bodyLimit: BODY_LIMITS.faults,
          },
          async (req) => {
            const b = req.body;
            const spec = { kind: b.kind, delayMs: b.delay_ms, ratio: b.ratio, forMs: b.for_ms };
            return { fault: faultView(faults().set(req.params.target, spec)) };
          },
        );
        admin.delete<{ Params: { target: string } }>(
          '/faults/:target',
          {
            schema: {
              ...adminSchema('Remove the fault at a dependency', faultsRemovedResponse, [
                ...faultCodes,
                'RECLAB_ERR_URL_TOO_LONG',
              ]),
              params: faultTargetParams,
            },
          },
          async (req) => ({ removed: faults().clear(req.params.target) }),
        );
        admin.delete(
          '/faults',
          { schema: adminSchema('Remove every fault', faultsRemovedResponse, faultCodes) },
          async () => ({ removed: faults().clear() }),
        );
        admin.get(
          '/models',
          { schema: adminSchema('The model slots and the registry', modelsResponse, []) },
          async () => {
            const s = models.status();
            const registry = opts.registryDir ? await listVersions(opts.registryDir) : [];
            return {
              active: s.active,
              standby: s.standby,
              swapping: s.swapping,
              swap_count: s.swapCount,
              swaps: s.swaps.map(swapView),
              registry_dir: opts.registryDir ?? null,
              registry: registry.map((c) => ({
                version: c.modelVersion,
                created_at: c.createdAt,
                seed: c.training.seed,
                world_hash: c.training.worldHash,
                metrics: c.metrics,
              })),
            };
          },
        );
        admin.post<{ Body: { version: string } }>(
          '/models/activate',
          {
            schema: {
              ...adminSchema(
                'Load, warm and swap in a registry version (blue/green)',
                swapResponse,
                [
                  'RECLAB_ERR_REQUEST_INVALID',
                  'RECLAB_ERR_MODEL_VERSION_UNKNOWN',
                  'RECLAB_ERR_MODEL_REGISTRY_UNSET',
                  'RECLAB_ERR_MODEL_SWAP_IN_PROGRESS',
                  'RECLAB_ERR_MODEL_LOAD_FAILED',
                ],
                true,
              ),
              body: activateBody,
            },
            bodyLimit: BODY_LIMITS.activate,
          },
          async (req) => {
            const swap = await models.activate(req.body.version);
            return { swap: swapView(swap), active: models.active.modelVersion };
          },
        );
        admin.post(
          '/models/rollback',
          {
            schema: adminSchema('Swap the previous version back in', swapResponse, [
              'RECLAB_ERR_MODEL_NO_PREVIOUS',
              'RECLAB_ERR_MODEL_SWAP_IN_PROGRESS',
            ]),
          },
          async () => {
            const swap = models.rollback();
            return { swap: swapView(swap), active: models.active.modelVersion };
          },
        );
      },
      { prefix: '/admin' },
    );
  });
  return app;
}

/** A response serializer that is JSON.stringify (see the recommendations route). */
function stringifyJson(data: unknown): string {
  return JSON.stringify(data);
}

/**
 * The fields of an event the core keeps, in the order of core/streaming/events.ts's schema; others
 * are dropped (forward compatibility), as the zod schema does.
 */
function knownEventFields(e: StreamEvent): StreamEvent {
  // One object per event, its members added in the schema's order (no spread of temporaries).
  const out = { event_id: e.event_id, type: e.type, user_id: e.user_id, video_id: e.video_id } as StreamEvent;
  if (e.region !== undefined) out.region = e.region;
  if (e.watch_time_s !== undefined) out.watch_time_s = e.watch_time_s;
  out.timestamp_ms = e.timestamp_ms;
  return out;
}
