/**
 * Every error answer is RFC 9457 problem details (issue 16): the test walks the whole error table
 * (core/errors.ts), makes the core's HTTP app answer each code it can answer with, and checks the
 * status, `Content-Type: application/problem+json`, the members (`type`, `title`, `status`,
 * `detail`, `code`, nothing else), `Retry-After` on a 503 and `WWW-Authenticate` on a 401. The
 * codes no request can produce are listed with the reason; a new code fails the test until it is
 * walked or listed.
 */
import { connect } from 'node:net';
import { Ajv } from 'ajv';
import formats from 'ajv-formats';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../core/app.ts';
import { ERRORS, type ErrorCode, ReclabError, RetryableError } from '../../core/errors.ts';
import { PROBLEM_TYPE_PREFIX } from '../../core/http/problem.ts';
import { problemSchema } from '../../core/http/route-schemas.ts';
import type { FeatureStore } from '../../core/ports/feature-store.ts';
import type { SwappableModelSet } from '../../core/registry/model-slots.ts';
import { emptyFeatureStore, fakeModelSet, fixtureCore } from '../helpers/core-fixtures.ts';
import { realClock } from '../helpers/test-app.ts';

const TOKEN = 'walk-token-of-16-chars-or-more';
const auth = { authorization: `Bearer ${TOKEN}` };
const json = { 'content-type': 'application/json' };

/** Codes no request can be answered with, and why. */
const NOT_AN_ANSWER: Partial<Record<ErrorCode, string>> = {
  RECLAB_ERR_CONFIG_INVALID: 'start-up only: the core exits 2 (docs/exit-codes.md)',
};
/** Codes the fallback ladder absorbs: a 200 with the code in meta.reasons, never an error answer. */
const DEGRADE_ONLY = (Object.keys(ERRORS) as ErrorCode[]).filter(
  (c) => ERRORS[c].degrades && c !== 'RECLAB_ERR_OVERLOADED',
);

// ajv-formats is CommonJS: its function is the default export's `default`.
const addFormats = formats as unknown as { default: (a: Ajv) => Ajv };
const validate = addFormats.default(new Ajv({ strict: false })).compile({ ...problemSchema, $id: undefined });

// ---- the apps ---------------------------------------------------------------------------------

/** What the stand-in event log and model loader do next. */
let publishFails: Error | undefined;
let releaseSlowLoad = () => {};
/** A model set with an item tower and a fresh index, so POST /v1/videos/fresh reaches the store. */
const withItemTower = (v: string): SwappableModelSet => ({
  ...fakeModelSet(v),
  fresh: { vectorOf: () => undefined, add: () => 1 },
  itemEncoder: { encodeBatch: async (_f, n) => new Float32Array(n * 2) },
});
/** A feature store whose video reads fail with a plain Error (a bug's stand-in: 500 INTERNAL). */
const failingVideos: FeatureStore = {
  ...emptyFeatureStore,
  getVideos: async () => {
    throw new Error('stand-in for a bug');
  },
};

const core = await fixtureCore({
  clock: realClock,
  features: failingVideos,
  models: {
    initial: withItemTower('blue'),
    load: async (v) => {
      if (v === 'unset') throw new ReclabError('RECLAB_ERR_MODEL_REGISTRY_UNSET');
      if (v === 'broken') throw new Error('corrupt ranker.onnx');
      if (v === 'slow') await new Promise<void>((r) => (releaseSlowLoad = r));
      if (v === 'plain') return fakeModelSet(v);
      if (v !== 'green' && v !== 'slow') throw new ReclabError('RECLAB_ERR_MODEL_VERSION_UNKNOWN', v);
      return withItemTower(v);
    },
  },
  events: {
    publish: async () => {
      if (publishFails) throw publishFails;
    },
  },
});
const app = buildApp(core, { logLevel: 'silent', admin: { token: TOKEN } });

/** A core whose bulkhead admits one request and queues none, and whose user reads wait. */
let unblock = () => {};
const blocked = new Promise<void>((r) => (unblock = r));
const oneSlot = await fixtureCore({
  clock: realClock,
  features: {
    ...emptyFeatureStore,
    getUser: async () => {
      await blocked;
      return undefined;
    },
  },
  bulkhead: { maxConcurrent: 1, maxQueue: 0, shedTargetMs: 50, shedIntervalMs: 500 },
  brownout: { enabled: false },
});
const busy = buildApp(oneSlot, { logLevel: 'silent' });

/** Short server timeouts for the refusals of Node's parser, on a real socket. */
const live = buildApp(await fixtureCore({ clock: realClock }), {
  logLevel: 'silent',
  timeouts: { requestTimeoutMs: 400, connectionTimeoutMs: 1500, keepAliveTimeoutMs: 300 },
});
let port = 0;
beforeAll(async () => {
  await live.listen({ host: '127.0.0.1', port: 0 });
  port = (live.server.address() as { port: number }).port;
});
afterAll(() => Promise.all([app.close(), busy.close(), live.close()]));

