import Fastify, { type FastifyInstance, type FastifyRequest, LogController } from 'fastify';
import { ERRORS, type ErrorCode, ReclabError } from '../errors.ts';
import { RANKER_INPUT_DIM } from '../features/schema.ts';
import type { Predictions } from '../ports/ranker.ts';
import type { RankerTierMetrics } from './metrics.ts';
import type { LoadedModel, ModelSessions } from './model-sessions.ts';
import {
  CONTENT_TYPE,
  decodeRows,
  encodePredictions,
  HEADER_MODEL_VERSION,
  HEADER_ROWS,
} from './wire-format.ts';

/** What /healthz reports and what makes /v1/rank refuse work while stopping. */
export interface RankerTierLifecycle {
  draining: boolean;
}

export interface RankerTierAppOptions {
  logLevel?: string;
  /** Largest request accepted (rows); sets the body limit. Use the batch queue's limit. */
  maxRequestRows: number;
}

function errorBody(code: ErrorCode, message: string) {
  return { error: { code, message } };
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/**
 * The ranker tier's HTTP app (seed 000 §2.5 "Model Serving": the main ranker as its own inference
 * pool with dynamic batching, model warm-up and health checks). Never listens: main.ts does.
 *
 * Routes:
 * - `POST /v1/rank` — binary request and reply (core/ranker-tier/wire-format.ts): rows of
 *   RANKER_INPUT_DIM float32 for the version named by `x-reclab-model-version`, scored in a dynamic
 *   batch with other requests of that version. Errors `{"error": {"code", "message"}}`:
 *   400 RECLAB_ERR_REQUEST_INVALID (headers, size, content type), 404 RECLAB_ERR_MODEL_VERSION_UNKNOWN,
 *   500 RECLAB_ERR_MODEL_LOAD_FAILED, 503 RECLAB_ERR_RANKER_OVERLOADED (batch queue full),
 *   503 RECLAB_ERR_NOT_READY (draining), 503 RECLAB_ERR_RANKER_INVALID_OUTPUT, 500 RECLAB_ERR_INTERNAL.
 * - `GET /healthz` — 200 `{status: 'ok', models, queued_rows}`; 503 while draining.
 * - `GET /metrics` — Prometheus text (core/ranker-tier/metrics.ts).
 */
export function buildRankerTierApp(
  sessions: ModelSessions,
  metrics: RankerTierMetrics,
  lifecycle: RankerTierLifecycle,
  opts: RankerTierAppOptions,
): FastifyInstance {
  const app = Fastify({
    // Logs go to stderr: stdout carries the one machine-readable `listening` line.
    logger: { level: opts.logLevel ?? 'info', stream: process.stderr },
    logController: new LogController({ disableRequestLogging: true }),
  });
  const outcome = new WeakMap<FastifyRequest, string>();

  app.addContentTypeParser(CONTENT_TYPE, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof ReclabError) {
      outcome.set(req, err.code);
      return reply.status(err.status).send(errorBody(err.code, err.message));
    }
    const e = err as { validation?: unknown; statusCode?: number; message: string };
    if (e.validation || (e.statusCode && e.statusCode >= 400 && e.statusCode < 500)) {
      outcome.set(req, 'RECLAB_ERR_REQUEST_INVALID');
      return reply.status(400).send(errorBody('RECLAB_ERR_REQUEST_INVALID', e.message));
    }
    app.log.error({ err }, 'unhandled error');
    outcome.set(req, 'RECLAB_ERR_INTERNAL');
    return reply.status(500).send(errorBody('RECLAB_ERR_INTERNAL', ERRORS.RECLAB_ERR_INTERNAL.message));
  });
  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send(errorBody('RECLAB_ERR_ROUTE_NOT_FOUND', `${req.method} ${req.url}`)),
  );
  app.addHook('onResponse', async (req, reply) => {
    if (req.routeOptions.url !== '/v1/rank') return;
    const code = outcome.get(req) ?? (reply.statusCode === 200 ? 'ok' : `http_${reply.statusCode}`);
    metrics.requests.inc({ code });
    metrics.requestSeconds.observe({ code }, reply.elapsedTime / 1000);
  });

  app.get('/healthz', async (_req, reply) =>
    reply.status(lifecycle.draining ? 503 : 200).send({
      status: lifecycle.draining ? 'draining' : 'ok',
      models: sessions.versions(),
      queued_rows: sessions.queuedRows(),
    }),
  );
  app.get('/metrics', async (_req, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );

  app.post(
    '/v1/rank',
    { bodyLimit: Math.max(1024, opts.maxRequestRows * RANKER_INPUT_DIM * 4) },
    async (req, reply) => {
      if (lifecycle.draining) throw new ReclabError('RECLAB_ERR_NOT_READY', 'ranker tier is draining');
      const version = header(req, HEADER_MODEL_VERSION);
      if (!version)
        throw new ReclabError('RECLAB_ERR_REQUEST_INVALID', `${HEADER_MODEL_VERSION} is required`);
      if (!Buffer.isBuffer(req.body)) {
        throw new ReclabError('RECLAB_ERR_REQUEST_INVALID', `body must be ${CONTENT_TYPE}`);
      }
      const rows = Number(header(req, HEADER_ROWS));
      const features = decodeRows(req.body, rows, RANKER_INPUT_DIM);
      let model: LoadedModel = await sessions.get(version);
      let predictions: Predictions;
      try {
        predictions = await model.batcher.submit(features, rows);
      } catch (err) {
        // The model was evicted between lookup and submit (more versions in use than sessions):
        // look it up again, once.
        if (!(err instanceof ReclabError && err.code === 'RECLAB_ERR_NOT_READY' && !lifecycle.draining))
          throw err;
        model = await sessions.get(version);
        predictions = await model.batcher.submit(features, rows);
      }
      const body = encodePredictions(predictions, rows);
      return reply
        .header('content-type', CONTENT_TYPE)
        .header(HEADER_MODEL_VERSION, version)
        .send(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
    },
  );

  return app;
}
