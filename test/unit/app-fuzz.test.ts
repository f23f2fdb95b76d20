/**
 * Fuzzing the core's HTTP app (issue 9, acceptance): malformed, oversized, slow and unicode input at
 * every route of `buildApp`. Asserts no 5xx, the app stays up, and every error body carries a code
 * of the documented table (core/errors.ts = docs/errors.md) with that code's status.
 *
 * Bounded in time: fast-check with a fixed seed (printed with the counterexample on failure; replay
 * with that seed and path) and a time limit per property. `app.inject()` covers the routes; a real
 * socket on 127.0.0.1 covers slow bodies, slow headers and raw bytes that no HTTP client would send.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BODY_LIMITS } from '../../core/app.ts';
import { ERRORS } from '../../core/errors.ts';
import { buildTestApp } from '../helpers/test-app.ts';

const SEED = 909;
const TOKEN = 'fuzz-token-of-16-chars-or-more';
const DOCUMENTED = new Set(
  [
    ...readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8').matchAll(
      /^\|\s*`(RECLAB_ERR_[A-Z_]+)`/gm,
    ),
  ].map((m) => m[1]),
);

/** Every route of the app, as method + path (`:target` filled in by the fuzzer). */
const ROUTES = [
  ['GET', '/healthz'],
  ['GET', '/readyz'],
  ['GET', '/metrics'],
  ['GET', '/openapi.json'],
  ['POST', '/v1/recommendations'],
  ['POST', '/v1/videos/fresh'],
  ['POST', '/v1/events'],
  ['GET', '/admin/faults'],
  ['DELETE', '/admin/faults'],
  ['PUT', '/admin/faults/:target'],
  ['DELETE', '/admin/faults/:target'],
  ['GET', '/admin/models'],
  ['POST', '/admin/models/activate'],
  ['POST', '/admin/models/rollback'],
] as const;

/** The routes Fastify printed (HEAD aside), as `METHOD path`: the fuzzer must know them all. */
function registeredRoutes(tree: string): string[] {
  const out: string[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = line.match(/^([│ ]*)[├└]── (\S+) \(([^)]+)\)/);
    if (!m) continue;
    const depth = m[1].length / 4;
    stack.length = depth;
    stack.push(m[2]);
    for (const method of m[3].split(', ')) if (method !== 'HEAD') out.push(`${method} ${stack.join('')}`);
  }
  return out.sort();
}

/** Checks one answer: no 5xx; an error body is the core's, with a documented code and its status. */
function checkAnswer(status: number, body: string, method: string): void {
  expect(status, body).toBeLessThan(500);
  if (status < 400 || method === 'HEAD') return;
  let code: string | undefined;
  try {
    code = (JSON.parse(body) as { code?: string }).code;
  } catch {
    throw new Error(`${status} with a body that is not JSON: ${JSON.stringify(body.slice(0, 300))}`);
  }
  expect(code && code in ERRORS ? ERRORS[code as keyof typeof ERRORS].status : undefined, body).toBe(status);
  expect(DOCUMENTED.has(code as string), `${code} in docs/errors.md`).toBe(true);
}

// ---- arbitraries ------------------------------------------------------------------------------

/** Strings with anything in them: lone surrogates, control characters, emoji, right-to-left marks. */
const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\ud800',
    '\u202e',
    '💥'.repeat(20),
    'v_1',
    'v_0x10',
    'u_1',
    '__proto__',
  ),
);
const videoIdLike = fc.oneof(
  fc.nat().map((n) => `v_${n}`),
  fc.constantFrom('v_', 'v_0x10', 'v_1.0', 'v_1e300', 'v_007', `v_${2 ** 31}`, 'v_-1', 'v_١'),
  anyText,
);
/** Text for a URL: percent-encoded UTF-8 (lone surrogates become U+FFFD), raw bytes, or URL-safe characters. */
const urlText = fc.oneof(
  anyText.map((t) => Buffer.from(t, 'utf8').toString('hex').replace(/../g, '%$&')),
  fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b).toString('hex').replace(/../g, '%$&')),
  fc.stringMatching(/^[A-Za-z0-9._~%:@!$&'()*+,;=-]{0,24}$/),
);
const numberLike = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -1, 1e300, 2 ** 53, 0.5), anyText);
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

/** Mostly `valid`, sometimes anything. */
const mostly = <T>(valid: fc.Arbitrary<T>, other: fc.Arbitrary<unknown> = anyText) =>
  fc.oneof({ weight: 4, arbitrary: valid as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: other });
/** Usually null (no change), sometimes `a`. */
const rarely = <T>(a: fc.Arbitrary<T>) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: a as fc.Arbitrary<T | null> },
  );

