import Fastify, { type FastifyInstance } from 'fastify';
import { ERRORS, ReclabError } from './errors.ts';
import { DEVICES, REGIONS } from './features/schema.ts';
import { type Breakers, type PipelineConfig, type PipelineDeps, recommend } from './pipeline/recommend.ts';

/** What the app reports at /readyz and uses to refuse work while starting or stopping. */
export interface Lifecycle {
  ready: boolean;
  draining: boolean;
}

const recommendationBody = {
  type: 'object',
  required: ['user_id'],
  additionalProperties: false,
  properties: {
    user_id: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$' },
    count: { type: 'integer', minimum: 1, maximum: 100, default: 30 },
    context: {
      type: 'object',
      additionalProperties: false,
      properties: {
        region: { type: 'string', enum: [...REGIONS] },
        device: { type: 'string', enum: [...DEVICES] },
        time: { type: 'string', format: 'date-time' },
      },
    },
  },
} as const;

interface RecommendationBody {
  user_id: string;
  count: number;
  context?: { region?: (typeof REGIONS)[number]; device?: (typeof DEVICES)[number]; time?: string };
}

function errorBody(code: keyof typeof ERRORS, message: string) {
  return { error: { code, message } };
}

/**
 * Builds the serving core's HTTP app (never listens: core/main.ts does, tests use `inject()`).
 *
 * Routes:
 * - `POST /v1/recommendations` `{user_id, count?, context?: {region?, device?, time?}}` →
 *   200 `{items: [{video_id, score, source}], meta: {impression_id, rung, reasons, timings_ms,
 *   model_version, experiment, candidates}}`; 400 RECLAB_ERR_REQUEST_INVALID; 503 RECLAB_ERR_NOT_READY.
 *   Dependency failures never produce a 5xx: they step down the fallback ladder (`meta.rung`).
 * - `GET /healthz` liveness; `GET /readyz` readiness with breaker states.
 */
export function buildApp(
  deps: PipelineDeps,
  cfg: PipelineConfig,
  breakers: Breakers,
  lifecycle: Lifecycle,
  opts: { logLevel?: string } = {},
): FastifyInstance {
  const app = Fastify({
    logger: { level: opts.logLevel ?? 'info' },
    // Per-request log lines at thousands of requests per second would cost more than the pipeline.
    disableRequestLogging: true,
    bodyLimit: 16 * 1024, // 16 KiB: a recommendation request is a few hundred bytes
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
  });

  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof ReclabError) return reply.status(err.status).send(errorBody(err.code, err.message));
    const e = err as { validation?: unknown; statusCode?: number; message: string };
    if (e.validation || (e.statusCode && e.statusCode >= 400 && e.statusCode < 500)) {
      return reply.status(400).send(errorBody('RECLAB_ERR_REQUEST_INVALID', e.message));
    }
    app.log.error({ err }, 'unhandled error');
    return reply.status(500).send(errorBody('RECLAB_ERR_INTERNAL', ERRORS.RECLAB_ERR_INTERNAL.message));
  });
  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send(errorBody('RECLAB_ERR_ROUTE_NOT_FOUND', `${req.method} ${req.url}`)),
  );

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const ok = lifecycle.ready && !lifecycle.draining;
    const body = {
      status: ok ? 'ready' : 'not_ready',
      draining: lifecycle.draining,
      breakers: Object.fromEntries(breakers.all().map((b) => [b.name, b.state])),
      popularity_cache_size: deps.popularity.size,
      impressions: deps.impressions.stats(),
      model_version: deps.ranker.modelVersion,
    };
    return reply.status(ok ? 200 : 503).send(body);
  });

  app.post<{ Body: RecommendationBody }>(
    '/v1/recommendations',
    { schema: { body: recommendationBody } },
    async (req, reply) => {
      if (!lifecycle.ready || lifecycle.draining) {
        return reply.status(503).send(errorBody('RECLAB_ERR_NOT_READY', ERRORS.RECLAB_ERR_NOT_READY.message));
      }
      const { user_id, count, context } = req.body;
      return recommend(deps, cfg, breakers, {
        userId: user_id,
        count,
        regionIdx: context?.region ? REGIONS.indexOf(context.region) : undefined,
        deviceIdx: context?.device ? DEVICES.indexOf(context.device) : undefined,
      });
    },
  );
  return app;
}