// ---- answers ----------------------------------------------------------------------------------

interface Answer {
  status: number;
  headers: Record<string, string | undefined>;
  body: string;
}

async function injected(target: FastifyInstance, req: InjectOptions): Promise<Answer> {
  const res = await target.inject(req);
  return { status: res.statusCode, headers: res.headers as Answer['headers'], body: res.body };
}

/** Writes `raw` on a new connection to the live app and parses what comes back before it closes. */
function onSocket(raw: string, trickle = false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let text = '';
    const s = connect({ host: '127.0.0.1', port }, () => s.write(raw));
    const timer = trickle ? setInterval(() => s.writable && s.write(' '), 50) : undefined;
    s.on('data', (d) => {
      text += d.toString('utf8');
    });
    s.on('error', () => {});
    s.on('close', () => {
      clearInterval(timer);
      const [head, body = ''] = text.split('\r\n\r\n');
      const lines = head.split('\r\n');
      const status = Number(lines[0]?.split(' ')[1]);
      if (!status) return reject(new Error(`no HTTP answer: ${JSON.stringify(text)}`));
      const headers = Object.fromEntries(
        lines
          .slice(1)
          .map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
      );
      resolve({ status, headers, body });
    });
  });
}

/** How to make the app answer each code. */
const TRIGGERS: Partial<Record<ErrorCode, () => Promise<Answer>>> = {
  RECLAB_ERR_REQUEST_INVALID: () =>
    injected(app, { method: 'POST', url: '/v1/recommendations', payload: { user_id: 'u 1' } }),
  RECLAB_ERR_ROUTE_NOT_FOUND: () => injected(app, { method: 'GET', url: '/nope' }),
  RECLAB_ERR_URL_INVALID: () =>
    injected(app, { method: 'GET', url: '/admin/faults/%E0%A4%A', headers: auth }),
  RECLAB_ERR_URL_TOO_LONG: () =>
    injected(app, { method: 'DELETE', url: `/admin/faults/${'a'.repeat(101)}`, headers: auth }),
  RECLAB_ERR_BODY_MALFORMED: () =>
    injected(app, { method: 'POST', url: '/v1/recommendations', headers: json, payload: '{"user_id":' }),
  RECLAB_ERR_BODY_TOO_LARGE: () =>
    injected(app, {
      method: 'POST',
      url: '/v1/events',
      headers: json,
      payload: `[${' '.repeat(1_000_000)}]`,
    }),
  RECLAB_ERR_MEDIA_TYPE_UNSUPPORTED: () =>
    injected(app, {
      method: 'POST',
      url: '/v1/events',
      headers: { 'content-type': 'text/plain' },
      payload: '[]',
    }),
  RECLAB_ERR_REQUEST_TIMEOUT: () =>
    onSocket(
      'POST /v1/recommendations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{',
      true,
    ),
  RECLAB_ERR_HEADERS_TOO_LARGE: () =>
    onSocket(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`),
  RECLAB_ERR_REQUEST_MALFORMED: () => onSocket('GARBAGE\u0000 / HTTP/9\r\n\r\n'),
  RECLAB_ERR_OVERLOADED: async () => {
    const first = busy.inject({ method: 'POST', url: '/v1/recommendations', payload: { user_id: 'u_1' } });
    // Let the first request take the only slot before the second one asks.
    await new Promise((r) => setTimeout(r, 50));
    const second = await injected(busy, {
      method: 'POST',
      url: '/v1/recommendations',
      payload: { user_id: 'u_2' },
    });
    unblock();
    expect((await first).statusCode).toBe(200);
    return second;
  },
  RECLAB_ERR_NOT_READY: async () => {
    core.lifecycle.ready = false;
    const res = await injected(app, {
      method: 'POST',
      url: '/v1/recommendations',
      payload: { user_id: 'u_1' },
    });
    core.lifecycle.ready = true;
    return res;
  },
  RECLAB_ERR_INTERNAL: () =>
    injected(app, {
      method: 'POST',
      url: '/v1/videos/fresh',
      headers: auth,
      payload: { video_ids: ['v_1'] },
    }),
  RECLAB_ERR_FAULT_INJECTION_OFF: () => injected(app, { method: 'GET', url: '/admin/faults', headers: auth }),
  RECLAB_ERR_EVENT_INVALID: () =>
    injected(app, {
      method: 'POST',
      url: '/v1/events',
      payload: [{ event_id: 'e', type: 'watch', user_id: 'u_1', video_id: 'v_2147483648', timestamp_ms: 1 }],
    }),
  RECLAB_ERR_EVENTS_UNAVAILABLE: async () => {
    publishFails = new Error('broker gone');
    const res = await injected(app, { method: 'POST', url: '/v1/events', payload: [event] });
    publishFails = undefined;
    return res;
  },
  RECLAB_ERR_EVENTS_BACKLOG_FULL: async () => {
    publishFails = new RetryableError('RECLAB_ERR_EVENTS_BACKLOG_FULL', 2.5, 'spool full');
    const res = await injected(app, { method: 'POST', url: '/v1/events', payload: [event] });
    publishFails = undefined;
    expect(res.headers['retry-after']).toBe('3'); // the error's own wait, rounded up
    return res;
  },
  RECLAB_ERR_ARTIFACT_INVALID: async () => {
    const activate = (version: string) =>
      injected(app, { method: 'POST', url: '/admin/models/activate', headers: auth, payload: { version } });
    expect((await activate('plain')).status).toBe(200); // a set without an item tower
    const res = await injected(app, {
      method: 'POST',
      url: '/v1/videos/fresh',
      headers: auth,
      payload: { video_ids: ['v_1'] },
    });
    expect(
      (await injected(app, { method: 'POST', url: '/admin/models/rollback', headers: auth })).status,
    ).toBe(200);
    return res;
  },
  RECLAB_ERR_ADMIN_UNAUTHORIZED: () => injected(app, { method: 'GET', url: '/admin/models' }),
  RECLAB_ERR_MODEL_REGISTRY_UNSET: () =>
    injected(app, {
      method: 'POST',
      url: '/admin/models/activate',
      headers: auth,
      payload: { version: 'unset' },
    }),
  RECLAB_ERR_MODEL_VERSION_UNKNOWN: () =>
    injected(app, {
      method: 'POST',
      url: '/admin/models/activate',
      headers: auth,
      payload: { version: 'nope' },
    }),
  RECLAB_ERR_MODEL_LOAD_FAILED: () =>
    injected(app, {
      method: 'POST',
      url: '/admin/models/activate',
      headers: auth,
      payload: { version: 'broken' },
    }),
  RECLAB_ERR_MODEL_SWAP_IN_PROGRESS: async () => {
    const slow = app.inject({
      method: 'POST',
      url: '/admin/models/activate',
      headers: auth,
      payload: { version: 'slow' },
    });
    await new Promise((r) => setTimeout(r, 50));
    const res = await injected(app, {
      method: 'POST',
      url: '/admin/models/activate',
      headers: auth,
      payload: { version: 'green' },
    });
    releaseSlowLoad();
    expect((await slow).statusCode).toBe(200);
    return res;
  },
  RECLAB_ERR_MODEL_NO_PREVIOUS: async () => {
    const fresh = buildApp(await fixtureCore({ clock: realClock }), { logLevel: 'silent', admin: 'open' });
    const res = await injected(fresh, { method: 'POST', url: '/admin/models/rollback' });
    await fresh.close();
    return res;
  },
};
const event = { event_id: 'e1', type: 'watch', user_id: 'u_1', video_id: 'v_1', timestamp_ms: 1 };

describe('the error table, walked through the HTTP app', () => {
  it('has a trigger, or a stated reason, for every code', () => {
    const walked = new Set([...Object.keys(TRIGGERS), ...Object.keys(NOT_AN_ANSWER), ...DEGRADE_ONLY]);
    expect(Object.keys(ERRORS).filter((c) => !walked.has(c))).toEqual([]);
    // A code that degrades is absorbed by the ladder: no trigger could make it an error answer.
    for (const c of DEGRADE_ONLY) expect(TRIGGERS[c], c).toBeUndefined();
  });

  for (const [code, trigger] of Object.entries(TRIGGERS) as [ErrorCode, () => Promise<Answer>][]) {
    it(`${code}: ${ERRORS[code].status} application/problem+json`, async () => {
      const res = await trigger();
      const { status, message } = ERRORS[code];
      expect([res.status, res.headers['content-type']], res.body).toEqual([
        status,
        'application/problem+json; charset=utf-8',
      ]);
      const body = JSON.parse(res.body) as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual(['code', 'detail', 'status', 'title', 'type']);
      expect(body).toMatchObject({ type: `${PROBLEM_TYPE_PREFIX}${code}`, title: message, status, code });
      expect(typeof body.detail === 'string' && body.detail.length > 0).toBe(true);
      expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
      if (status === 503) expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      else expect(res.headers['retry-after']).toBeUndefined();
      if (status === 401) expect(res.headers['www-authenticate']).toBe('Bearer realm="reclab-admin"');
      else expect(res.headers['www-authenticate']).toBeUndefined();
    });
  }

  it('/readyz answers 503 with Retry-After while not ready', async () => {
    core.lifecycle.draining = true;
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    core.lifecycle.draining = false;
    expect([res.statusCode, res.headers['retry-after'], res.json().status]).toEqual([503, '1', 'not_ready']);
  });
});
