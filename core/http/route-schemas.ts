import { z } from 'zod';
import { ERRORS, type ErrorCode } from '../errors.ts';
import { VIDEO_ID_MAX_LENGTH, VIDEO_ID_PATTERN } from '../features/ids.ts';
import { DEVICES, REGIONS } from '../features/schema.ts';
import { RUNGS } from '../resilience/fallback-ladder.ts';
import { MAX_FAULT_DELAY_MS } from '../resilience/fault-injection.ts';
import { DEFAULT_MAX_EVENTS_PER_BATCH, streamEventSchema } from '../streaming/events.ts';
import { ADMIN_CHALLENGE, PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_PREFIX } from './problem.ts';

/**
 * The JSON Schemas of the core's routes (core/app.ts): request bodies, validated by Fastify's Ajv
 * before a handler runs, and responses, which Fastify serialises with fast-json-stringify (except
 * the 200 page of POST /v1/recommendations, which goes out through JSON.stringify: core/app.ts) and
 * @fastify/swagger turns into the OpenAPI document (core/http/openapi.ts, docs/openapi.json).
 *
 * Response schemas drop what they do not name: every object a handler returns is described whole,
 * in the order the handler builds it (so the bytes equal JSON.stringify's), and maps with open keys
 * (timings, statistics, breaker states) are `additionalProperties` schemas.
 */

// ---- request bodies ---------------------------------------------------------------------------

export const recommendationBody = {
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
        time: { type: 'string', format: 'date-time', maxLength: 64 },
      },
    },
  },
} as const;

export const freshVideosBody = {
  type: 'object',
  required: ['video_ids'],
  additionalProperties: false,
  properties: {
    video_ids: {
      type: 'array',
      minItems: 1,
      maxItems: 100,
      items: { type: 'string', maxLength: VIDEO_ID_MAX_LENGTH, pattern: VIDEO_ID_PATTERN },
    },
  },
} as const;

export const activateBody = {
  type: 'object',
  required: ['version'],
  additionalProperties: false,
  properties: { version: { type: 'string', minLength: 1, maxLength: 128 } },
} as const;

export const faultBody = {
  type: 'object',
  required: ['kind'],
  additionalProperties: false,
  properties: {
    kind: { enum: ['delay', 'error'] },
    delay_ms: { type: 'number', minimum: 0, maximum: MAX_FAULT_DELAY_MS },
    ratio: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
    for_ms: { type: 'number', exclusiveMinimum: 0 },
  },
} as const;

/**
 * One event of POST /v1/events: core/streaming/events.ts's zod schema (which the Kafka consumer
 * uses) as JSON Schema, plus the video id pattern; that `video_id` is at most `v_2147483647`, which
 * neither can say, the handler checks. Other fields are admitted, and dropped by the handler
 * (forward compatibility).
 */
const { $schema: _draft, ...eventJson } = z.toJSONSchema(streamEventSchema, { io: 'input' }) as {
  $schema?: string;
  properties: Record<string, object>;
};
export const streamEventBody = {
  ...eventJson,
  properties: {
    ...eventJson.properties,
    video_id: { ...eventJson.properties.video_id, pattern: VIDEO_ID_PATTERN },
  },
};

/** The body of POST /v1/events: 1..500 events, all or nothing. */
export const eventBatchBody = {
  type: 'array',
  minItems: 1,
  maxItems: DEFAULT_MAX_EVENTS_PER_BATCH,
  items: streamEventBody,
} as const;

/** A `:target` path parameter: a dependency name (core/resilience/fault-injection.ts). */
export const faultTargetParams = {
  type: 'object',
  required: ['target'],
  properties: { target: { type: 'string', maxLength: 100 } },
} as const;

// ---- errors -----------------------------------------------------------------------------------

/**
 * RFC 9457 problem details as the core writes them (core/http/problem.ts): a shared schema (the app
 * adds it with `addSchema`), which the OpenAPI document holds once, under components/schemas.
 */
export const problemSchema = {
  $id: 'ProblemDetails',
  type: 'object',
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: { type: 'string', format: 'uri', description: `${PROBLEM_TYPE_PREFIX}<code>` },
    title: { type: 'string', description: "The code's message (docs/errors.md)" },
    status: { type: 'integer', minimum: 400, maximum: 599 },
    detail: { type: 'string', description: 'What went wrong in this request' },
    code: { type: 'string', enum: Object.keys(ERRORS), description: 'The RECLAB_ERR_* code' },
  },
} as const;