const validVideoId = fc.nat({ max: 2 ** 31 - 1 }).map((n) => `v_${n}`);
const validEvent = fc.record(
  {
    event_id: fc.uuid(),
    type: fc.constantFrom('watch', 'click', 'like', 'impression'),
    user_id: fc.nat().map((n) => `u_${n}`),
    video_id: validVideoId,
    region: fc.constantFrom('na', 'eu', 'oceania'),
    watch_time_s: fc.double({ min: 0, max: 86_400, noNaN: true }),
    timestamp_ms: fc.integer({ min: 1, max: 2 ** 45 }),
    extra: fc.jsonValue({ maxDepth: 2 }), // unknown fields are dropped, never an error
  },
  { requiredKeys: ['event_id', 'type', 'user_id', 'video_id', 'timestamp_ms'] },
);
/** Valid (weight 3) or fuzzed (weight 2: every field mostly valid, each sometimes missing or anything). */
const validOr = (valid: fc.Arbitrary<unknown>, fuzzed: fc.Arbitrary<unknown>) =>
  fc.oneof({ weight: 3, arbitrary: valid }, { weight: 2, arbitrary: fuzzed });

/** Bodies shaped like each route's. */
const SHAPES: Record<string, fc.Arbitrary<unknown>> = {
  '/v1/recommendations': validOr(
    fc.record(
      {
        user_id: fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/),
        count: fc.integer({ min: 1, max: 100 }),
        context: fc.record(
          {
            region: fc.constantFrom('na', 'eu', 'south_asia'),
            device: fc.constantFrom('mobile', 'tv'),
            time: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
          },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: ['user_id'] },
    ),
    fc.record({
      user_id: maybe(mostly(fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/))),
      count: maybe(mostly(fc.integer({ min: 1, max: 100 }), numberLike)),
      context: maybe(fc.record({ region: maybe(anyText), device: maybe(anyText), time: maybe(anyText) })),
    }),
  ),
  '/v1/videos/fresh': validOr(
    fc.record({ video_ids: fc.array(validVideoId, { minLength: 1, maxLength: 100 }) }),
    fc.record({ video_ids: maybe(fc.array(videoIdLike, { maxLength: 120 })) }),
  ),
  '/v1/events': validOr(
    fc.oneof(
      { weight: 4, arbitrary: fc.array(validEvent, { minLength: 1, maxLength: 10 }) },
      // The lab's batches are 200 events; the route takes up to 500.
      { weight: 1, arbitrary: fc.array(validEvent, { minLength: 150, maxLength: 500, size: 'max' }) },
    ),
    fc.array(
      fc.record({
        event_id: maybe(mostly(fc.uuid())),
        type: maybe(mostly(fc.constantFrom('watch', 'click', 'like', 'impression'))),
        user_id: maybe(mostly(fc.nat().map((n) => `u_${n}`))),
        video_id: maybe(videoIdLike),
        region: maybe(mostly(fc.constantFrom('na', 'eu', 'oceania'))),
        watch_time_s: maybe(mostly(fc.double({ min: 0, max: 86_400, noNaN: true }), numberLike)),
        timestamp_ms: maybe(mostly(fc.integer({ min: 1, max: 2 ** 45 }), numberLike)),
      }),
      { maxLength: 40 },
    ),
  ),
  '/admin/models/activate': validOr(
    fc.record({ version: fc.constantFrom('green', 'blue') }),
    fc.record({ version: maybe(anyText) }),
  ),
  '/admin/faults/:target': validOr(
    fc.record(
      {
        kind: fc.constantFrom('delay', 'error'),
        delay_ms: fc.nat({ max: 50 }),
        ratio: fc.double({ min: 0.01, max: 1, noNaN: true }),
        for_ms: fc.integer({ min: 1, max: 50 }),
      },
      { requiredKeys: ['kind'] },
    ),
    fc.record({
      kind: maybe(mostly(fc.constantFrom('delay', 'error'))),
      delay_ms: maybe(numberLike),
      ratio: maybe(numberLike),
      for_ms: maybe(numberLike),
    }),
  ),
};
const anyShape = fc.oneof(...Object.values(SHAPES), fc.anything({ maxDepth: 3 }));

/**
 * A body as sent to `route`: JSON of its shape (or another), broken JSON, prototype poisoning, deep
 * nesting, or a body at and over the limits.
 */
const payloadFor = (route: string) =>
  fc.oneof(
    { weight: 8, arbitrary: (SHAPES[route] ?? anyShape).map((b) => JSON.stringify(b) ?? 'null') },
    { weight: 2, arbitrary: anyShape.map((b) => JSON.stringify(b) ?? 'null') },
    { weight: 2, arbitrary: anyText },
    { weight: 1, arbitrary: anyShape.map((b) => (JSON.stringify(b) ?? '').slice(0, -1)) },
    { weight: 1, arbitrary: fc.constantFrom('{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}') },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 1, max: 100_000 }).map((d) => `${'['.repeat(d)}${']'.repeat(d)}`),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(BODY_LIMITS.noBody, BODY_LIMITS.recommendations, BODY_LIMITS.events)
        .map((n) => `"${'x'.repeat(n)}"`),
    },
  );

