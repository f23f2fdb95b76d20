/**
 * Bad input at the HTTP layer (issue 9, item 8): Fastify's own refusals and Node's client errors
 * reach clients with the core's codes and their own status, and the server's timeouts cut trickling
 * headers or body with a 408 and close an unused or idle keep-alive connection quietly. Timeouts are
 * tested on a real socket on 127.0.0.1 with short values; the defaults are checked on the server
 * object.
 */
import { connect, type Socket } from 'node:net';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS } from '../../core/errors.ts';
import { DEFAULT_SERVER_TIMEOUTS } from '../../core/http/server-timeouts.ts';
import { buildTestApp } from '../helpers/test-app.ts';

const { app } = await buildTestApp({ admin: 'open' });
afterAll(() => app.close());

const code = (body: string) => (JSON.parse(body) as { code: string }).code;

describe("Fastify's own errors, in the error table with their status", () => {
  const cases: { name: string; req: InjectOptions; status: number; code: string }[] = [
    {
      name: 'malformed percent-encoding (FST_ERR_BAD_URL)',
      req: { method: 'GET', url: '/admin/faults/%E0%A4%A' },
      status: 400,
      code: 'RECLAB_ERR_URL_INVALID',
    },
    {
      name: 'path parameter over 100 characters (FST_ERR_MAX_PARAM_LENGTH)',
      req: { method: 'DELETE', url: `/admin/faults/${'a'.repeat(101)}` },
      status: 414,
      code: 'RECLAB_ERR_URL_TOO_LONG',
    },
    {
      name: 'bad JSON',
      req: {
        method: 'POST',
        url: '/v1/recommendations',
        headers: { 'content-type': 'application/json' },
        payload: '{"user_id":',
      },
      status: 400,
      code: 'RECLAB_ERR_BODY_MALFORMED',
    },
    {
      name: 'empty JSON body (FST_ERR_CTP_EMPTY_JSON_BODY)',
      req: {
        method: 'POST',
        url: '/v1/events',
        headers: { 'content-type': 'application/json' },
        payload: '',
      },
      status: 400,
      code: 'RECLAB_ERR_BODY_MALFORMED',
    },
    {
      name: 'prototype poisoning',
      req: {
        method: 'POST',
        url: '/v1/recommendations',
        headers: { 'content-type': 'application/json' },
        payload: '{"user_id":"u_1","__proto__":{"x":1}}',
      },
      status: 400,
      code: 'RECLAB_ERR_BODY_MALFORMED',
    },
    {
      name: 'unsupported media type (FST_ERR_CTP_INVALID_MEDIA_TYPE)',
      req: { method: 'POST', url: '/v1/events', headers: { 'content-type': 'text/plain' }, payload: '[]' },
      status: 415,
      code: 'RECLAB_ERR_MEDIA_TYPE_UNSUPPORTED',
    },
    {
      name: 'body over the limit (FST_ERR_CTP_BODY_TOO_LARGE)',
      req: {
        method: 'POST',
        url: '/admin/models/rollback',
        headers: { 'content-type': 'application/json' },
        payload: `"${'x'.repeat(2000)}"`,
      },
      status: 413,
      code: 'RECLAB_ERR_BODY_TOO_LARGE',
    },
    {
      name: 'schema validation',
      req: { method: 'POST', url: '/v1/recommendations', payload: { user_id: 'u 1' } },
      status: 400,
      code: 'RECLAB_ERR_REQUEST_INVALID',
    },
    {
      name: 'unknown route',
      req: { method: 'GET', url: '/nope' },
      status: 404,
      code: 'RECLAB_ERR_ROUTE_NOT_FOUND',
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const res = await app.inject(c.req);
      expect([res.statusCode, code(res.body)]).toEqual([c.status, c.code]);
      expect(ERRORS[c.code as keyof typeof ERRORS].status).toBe(c.status);
      expect(res.body).not.toContain('FST_ERR');
    });
  }
});

/** Collects what the server writes on `socket` until it closes it; resolves with the text and ms. */
function untilClosed(socket: Socket, t0 = performance.now()): Promise<{ text: string; ms: number }> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (d) => {
      text += d.toString('utf8');
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve({ text, ms: performance.now() - t0 }));
  });
}

