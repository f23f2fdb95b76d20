/**
 * Safe defaults (issue 9, item 7): the routes that change what the core serves — /admin/* and
 * POST /v1/videos/fresh — answer 401 RECLAB_ERR_ADMIN_UNAUTHORIZED with `WWW-Authenticate: Bearer`
 * unless a token is configured, the core binds loopback only, or the documented opt-out is set.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config/config.ts';
import { adminAccessOf, isLoopbackHost } from '../../core/http/admin-access.ts';
import { buildTestApp } from '../helpers/test-app.ts';

const TOKEN = 'a-token-of-16-chars-or-more';
const guarded = [
  { method: 'GET', url: '/admin/models' },
  { method: 'POST', url: '/admin/models/activate', payload: { version: 'green' } },
  { method: 'POST', url: '/admin/models/rollback' },
  { method: 'GET', url: '/admin/faults' },
  { method: 'PUT', url: '/admin/faults/ranker', payload: { kind: 'error' } },
  { method: 'DELETE', url: '/admin/faults' },
  { method: 'POST', url: '/v1/videos/fresh', payload: { video_ids: ['v_1'] } },
] as const;

const apps = {
  default: (await buildTestApp()).app,
  closed: (await buildTestApp({ admin: 'closed' })).app,
  token: (await buildTestApp({ admin: { token: TOKEN } })).app,
  open: (await buildTestApp({ admin: 'open' })).app,
};
afterAll(() => Promise.all(Object.values(apps).map((a) => a.close())));

describe('admin and fresh-upload routes', () => {
  it('answer 401 with WWW-Authenticate: Bearer by default, before reading the body', async () => {
    for (const r of guarded) {
      const res = await apps.default.inject({ ...r, headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.statusCode, r.url).toBe(401);
      expect(res.headers['www-authenticate'], r.url).toBe('Bearer realm="reclab-admin"');
      expect(res.json().code, r.url).toBe('RECLAB_ERR_ADMIN_UNAUTHORIZED');
    }
    // Refused before the body is parsed: a malformed body still gets the 401.
    const bad = await apps.closed.inject({
      method: 'POST',
      url: '/admin/models/activate',
      headers: { 'content-type': 'application/json' },
      payload: '{not json',
    });
    expect(bad.statusCode).toBe(401);
  });

  it('need the bearer token when one is configured', async () => {
    for (const r of guarded) {
      const none = await apps.token.inject(r);
      expect([none.statusCode, none.headers['www-authenticate']], r.url).toEqual([
        401,
        'Bearer realm="reclab-admin"',
      ]);
      const wrong = await apps.token.inject({ ...r, headers: { authorization: `Bearer ${TOKEN}x` } });
      expect(wrong.statusCode, r.url).toBe(401);
      const basic = await apps.token.inject({ ...r, headers: { authorization: `Basic ${TOKEN}` } });
      expect(basic.statusCode, r.url).toBe(401);
      const right = await apps.token.inject({ ...r, headers: { authorization: `bearer ${TOKEN}` } });
      expect(right.statusCode, r.url).toBeLessThan(400);
    }
  });

  it('are served without a token when open (loopback bind or the opt-out)', async () => {
    for (const r of guarded) expect((await apps.open.inject(r)).statusCode, r.url).toBeLessThan(400);
  });

  it('leave the public routes alone', async () => {
    const rec = await apps.default.inject({
      method: 'POST',
      url: '/v1/recommendations',
      payload: { user_id: 'u_1' },
    });
    expect(rec.statusCode).toBe(200);
    expect((await apps.default.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});

describe('adminAccessOf (the core configuration)', () => {
  const base = {
    RECLAB_REDIS_URL: 'redis://r:6379',
    RECLAB_KAFKA_BROKERS: 'k:9092',
    RECLAB_ARTIFACTS_DIR: '/m',
  };
  it('is closed on a non-loopback address without a token, open on loopback, token when set', () => {
    expect(adminAccessOf(loadConfig({ ...base, RECLAB_HOST: '0.0.0.0' }))).toBe('closed');
    expect(adminAccessOf(loadConfig({ ...base, RECLAB_HOST: '::' }))).toBe('closed');
    expect(adminAccessOf(loadConfig({ ...base, RECLAB_HOST: '10.0.0.5' }))).toBe('closed');
    expect(adminAccessOf(loadConfig(base))).toBe('open'); // default host 127.0.0.1
    expect(adminAccessOf(loadConfig({ ...base, RECLAB_HOST: '0.0.0.0', RECLAB_ADMIN_TOKEN: TOKEN }))).toEqual(
      {
        token: TOKEN,
      },
    );
    expect(adminAccessOf(loadConfig({ ...base, RECLAB_HOST: '0.0.0.0', RECLAB_ADMIN_OPEN: 'always' }))).toBe(
      'open',
    );
    // A token wins over the opt-out.
    expect(
      adminAccessOf(
        loadConfig({
          ...base,
          RECLAB_HOST: '0.0.0.0',
          RECLAB_ADMIN_OPEN: 'always',
          RECLAB_ADMIN_TOKEN: TOKEN,
        }),
      ),
    ).toEqual({ token: TOKEN });
    expect(() => loadConfig({ ...base, RECLAB_ADMIN_OPEN: 'yes' })).toThrow(/RECLAB_ADMIN_OPEN/);
  });

  it('knows the loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])
      expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com', '', '::ffff:10.0.0.1'])
      expect(isLoopbackHost(h), h).toBe(false);
  });
});
