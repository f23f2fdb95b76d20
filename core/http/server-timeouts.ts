/**
 * The HTTP server's timeouts (RECLAB_HTTP_*_MS, docs/configuration.md). Without them a client with
 * complete headers and a trickling body held a connection for more than 130 s (issue 9).
 */
export interface ServerTimeouts {
  /**
   * The whole request — headers and body — must arrive within this many ms of its first byte;
   * otherwise 408 RECLAB_ERR_REQUEST_TIMEOUT and the connection is closed. Node's `requestTimeout`
   * (and `headersTimeout`). Node also applies it to a connection that has sent nothing since it
   * opened; the core does not (core/http/unused-connections.ts).
   */
  requestTimeoutMs: number;
  /**
   * A socket with no bytes in either direction for this many ms is destroyed (a client that stops
   * reading its response). Node's `server.setTimeout`. Must exceed the longest handler, a model
   * activation (load and warm-up), during which the socket is quiet.
   */
  connectionTimeoutMs: number;
  /**
   * An idle keep-alive connection, or one that has not sent a request since it opened, is closed
   * (without a response) after this many ms. Longer than the 60 s idle timeout of common load
   * balancers, so the balancer, not the core, closes idle connections (no request races a close). Node's `keepAliveTimeout`: it advertises `Keep-Alive: timeout=<s>` and closes
   * the socket 1 s after that (its grace for clients on the edge).
   */
  keepAliveTimeoutMs: number;
}

/** The defaults (the same as the config's). */
export const DEFAULT_SERVER_TIMEOUTS: Readonly<ServerTimeouts> = Object.freeze({
  requestTimeoutMs: 10_000,
  connectionTimeoutMs: 60_000,
  keepAliveTimeoutMs: 72_000,
});

/**
 * Fastify constructor options for `t`. Node checks request deadlines on a timer (30 s by default,
 * so a 10 s deadline could be met at 40 s); it runs here every min(1 s, requestTimeoutMs / 4), so
 * a trickling request is cut within a quarter of its deadline after it.
 */
export function serverTimeoutOptions(t: ServerTimeouts) {
  return {
    requestTimeout: t.requestTimeoutMs,
    connectionTimeout: t.connectionTimeoutMs,
    keepAliveTimeout: t.keepAliveTimeoutMs,
    http: {
      // Node answers an HTTP/1.1 request without Host with an empty 400 of its own; the app answers
      // it instead, with the core's code (core/app.ts).
      requireHostHeader: false,
      headersTimeout: t.requestTimeoutMs,
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(t.requestTimeoutMs / 4))),
    },
  };
}
