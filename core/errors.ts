/**
 * Every error code reclab's core can produce: one table (after fastify's lib/errors.js).
 *
 * `RECLAB_ERR_<AREA>_<CONDITION>`. `status` is the HTTP status when the error reaches a client.
 * `degrades: true` means the fallback ladder absorbs it (the client gets a 200 from a lower rung
 * and the code appears in `meta.reasons`); `false` means the request fails with `status`.
 * Retired codes are never reused. docs/errors.md is kept in step by test/unit/errors-doc.test.ts.
 */
export const ERRORS = {
  RECLAB_ERR_REQUEST_INVALID: {
    status: 400,
    degrades: false,
    message: 'The request body or parameters are invalid',
  },
  RECLAB_ERR_ROUTE_NOT_FOUND: { status: 404, degrades: false, message: 'No such route' },
  // The HTTP layer's own refusals (Fastify's FST_ERR_* and Node's client errors, mapped in
  // core/http/http-errors.ts): each keeps its HTTP status.
  RECLAB_ERR_URL_INVALID: {
    status: 400,
    degrades: false,
    message: 'The URL is not valid (e.g. a malformed percent-encoding)',
  },
  RECLAB_ERR_URL_TOO_LONG: {
    status: 414,
    degrades: false,
    message: 'A path parameter is longer than the router accepts (100 characters)',
  },
  RECLAB_ERR_BODY_MALFORMED: {
    status: 400,
    degrades: false,
    message: 'The body is not valid JSON, is empty, or does not match its Content-Length',
  },
  RECLAB_ERR_BODY_TOO_LARGE: {
    status: 413,
    degrades: false,
    message: "The body is larger than the route's limit (docs/errors.md, body limits)",
  },
  RECLAB_ERR_MEDIA_TYPE_UNSUPPORTED: {
    status: 415,
    degrades: false,
    message: 'The body must be application/json',
  },
  RECLAB_ERR_REQUEST_TIMEOUT: {
    status: 408,
    degrades: false,
    message: 'The whole request did not arrive within RECLAB_HTTP_REQUEST_TIMEOUT_MS',
  },
  RECLAB_ERR_HEADERS_TOO_LARGE: {
    status: 431,
    degrades: false,
    message: "The request headers are larger than Node's limit (16 KiB)",
  },
  RECLAB_ERR_REQUEST_MALFORMED: {
    status: 400,
    degrades: false,
    message: 'The request is not valid HTTP/1.1 (unparseable, or no Host header)',
  },
  // Brownout first (core/resilience/brownout.ts): under load a request is served by a cheaper rung
  // with this code in its reasons; only when even the popularity cache would miss the deadline is it
  // refused with 503 and Retry-After.
  RECLAB_ERR_OVERLOADED: {
    status: 503,
    degrades: true,
    message:
      'The service is overloaded: served by a cheaper rung (brownout) or, past that, refused; retry later',
  },
  RECLAB_ERR_NOT_READY: { status: 503, degrades: false, message: 'The service is starting or stopping' },
  RECLAB_ERR_INTERNAL: {
    status: 500,
    degrades: false,
    message: 'Unexpected internal error (a bug: please report it)',
  },
  RECLAB_ERR_FEATURES_TIMEOUT: {
    status: 503,
    degrades: true,
    message: 'The feature store did not answer within its deadline',
  },
  RECLAB_ERR_FEATURES_UNAVAILABLE: {
    status: 503,
    degrades: true,
    message: 'The feature store failed or its circuit breaker is open',
  },
  RECLAB_ERR_FEATURES_MISSING: {
    status: 503,
    degrades: true,
    message:
      'The feature store answered without the records asked: its load marker is gone (data lost, or a load in progress) or most candidates have no video record',
  },
  RECLAB_ERR_RETRIEVAL_TIMEOUT: {
    status: 503,
    degrades: true,
    message: 'A retrieval source did not answer within its deadline',
  },
  RECLAB_ERR_RETRIEVAL_UNAVAILABLE: {
    status: 503,
    degrades: true,
    message: 'A retrieval source failed or its circuit breaker is open',
  },
  RECLAB_ERR_RETRIEVAL_EMPTY: {
    status: 503,
    degrades: true,
    message: 'No retrieval source returned candidates',
  },
  RECLAB_ERR_RANKER_TIMEOUT: {
    status: 503,
    degrades: true,
    message: 'The ranker did not answer within its deadline',
  },
  RECLAB_ERR_RANKER_UNAVAILABLE: {
    status: 503,
    degrades: true,
    message: 'The ranker failed or its circuit breaker is open',
  },
  RECLAB_ERR_RANKER_INVALID_OUTPUT: {
    status: 503,
    degrades: true,
    message: 'The ranker returned NaN, Inf or a wrongly shaped output',
  },
  RECLAB_ERR_RANKER_OVERLOADED: {
    status: 503,
    degrades: true,
    message: 'The ranker tier is full (batch queue or pending calls at their limit); retry later',
  },
  RECLAB_ERR_FAULT_INJECTED: {
    status: 503,
    degrades: true,
    message: 'A fault set through /admin/faults (RECLAB_FAULT_INJECTION=on) failed this dependency call',
  },
  RECLAB_ERR_FAULT_INJECTION_OFF: {
    status: 404,
    degrades: false,
    message: 'Fault injection is off (RECLAB_FAULT_INJECTION=off)',
  },
  RECLAB_ERR_POPULARITY_UNAVAILABLE: {
    status: 503,
    degrades: true,
    message: 'The popularity cache is empty or unavailable',
  },
  RECLAB_ERR_PAGE_SHORT: {
    status: 503,
    degrades: true,
    message:
      'The rung produced fewer items than asked; the page was topped up from the next rung down (stage top_up.<rung>)',
  },
  RECLAB_ERR_EVENT_INVALID: {
    status: 400,
    degrades: false,
    message: 'An event is malformed (schema, JSON, or too many events in one call)',
  },
  RECLAB_ERR_EVENTS_UNAVAILABLE: {
    status: 503,
    degrades: false,
    message: 'Events could not be handed to Kafka (failure, overload or shutdown); retry',
  },
  RECLAB_ERR_EVENTS_BACKLOG_FULL: {
    status: 503,
    degrades: false,
    message:
      'Kafka is unavailable and the event backlog (memory and disk spool) is full; send the same events again after Retry-After',
  },
  RECLAB_ERR_CONFIG_INVALID: {
    status: 500,
    degrades: false,
    message: 'The service configuration is invalid',
  },
  RECLAB_ERR_ARTIFACT_INVALID: {
    status: 500,
    degrades: false,
    message: 'A model, index or editorial file is missing or malformed',
  },
  RECLAB_ERR_ADMIN_UNAUTHORIZED: {
    status: 401,
    degrades: false,
    message:
      'The admin and fresh-upload routes need `Authorization: Bearer <RECLAB_ADMIN_TOKEN>`; without a token they are served only by a core bound to loopback (RECLAB_ADMIN_OPEN)',
  },
  RECLAB_ERR_MODEL_REGISTRY_UNSET: {
    status: 409,
    degrades: false,
    message: 'No model registry is configured (RECLAB_MODEL_REGISTRY_DIR)',
  },
  RECLAB_ERR_MODEL_VERSION_UNKNOWN: {
    status: 404,
    degrades: false,
    message: 'The model version is not in the registry',
  },
  RECLAB_ERR_MODEL_LOAD_FAILED: {
    status: 500,
    degrades: false,
    message: 'The model version could not be loaded or warmed up; the active version keeps serving',
  },
  RECLAB_ERR_MODEL_SWAP_IN_PROGRESS: {
    status: 409,
    degrades: false,
    message: 'Another model activation is in progress; retry when it ends',
  },
  RECLAB_ERR_MODEL_NO_PREVIOUS: {
    status: 409,
    degrades: false,
    message: 'There is no previous model version to roll back to',
  },
} as const;

