import { Server as HttpServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { ServerTimeouts } from './server-timeouts.ts';

/**
 * Connections that have not sent a byte yet are idle connections, not slow requests: they are kept
 * like an idle keep-alive connection and closed quietly `keepAliveTimeoutMs` + 1 s after they open,
 * never answered with a 408.
 *
 * Why (read from Node 24, src/node_http_parser.cc and lib/_http_server.js): Node's request deadline
 * is a sweep, `checkConnections`, every `connectionsCheckingInterval`, over the parsers in its
 * `ConnectionsList` "active" set; `ConnectionsList::Expired(headersTimeout, requestTimeout)` returns
 * every active parser whose `last_message_start_` is older than a deadline, and each becomes
 * `onRequestTimeout` → `socketOnError(ERR_HTTP_REQUEST_TIMEOUT)` → the `clientError` handler, which
 * writes 408 and closes. A parser leaves the active set at `on_message_complete`
 * (`last_message_start_ = 0`), so a keep-alive connection between requests is never swept. But
 * `Parser::Initialize` puts a new connection in the active set with `last_message_start_` = the
 * time it was accepted ("protects from a DoS attack where an attacker establishes the connection
 * without sending any data"), so a connection that never sends a request is swept as a request
 * whose headers are late: 408 at `requestTimeoutMs` after it opened. A client pool that opens more
 * connections than it uses (the open-model driver's pool, peak rate × 2 s connections taken LIFO;
 * a balancer's or browser's pre-connections) saw its unused sockets answered 408 and closed
 * every ~10 s, reconnected, and cut again — 678 unsolicited 408s in a 40 s phase at 120 requests/s
 * on ~240 connections, and a request written as the 408 arrives is lost.
 *
 * So: `clientErrorHandler` (core/http/http-errors.ts) neither answers nor closes a timed-out
 * connection that has read no byte, and this gives such a connection the idle timer Node gives a
 * keep-alive connection after a response (`keepAliveTimeout` + `keepAliveTimeoutBuffer`, a socket
 * inactivity timeout that destroys it without a word), restoring the server's `timeout`
 * (`connectionTimeoutMs`) when its first request arrives, as Node's `resetSocketTimeout` does for
 * keep-alive connections. Holding a socket that long costs an attacker no less than before: one
 * request on a connection already holds it for the keep-alive timeout. Bytes of a request that do
 * come (headers or body trickling) still get 408 RECLAB_ERR_REQUEST_TIMEOUT at `requestTimeoutMs`:
 * the first byte restarts the parser's deadline (`on_message_begin`).
 *
 * Node's `closeIdleConnections` (called by `server.close()`, and so by Fastify's
 * `forceCloseConnections: 'idle'`) closes only parsers with `last_message_start_ == 0`; an unused
 * connection is not one of them, so `server.close()` would wait for it until its idle timer. The
 * server's `closeIdleConnections` is extended to close unused connections too — the one seam into
 * Node here, pinned by test/unit/http-errors.test.ts (close with an unused connection open).
 */
export function holdUnusedConnections(server: Server, t: ServerTimeouts): void {
  // Node's grace after the advertised keep-alive timeout (`server.keepAliveTimeoutBuffer`, 1 s).
  const bufferMs = (server as { keepAliveTimeoutBuffer?: number }).keepAliveTimeoutBuffer ?? 1000;
  const idleMs = t.keepAliveTimeoutMs + bufferMs;
  const unused = new Set<Socket>();
  // Runs after Node's own 'connection' listener, which set the server's `timeout` on the socket.
  server.on('connection', (socket: Socket) => {
    unused.add(socket);
    socket.setTimeout(idleMs);
    socket.once('close', () => unused.delete(socket));
  });
  server.on('request', (req: IncomingMessage) => {
    if (unused.delete(req.socket)) req.socket.setTimeout(server.timeout);
  });
  server.closeIdleConnections = function closeIdleConnections(this: Server) {
    HttpServer.prototype.closeIdleConnections.call(this);
    for (const socket of unused) if (isUnused(socket)) socket.destroy();
  };
}

/** A connection that has not sent a byte: idle, whatever Node's request sweep says. */
export function isUnused(socket: Socket): boolean {
  return socket.bytesRead === 0;
}
