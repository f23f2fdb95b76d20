import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { ERRORS, type ErrorCode, ReclabError } from '../errors.ts';
import { PROBLEM_CONTENT_TYPE, problem } from './problem.ts';
import { isUnused } from './unused-connections.ts';

/**
 * The HTTP layer's own errors in the core's error table (core/errors.ts, docs/errors.md): what
 * Fastify refuses before a handler runs (FST_ERR_*) and what Node's HTTP parser refuses before
 * Fastify sees a request (`clientError`). Each keeps its HTTP status; every body is the core's
 * problem details (core/http/problem.ts, `application/problem+json`).
 */

/** Fastify's request-time error codes → the core's codes. */
const FASTIFY_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_VALIDATION: 'RECLAB_ERR_REQUEST_INVALID',
  FST_ERR_BAD_URL: 'RECLAB_ERR_URL_INVALID',
  FST_ERR_INVALID_URL: 'RECLAB_ERR_URL_INVALID',
  FST_ERR_MAX_PARAM_LENGTH: 'RECLAB_ERR_URL_TOO_LONG',
  FST_ERR_CTP_BODY_TOO_LARGE: 'RECLAB_ERR_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'RECLAB_ERR_MEDIA_TYPE_UNSUPPORTED',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'RECLAB_ERR_BODY_MALFORMED',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'RECLAB_ERR_BODY_MALFORMED',
  FST_ERR_CTP_INVALID_JSON_BODY: 'RECLAB_ERR_BODY_MALFORMED',
};

/**
 * The ReclabError for an error the HTTP layer raised, or undefined for any other error (a bug:
 * the caller answers 500 RECLAB_ERR_INTERNAL). Fastify's JSON parser throws a bare SyntaxError
 * (status 400) for bad JSON and for `__proto__`/`constructor` keys (prototype poisoning):
 * RECLAB_ERR_BODY_MALFORMED. Any other client error Fastify marks 4xx: RECLAB_ERR_REQUEST_INVALID.
 */
export function httpLayerError(err: unknown): ReclabError | undefined {
  if (err instanceof ReclabError) return err;
  const e = err as { code?: unknown; statusCode?: unknown; validation?: unknown; message?: unknown };
  const message = typeof e.message === 'string' ? e.message : '';
  const code = typeof e.code === 'string' ? FASTIFY_CODES[e.code] : undefined;
  if (code) return new ReclabError(code, message);
  if (e.validation) return new ReclabError('RECLAB_ERR_REQUEST_INVALID', message);
  const status = typeof e.statusCode === 'number' ? e.statusCode : 0;
  if (err instanceof SyntaxError && status === 400)
    return new ReclabError('RECLAB_ERR_BODY_MALFORMED', message);
  if (status >= 400 && status < 500) return new ReclabError('RECLAB_ERR_REQUEST_INVALID', message);
  return undefined;
}

/** Node's `clientError` codes → the core's codes; any other parse error: RECLAB_ERR_REQUEST_MALFORMED. */
function clientErrorCode(err: NodeJS.ErrnoException): ErrorCode {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'RECLAB_ERR_REQUEST_TIMEOUT';
  if (err.code === 'HPE_HEADER_OVERFLOW') return 'RECLAB_ERR_HEADERS_TOO_LARGE';
  return 'RECLAB_ERR_REQUEST_MALFORMED';
}

/**
 * Fastify's `clientErrorHandler`: Node reports an unparseable request, headers over its limit, or a
 * request not received whole within `requestTimeout` (trickling headers or body). Like Fastify's
 * default it writes one response on the raw socket and closes it (`Connection: close`), with the
 * core's problem details. Node also reports a request timeout on a connection that has not sent a
 * byte: that connection is idle, not late, and is neither answered nor closed here; its idle timer
 * closes it quietly (core/http/unused-connections.ts).
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection has nobody to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' && isUnused(socket)) {
    // Without an idle timer (holdUnusedConnections not installed) nothing else would close it.
    if (!socket.timeout) socket.destroy();
    return;
  }
  const code = clientErrorCode(err);
  const { status } = ERRORS[code];
  const body = JSON.stringify(problem(code));
  // Node's parser stops at the bad bytes; unless a response to this socket has begun, answer.
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