describe('server timeouts and client errors (real socket on 127.0.0.1)', () => {
  const timeouts = { requestTimeoutMs: 600, connectionTimeoutMs: 1500, keepAliveTimeoutMs: 300 };
  let live: FastifyInstance;
  let port = 0;
  beforeAll(async () => {
    live = (await buildTestApp({ admin: 'open', timeouts })).app;
    await live.listen({ host: '127.0.0.1', port: 0 });
    port = (live.server.address() as { port: number }).port;
  });
  afterAll(() => live.close());

  const open = () =>
    new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
      s.once('error', reject);
    });

  it('cuts a trickling body at the request timeout with 408 RECLAB_ERR_REQUEST_TIMEOUT', async () => {
    const s = await open();
    const t0 = performance.now();
    const closed = untilClosed(s, t0);
    s.write(
      'POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n[',
    );
    const trickle = setInterval(() => s.writable && s.write(' '), 50);
    const { text, ms } = await closed;
    clearInterval(trickle);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(text).toContain('Connection: close');
    expect(code(text.slice(text.indexOf('\r\n\r\n') + 4))).toBe('RECLAB_ERR_REQUEST_TIMEOUT');
    // Cut after the deadline, within a quarter of it plus scheduling slack, although bytes kept coming.
    expect(ms).toBeGreaterThanOrEqual(timeouts.requestTimeoutMs - 20);
    expect(ms).toBeLessThan(timeouts.requestTimeoutMs * 1.25 + 400);
  });

  it('cuts trickling headers at the request timeout with 408 RECLAB_ERR_REQUEST_TIMEOUT', async () => {
    const s = await open();
    const t0 = performance.now();
    const closed = untilClosed(s, t0);
    s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const trickle = setInterval(() => s.writable && s.write('X-Slow: a\r\n'), 50);
    const { text, ms } = await closed;
    clearInterval(trickle);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(code(text.slice(text.indexOf('\r\n\r\n') + 4))).toBe('RECLAB_ERR_REQUEST_TIMEOUT');
    expect(ms).toBeGreaterThanOrEqual(timeouts.requestTimeoutMs - 20);
    expect(ms).toBeLessThan(timeouts.requestTimeoutMs * 1.25 + 400);
  });

  // Node sweeps a connection that has not sent a byte as a request whose headers are late (it is in
  // its active list from accept); before core/http/unused-connections.ts the core answered it 408
  // at the request timeout, so a client's unused pooled connections were cut and reconnected.
  it('closes a connection that sends nothing quietly after the keep-alive timeout, with no 408', async () => {
    const s = await open();
    const { text, ms } = await untilClosed(s);
    expect(text).toBe('');
    // Held past the request timeout, like an idle keep-alive connection: keepAliveTimeout + 1 s.
    expect(ms).toBeGreaterThanOrEqual(timeouts.keepAliveTimeoutMs + 1000 - 20);
    expect(ms).toBeLessThan(timeouts.keepAliveTimeoutMs + 1000 + 500);
  });

  it('serves the first request of a connection opened before the request timeout (no 408)', async () => {
    const s = await open();
    const closed = untilClosed(s);
    // Past the deadline and the sweep after it (every quarter of the deadline).
    await new Promise((r) => setTimeout(r, timeouts.requestTimeoutMs * 1.25 + 200));
    expect(s.writable).toBe(true);
    s.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const { text } = await closed;
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text).not.toContain(' 408 ');
  });

  it('cuts trickling headers with 408 on a connection that was unused past the request timeout', async () => {
    const s = await open();
    const closed = untilClosed(s);
    await new Promise((r) => setTimeout(r, timeouts.requestTimeoutMs * 1.25 + 200));
    // The first byte starts the request's deadline (Node puts the connection back in its sweep).
    const t0 = performance.now();
    s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const trickle = setInterval(() => s.writable && s.write('X-Slow: a\r\n'), 50);
    const { text } = await closed;
    clearInterval(trickle);
    const ms = performance.now() - t0;
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(ms).toBeGreaterThanOrEqual(timeouts.requestTimeoutMs - 20);
    expect(ms).toBeLessThan(timeouts.requestTimeoutMs * 1.25 + 400);
  });

  it("gives a connection's first request the connection timeout, not the idle one", async () => {
    const s = await open();
    const closed = untilClosed(s);
    const seen = new Promise<number | undefined>((resolve) =>
      live.server.once('request', (req: { socket: Socket }) => resolve(req.socket.timeout)),
    );
    s.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(await seen).toBe(timeouts.connectionTimeoutMs);
    await closed;
  });

  it('closes an idle keep-alive connection quietly after the keep-alive timeout', async () => {
    const s = await open();
    const closed = untilClosed(s);
    s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    const { text, ms } = await closed;
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    // One response: held past the request timeout, closed without a 408.
    expect(text.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect(ms).toBeGreaterThanOrEqual(timeouts.keepAliveTimeoutMs - 20);
    // Node closes it 1 s after the advertised `Keep-Alive: timeout` (its grace for clients).
    expect(ms).toBeLessThan(timeouts.keepAliveTimeoutMs + 1000 + 500);
  });

  it('does not wait for a connection that sent nothing when the server closes', async () => {
    const { app: a } = await buildTestApp({ timeouts });
    await a.listen({ host: '127.0.0.1', port: 0 });
    const s = await new Promise<Socket>((resolve) => {
      const c = connect({ host: '127.0.0.1', port: (a.server.address() as { port: number }).port }, () =>
        resolve(c),
      );
    });
    const closed = untilClosed(s);
    const t0 = performance.now();
    await a.close();
    // Node's closeIdleConnections skips it (it looks like a request in progress): the close waited
    // for the connection timeout.
    expect(performance.now() - t0).toBeLessThan(300);
    expect((await closed).text).toBe('');
  });

  it('answers oversized headers with 431 and a malformed request with 400, with the core codes', async () => {
    const big = await open();
    const bigClosed = untilClosed(big);
    big.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    const b = await bigClosed;
    expect(b.text).toMatch(/^HTTP\/1\.1 431 /);
    expect(code(b.text.slice(b.text.indexOf('\r\n\r\n') + 4))).toBe('RECLAB_ERR_HEADERS_TOO_LARGE');

    const bad = await open();
    const badClosed = untilClosed(bad);
    bad.write('GARBAGE\u0000 / HTTP/9\r\n\r\n');
    const g = await badClosed;
    expect(g.text).toMatch(/^HTTP\/1\.1 400 /);
    expect(code(g.text.slice(g.text.indexOf('\r\n\r\n') + 4))).toBe('RECLAB_ERR_REQUEST_MALFORMED');

    // HTTP/1.1 without Host (RFC 9112 §3.2): Node's own answer is an empty 400; the core's has a code.
    const noHost = await open();
    const noHostClosed = untilClosed(noHost);
    noHost.end('GET /healthz HTTP/1.1\r\n\r\n');
    const h = await noHostClosed;
    expect(h.text).toMatch(/^HTTP\/1\.1 400 /);
    expect(code(h.text.slice(h.text.indexOf('\r\n\r\n') + 4))).toBe('RECLAB_ERR_REQUEST_MALFORMED');
  });

  it('applies the stated defaults to the server', async () => {
    const { app: d } = await buildTestApp();
    await d.ready();
    expect(d.server.requestTimeout).toBe(DEFAULT_SERVER_TIMEOUTS.requestTimeoutMs);
    expect(d.server.headersTimeout).toBe(DEFAULT_SERVER_TIMEOUTS.requestTimeoutMs);
    expect(d.server.keepAliveTimeout).toBe(DEFAULT_SERVER_TIMEOUTS.keepAliveTimeoutMs);
    expect(d.server.timeout).toBe(DEFAULT_SERVER_TIMEOUTS.connectionTimeoutMs);
    expect(DEFAULT_SERVER_TIMEOUTS).toEqual({
      requestTimeoutMs: 10_000,
      connectionTimeoutMs: 60_000,
      keepAliveTimeoutMs: 72_000,
    });
    await d.close();
  });
});
