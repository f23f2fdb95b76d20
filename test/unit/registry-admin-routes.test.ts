import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../core/app.ts';
import { ReclabError } from '../../core/errors.ts';
import type { Clock } from '../../core/ports/clock.ts';
import { fakeModelSet, fixtureCore } from '../helpers/core-fixtures.ts';

const clock: Clock = { now: () => performance.now(), setTimer: () => () => {} };

const TOKEN = 'a-token-of-16-chars-or-more';
const core = await fixtureCore({
  clock,
  experiments: [{ id: 'e', variants: [{ name: 'control', share: 1 }] }],
  models: {
    load: async (v) => {
      if (v !== 'green') throw new ReclabError('RECLAB_ERR_MODEL_VERSION_UNKNOWN', v);
      return fakeModelSet(v);
    },
  },
});
const app = buildApp(core, { logLevel: 'silent', admin: { token: TOKEN } });

beforeAll(() => app.ready());
afterAll(() => app.close());

const auth = { authorization: `Bearer ${TOKEN}` };
const recommendVersion = async () =>
  (
    await app.inject({ method: 'POST', url: '/v1/recommendations', payload: { user_id: 'u_1', count: 2 } })
  ).json().meta.model_version;

describe('admin model routes', () => {
  it('require the admin token when one is configured', async () => {
    const res = await app.inject({ method: 'GET', url: '/admin/models' });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('RECLAB_ERR_ADMIN_UNAUTHORIZED');
    const wrong = await app.inject({
      method: 'POST',
      url: '/admin/models/rollback',
      headers: { authorization: 'Bearer x' },
    });
    expect(wrong.statusCode).toBe(401);
  });

  it('activate, rollback and errors by code; requests and /readyz name the active version', async () => {
    expect(await recommendVersion()).toBe('blue');
    const none = await app.inject({ method: 'POST', url: '/admin/models/rollback', headers: auth });
    expect([none.statusCode, none.json().code]).toEqual([409, 'RECLAB_ERR_MODEL_NO_PREVIOUS']);
    const unknown = await app.inject({
      method: 'POST',
      url: '/admin/models/activate',
      headers: auth,
      payload: { version: 'nope' },
    });
    expect([unknown.statusCode, unknown.json().code]).toEqual([404, 'RECLAB_ERR_MODEL_VERSION_UNKNOWN']);
    const bad = await app.inject({
      method: 'POST',
      url: '/admin/models/activate',
      headers: auth,
      payload: {},
    });
    expect(bad.statusCode).toBe(400);

    const on = await app.inject({
      method: 'POST',
      url: '/admin/models/activate',
      headers: auth,
      payload: { version: 'green' },
    });
    expect(on.statusCode).toBe(200);
    expect(on.json()).toMatchObject({
      active: 'green',
      swap: { kind: 'activate', from: 'blue', to: 'green' },
    });
    expect(await recommendVersion()).toBe('green');
    const ready = (await app.inject({ method: 'GET', url: '/readyz' })).json();
    expect(ready).toMatchObject({ model_version: 'green', model_standby: 'blue' });

    const back = await app.inject({ method: 'POST', url: '/admin/models/rollback', headers: auth });
    expect(back.json()).toMatchObject({
      active: 'blue',
      swap: { kind: 'rollback', from: 'green', to: 'blue' },
    });
    expect(await recommendVersion()).toBe('blue');
    const status = (await app.inject({ method: 'GET', url: '/admin/models', headers: auth })).json();
    expect(status).toMatchObject({
      active: { version: 'blue' },
      standby: { version: 'green' },
      swap_count: 2,
    });
  });
});