const retryAfterHeader = {
  'retry-after': { type: 'integer', minimum: 1, description: 'Seconds to wait before sending again' },
};
const authenticateHeader = {
  'www-authenticate': { type: 'string', description: `The challenge: \`${ADMIN_CHALLENGE}\`` },
};

/** The HTTP layer's refusals that any route can answer (core/http/http-errors.ts). */
const ANY_ROUTE: readonly ErrorCode[] = [
  'RECLAB_ERR_URL_INVALID',
  'RECLAB_ERR_REQUEST_MALFORMED',
  'RECLAB_ERR_BODY_TOO_LARGE',
  'RECLAB_ERR_REQUEST_TIMEOUT',
  'RECLAB_ERR_HEADERS_TOO_LARGE',
  'RECLAB_ERR_INTERNAL',
];
/** What a route with a JSON body adds. */
const WITH_BODY: readonly ErrorCode[] = ['RECLAB_ERR_BODY_MALFORMED', 'RECLAB_ERR_MEDIA_TYPE_UNSUPPORTED'];

/**
 * Response schemas of the errors a route answers with, one per status, each describing the codes
 * it carries; `default` covers the rest. 503s document `Retry-After`, 401s `WWW-Authenticate`.
 */
export function problemResponses(codes: readonly ErrorCode[], opts: { body?: boolean } = {}) {
  const all = [...new Set([...codes, ...ANY_ROUTE, ...(opts.body ? WITH_BODY : [])])];
  const byStatus = new Map<number, ErrorCode[]>();
  for (const c of all) byStatus.set(ERRORS[c].status, [...(byStatus.get(ERRORS[c].status) ?? []), c]);
  const content = { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: 'ProblemDetails#' } } };
  const out: Record<string, unknown> = {};
  for (const [status, cs] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    out[status] = {
      description: cs.map((c) => `\`${c}\``).join(', '),
      ...(status === 503 ? { headers: retryAfterHeader } : {}),
      ...(status === 401 ? { headers: authenticateHeader } : {}),
      content,
    };
  }
  out.default = { description: 'Any other error of the table (docs/errors.md)', content };
  return out;
}

// ---- responses --------------------------------------------------------------------------------

const json = (description: string, schema: object) => ({ description, ...schema });
const numberMap = { type: 'object', additionalProperties: { type: 'number' } } as const;
const nullableString = { type: ['string', 'null'] } as const;
const nullableNumber = { type: ['number', 'null'] } as const;
const layer = {
  type: 'object',
  required: ['id', 'variant'],
  properties: { id: { type: 'string' }, variant: { type: 'string' } },
} as const;

/** 200 of POST /v1/recommendations (core/pipeline/recommend.ts, RecommendResult). */
export const recommendationResponse = json('The page, and how it was served', {
  type: 'object',
  required: ['items', 'meta'],
  properties: {
    items: {
      type: 'array',
      items: {
        type: 'object',
        required: ['video_id', 'score', 'source'],
        properties: {
          video_id: { type: 'string' },
          score: { type: 'number' },
          source: { type: 'string', description: 'The retrieval source or rung that supplied the item' },
          exploration: { type: 'boolean', const: true, description: 'Placed by an exploration slot' },
        },
      },
    },
    meta: {
      type: 'object',
      required: [
        'impression_id',
        'rung',
        'reasons',
        'timings_ms',
        'model_version',
        'experiment',
        'experiments',
        'candidates',
      ],
      properties: {
        impression_id: { type: 'string' },
        rung: { type: 'string', enum: [...RUNGS], description: 'The fallback rung (docs/fallback.md)' },
        reasons: {
          type: 'array',
          description: 'Why the response stepped down or browned out, by stage',
          items: {
            type: 'object',
            required: ['stage', 'code'],
            properties: { stage: { type: 'string' }, code: { type: 'string', enum: Object.keys(ERRORS) } },
          },
        },
        timings_ms: { ...numberMap, description: 'Milliseconds per stage, and `total`' },
        model_version: { type: 'string' },
        experiment: layer,
        experiments: { type: 'array', items: layer },
        candidates: {
          type: 'object',
          required: ['retrieved', 'ranked'],
          properties: { retrieved: { type: 'integer' }, ranked: { type: 'integer' } },
        },
      },
    },
  },
});

export const healthResponse = json('Alive', {
  type: 'object',
  required: ['status'],
  properties: { status: { type: 'string', enum: ['ok'] } },
});