const contentType = fc.oneof(
  { weight: 5, arbitrary: fc.constant('application/json') },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'application/json; charset=utf-16',
      'APPLICATION/JSON',
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/octet-stream',
      'multipart/form-data; boundary=x',
      'application/json;;;',
      '*/*',
      '',
    ),
  },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

/** A path: a route's (with a fuzzed `:target`), or a fuzzed one (unicode, percent-encoding, dots). */
const pathOf = (template: string) =>
  template.includes(':target')
    ? fc
        .oneof(
          fc.constantFrom(
            'ranker',
            'retrieval.two_tower',
            'features',
            'x'.repeat(101),
            '%E0%A4%A',
            '%00',
            '..',
          ),
          urlText,
        )
        .map((t) => template.replace(':target', t))
    : fc.constant(template);
const fuzzedPath = fc.oneof(
  fc.constantFrom('/', '//v1//recommendations', '/v1/recommendations/', '/admin', '/%', '/%zz', '/v1/%E2%82'),
  fc.array(urlText, { maxLength: 4 }).map((parts) => `/${parts.join('/')}`),
);

const request: fc.Arbitrary<InjectOptions> = fc.constantFrom(...ROUTES).chain(([method, route]) =>
  fc
    .record({
      path: fc.oneof({ weight: 5, arbitrary: pathOf(route) }, { weight: 1, arbitrary: fuzzedPath }),
      otherMethod: rarely(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD')),
      query: rarely(urlText.map((q) => `?${q}&a=%ZZ`)),
      auth: fc.constantFrom(
        `Bearer ${TOKEN}`,
        `Bearer ${TOKEN}`,
        `Bearer ${TOKEN}`,
        'Bearer wrong-token-of-16-chars',
        'Basic x',
        undefined,
      ),
      contentType,
      payload:
        method === 'POST' || method === 'PUT'
          ? fc.option(payloadFor(route), { freq: 10 })
          : rarely(payloadFor(route)),
    })
    .map((r) => {
      const headers: Record<string, string> = {};
      if (r.auth) headers.authorization = r.auth;
      if (r.contentType !== undefined && r.payload !== null) headers['content-type'] = r.contentType;
      return {
        method: (r.otherMethod ?? method) as InjectOptions['method'],
        url: `${r.path}${r.query ?? ''}`,
        headers,
        ...(r.payload === null ? {} : { payload: r.payload }),
      };
    }),
);

// ---- the app ------------------------------------------------------------------------------------

const timeouts = { requestTimeoutMs: 400, connectionTimeoutMs: 2000, keepAliveTimeoutMs: 200 };
const { app } = await buildTestApp({ admin: { token: TOKEN }, timeouts });
let port = 0;
beforeAll(async () => {
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as { port: number }).port;
});
afterAll(() => app.close());

async function healthy(): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  expect(res.status).toBe(200);
  await res.arrayBuffer();
}