export type ErrorCode = keyof typeof ERRORS;

/** The one error class of the core: callers match on `code`, never on the message. */
export class ReclabError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly degrades: boolean;
  /** What this occurrence adds to the code's message (the problem details' `detail`), if anything. */
  readonly detail: string | undefined;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown }) {
    const entry = ERRORS[code];
    super(detail ? `${entry.message}: ${detail}` : entry.message, options);
    this.name = 'ReclabError';
    this.code = code;
    this.detail = detail || undefined;
    this.status = entry.status;
    this.degrades = entry.degrades;
  }
}

/**
 * A ReclabError the client may retry, with the same request, after `retryAfterS` seconds: routes
 * send it as the `Retry-After` header (RFC 9110 §10.2.3) next to the 503.
 */
export class RetryableError extends ReclabError {
  readonly retryAfterS: number;

  constructor(code: ErrorCode, retryAfterS: number, detail?: string, options?: { cause?: unknown }) {
    super(code, detail, options);
    this.retryAfterS = Math.max(1, Math.ceil(retryAfterS));
  }
}

/** Returns the code of a ReclabError, or `fallbackCode` for anything else (driver errors etc.). */
export function errorCode(err: unknown, fallbackCode: ErrorCode): ErrorCode {
  return err instanceof ReclabError ? err.code : fallbackCode;
}