/** /readyz: the same body at 200 (ready) and 503 (starting, or draining). */
const readiness = {
  type: 'object',
  required: ['status', 'draining', 'breakers', 'popularity_cache_size', 'impressions', 'events'],
  properties: {
    status: { type: 'string', enum: ['ready', 'not_ready'] },
    draining: { type: 'boolean' },
    breakers: {
      type: 'object',
      additionalProperties: { type: 'string', enum: ['closed', 'open', 'half_open'] },
    },
    popularity_cache_size: { type: 'integer' },
    impressions: { ...numberMap, description: 'The impression log (core/ports/impression-log.ts)' },
    events: { type: ['object', 'null'], additionalProperties: { type: 'number' } },
    model_version: { type: 'string' },
    model_standby: nullableString,
  },
} as const;
export const readyResponses = {
  200: json('Ready', readiness),
  503: {
    description: 'Not ready: starting, or draining before a stop',
    headers: retryAfterHeader,
    content: { 'application/json': { schema: readiness } },
  },
};

export const metricsResponse = {
  description: 'Prometheus text exposition format',
  content: { 'text/plain': { schema: { type: 'string' } } },
};

export const freshVideosResponse = json('Indexed', {
  type: 'object',
  required: ['indexed', 'missing', 'subscriptions', 'model_version'],
  properties: {
    indexed: { type: 'integer', description: 'Videos embedded into the fresh index' },
    missing: { type: 'array', items: { type: 'string' }, description: 'Ids without a video record' },
    subscriptions: { type: 'integer', description: "Videos added to their creators' recent uploads" },
    model_version: { type: 'string' },
  },
});

export const eventsResponse = json('Every event is on Kafka or in the disk spool', {
  type: 'object',
  required: ['accepted'],
  properties: { accepted: { type: 'integer' } },
});

const faultView = {
  type: 'object',
  required: ['target', 'kind', 'delay_ms', 'ratio', 'for_ms', 'since', 'hits'],
  properties: {
    target: { type: 'string' },
    kind: { type: 'string', enum: ['delay', 'error'] },
    delay_ms: nullableNumber,
    ratio: { type: 'number' },
    for_ms: nullableNumber,
    since: { type: 'string', format: 'date-time' },
    hits: { type: 'integer' },
  },
} as const;
export const faultListResponse = json('The active faults', {
  type: 'object',
  required: ['faults'],
  properties: { faults: { type: 'array', items: faultView } },
});
export const faultSetResponse = json('The fault, set', {
  type: 'object',
  required: ['fault'],
  properties: { fault: faultView },
});
export const faultsRemovedResponse = json('How many faults were removed', {
  type: 'object',
  required: ['removed'],
  properties: { removed: { type: 'integer' } },
});

const swapProperties = {
  kind: { type: 'string', enum: ['activate', 'rollback'] },
  from: { type: 'string' },
  to: { type: 'string' },
  load_ms: { type: 'number' },
  warm_ms: { type: 'number' },
  swap_ms: { type: 'number' },
  at: { type: 'string', format: 'date-time' },
  fresh_carried: { type: 'integer', description: 'Fresh uploads re-embedded into the new set' },
  fresh_ms: { type: 'number' },
} as const;
const swapView = {
  type: 'object',
  // Every member but the fresh carry-over, which only activations that loaded a set have.
  required: Object.keys(swapProperties).filter((k) => !k.startsWith('fresh_')),
  properties: swapProperties,
};
const slotView = {
  type: ['object', 'null'],
  required: ['version', 'inFlight'],
  properties: { version: { type: 'string' }, inFlight: { type: 'integer' } },
} as const;
export const modelsResponse = json('The model slots and the registry', {
  type: 'object',
  required: ['active', 'standby', 'swapping', 'swap_count', 'swaps', 'registry_dir', 'registry'],
  properties: {
    active: { ...slotView, type: 'object' },
    standby: slotView,
    swapping: { type: 'boolean' },
    swap_count: { type: 'integer' },
    swaps: { type: 'array', items: swapView },
    registry_dir: nullableString,
    registry: {
      type: 'array',
      items: {
        type: 'object',
        required: ['version', 'created_at', 'seed', 'world_hash', 'metrics'],
        properties: {
          version: { type: 'string' },
          created_at: { type: 'string' },
          seed: { type: 'integer' },
          world_hash: { type: 'string' },
          metrics: { type: 'object', additionalProperties: true, description: "The model card's metrics" },
        },
      },
    },
  },
});
export const swapResponse = json('The swap done', {
  type: 'object',
  required: ['swap', 'active'],
  properties: { swap: swapView, active: { type: 'string' } },
});

export const openApiResponse = json('This API as OpenAPI 3.1', {
  type: 'object',
  additionalProperties: true,
});