describe('fuzzing the HTTP app', () => {
  it('knows every route the app registers', () => {
    const known = ROUTES.map(([m, p]) => `${m} ${p}`).sort();
    expect(registeredRoutes(app.printRoutes({ commonPrefix: false }))).toEqual(known);
  });

  it('answers malformed, oversized and unicode requests at every route without a 5xx', async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (req) => {
        const res = await app.inject(req);
        seen.set(res.statusCode, (seen.get(res.statusCode) ?? 0) + 1);
        checkAnswer(res.statusCode, res.body, String(req.method));
      }),
      { seed: SEED, numRuns: 5000, interruptAfterTimeLimit: 8000, markInterruptAsFailure: false },
    );
    // The fuzzer reached handlers (2xx) and each kind of refusal, not only one error path.
    const byStatus = Object.fromEntries([...seen].sort((a, b) => a[0] - b[0]));
    console.log(
      `fuzz: ${[...seen.values()].reduce((a, b) => a + b, 0)} requests, by status ${JSON.stringify(byStatus)}`,
    );
    for (const status of [200, 202, 400, 401, 404, 409, 413, 414, 415])
      expect(seen.get(status) ?? 0, `status ${status}`).toBeGreaterThan(0);
    await healthy();
  }, 30_000);

  /** Writes `chunks` to a fresh socket, `gapMs` apart, and returns what the server wrote until it closed. */
  function exchange(chunks: Buffer[], gapMs: number): Promise<{ text: string; ms: number }> {
    return new Promise((resolve, reject) => {
      const t0 = performance.now();
      let text = '';
      let timer: NodeJS.Timeout | undefined;
      const s = connect({ host: '127.0.0.1', port }, () => {
        let i = 0;
        const next = () => {
          if (i < chunks.length && s.writable) s.write(chunks[i++]);
          if (i < chunks.length) timer = setTimeout(next, gapMs);
        };
        next();
      });
      s.on('data', (d) => {
        text += d.toString('latin1');
      });
      s.on('error', () => {});
      s.on('close', () => {
        clearTimeout(timer);
        resolve({ text, ms: performance.now() - t0 });
      });
      setTimeout(() => {
        s.destroy();
        reject(new Error(`connection still open after 5 s; server wrote: ${text.slice(0, 200)}`));
      }, 5000).unref();
    });
  }

  /** The status and body of the first response in `text` (raw HTTP), if any. */
  function firstResponse(text: string): { status: number; body: string } | undefined {
    const m = text.match(/^HTTP\/1\.1 (\d{3}) /);
    if (!m) return undefined;
    const head = text.slice(0, text.indexOf('\r\n\r\n'));
    const length = Number(head.match(/content-length: (\d+)/i)?.[1] ?? 0);
    const start = head.length + 4;
    return { status: Number(m[1]), body: text.slice(start, start + length) };
  }

  it('cuts slow bodies and slow headers at the request timeout, raw bytes and all', async () => {
    const route = fc.constantFrom(
      '/v1/events',
      '/v1/recommendations',
      '/admin/models/activate',
      '/v1/videos/fresh',
    );
    const slow = fc.record({
      kind: fc.constantFrom('body', 'headers'),
      route,
      declared: fc.integer({ min: 10, max: 800 }),
      junk: fc.uint8Array({ minLength: 1, maxLength: 8 }),
      gapMs: fc.integer({ min: 20, max: 150 }),
    });
    // Slow clients run at once (each takes about the request timeout), so the test stays short.
    const cases = fc.sample(slow, { seed: SEED, numRuns: 8 });
    const results = await Promise.all(
      cases.map((c) => {
        const head = `POST ${c.route} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\n`;
        const chunks =
          c.kind === 'body'
            ? [
                Buffer.from(`${head}Content-Length: ${c.declared}\r\n\r\n[`),
                ...Array(40).fill(Buffer.from(c.junk)),
              ]
            : [Buffer.from(head), ...Array(40).fill(Buffer.from(`X-Slow: ${'a'.repeat(c.junk.length)}\r\n`))];
        return exchange(chunks, c.gapMs).then((r) => ({ c, ...r }));
      }),
    );
    for (const { c, text, ms } of results) {
      const first = firstResponse(text);
      // Cut by the server near the deadline (it checks every quarter of it), although bytes kept coming.
      expect(ms, JSON.stringify(c)).toBeLessThan(timeouts.requestTimeoutMs * 1.25 + 500);
      if (first) checkAnswer(first.status, first.body, 'POST');
      // A trickle that ends before the deadline with broken JSON gets a 400 instead; either way a code.
      expect(first?.status ?? 408, JSON.stringify(c)).toBeGreaterThanOrEqual(400);
    }
    await healthy();
  }, 20_000);

  it('answers raw bytes with a coded 4xx or a close, never a 5xx', async () => {
    const raw = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => Buffer.from(b)),
      fc
        .tuple(
          fc.constantFrom('GET /healthz', 'POST /v1/events', 'PUT /admin/faults/x'),
          fc.uint8Array({ maxLength: 200 }),
        )
        .map(([line, b]) =>
          Buffer.concat([Buffer.from(`${line} HTTP/1.1\r\n`), Buffer.from(b), Buffer.from('\r\n\r\n')]),
        ),
      fc
        .string({ unit: 'grapheme', minLength: 1, maxLength: 30 })
        .map((s) => Buffer.from(`GET /${s} HTTP/1.1\r\nHost: ${s}\r\nX-${s}: ${s}\r\n\r\n`, 'utf8')),
    );
    const cases = fc.sample(raw, { seed: SEED, numRuns: 60 });
    // Each client half-closes after writing, so an incomplete request ends at once instead of waiting.
    const results = await Promise.all(
      cases.map(
        (bytes) =>
          new Promise<string>((resolve) => {
            let text = '';
            const s = connect({ host: '127.0.0.1', port }, () => s.end(bytes));
            s.on('data', (d) => {
              text += d.toString('latin1');
            });
            s.on('error', () => {});
            s.on('close', () => resolve(text));
          }),
      ),
    );
    for (const text of results) {
      // Pipelined or keep-alive answers: check every response the server wrote.
      for (const part of text.split(/(?=HTTP\/1\.1 \d{3} )/)) {
        const r = firstResponse(part);
        if (r) checkAnswer(r.status, r.body, part.includes('HEAD') ? 'HEAD' : 'GET');
      }
    }
    await healthy();
  }, 20_000);
});
