import { ERRORS, type ErrorCode, type ReclabError, RetryableError } from '../errors.ts';

/**
 * The core's error body: RFC 9457 problem details (`application/problem+json`), one problem type
 * per code of the error table (core/errors.ts, docs/errors.md):
 * ```
 * { type: "urn:reclab:error:<code>",  // the problem type: an identifier, not a link
 *   title: ERRORS[code].message,      // the same for every occurrence of the code
 *   status: ERRORS[code].status,      // the HTTP status, repeated
 *   detail: string,                   // this occurrence (the title when there is nothing to add)
 *   code: "RECLAB_ERR_…" }            // extension member: the code clients match on
 * ```
 * A 503 carries `Retry-After` (whole seconds) and a 401 `WWW-Authenticate` (problemHeaders).
 */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
}

/** The media type of every error response (RFC 9457 §3). */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Prefix of the problem type URI of every code. */
export const PROBLEM_TYPE_PREFIX = 'urn:reclab:error:';

/**
 * Seconds a client waits before retrying a 503 that names no wait of its own (RECLAB_ERR_NOT_READY,
 * a non-retryable 503): a core that starts or stops, or a load balancer, has moved on by then.
 */
export const DEFAULT_RETRY_AFTER_S = 1;

/** The challenge of a 401: the admin routes take a bearer token (core/http/admin-access.ts). */
export const ADMIN_CHALLENGE = 'Bearer realm="reclab-admin"';

/** The problem details of `code`; `detail` defaults to the code's title. */
export function problem(code: ErrorCode, detail?: string): ProblemDetails {
  const { status, message } = ERRORS[code];
  return { type: `${PROBLEM_TYPE_PREFIX}${code}`, title: message, status, detail: detail || message, code };
}

/** The problem details of a ReclabError: its own detail, or its message when it has none. */
export function problemOf(err: ReclabError): ProblemDetails {
  return problem(err.code, err.detail ?? err.message);
}

/**
 * The headers an error response must carry besides its content type: `Retry-After` on a 503 (the
 * error's own wait when it is a RetryableError, else DEFAULT_RETRY_AFTER_S; RFC 9110 §10.2.3) and
 * `WWW-Authenticate` on a 401 (RFC 9110 §11.6.1).
 */
export function problemHeaders(code: ErrorCode, err?: ReclabError): Record<string, string> {
  const { status } = ERRORS[code];
  if (status === 503) {
    const s = err instanceof RetryableError ? err.retryAfterS : DEFAULT_RETRY_AFTER_S;
    return { 'retry-after': String(s) };
  }
  if (status === 401) return { 'www-authenticate': ADMIN_CHALLENGE };
  return {};
}
