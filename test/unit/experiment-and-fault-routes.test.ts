/**
 * Routing of experiment variants to pinned model versions, and the /admin/faults API, through the
 * core's HTTP app (`app.inject`). The model sets are minimal in-memory ones: what is tested is which
 * set a request takes and what the admin routes do, not the models (fallback-rungs.test.ts runs the
 * real ones).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../core/app.ts';
import type { Clock } from '../../core/ports/clock.ts';
import { seededRandom } from '../../core/random/seeded-random.ts';
import { FaultInjector } from '../../core/resilience/fault-injection.ts';
import { fixtureCore } from '../helpers/core-fixtures.ts';

const clock: Clock = {
  now: () => Date.now(),
  setTimer: (ms, fn) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};
const experiments = [
  { id: 'exp_weights', variants: [{ name: 'a', share: 1 }] },
  {
    id: 'exp_model',
    variants: [
      { name: 'current', share: 1 },
      { name: 'next', share: 1, params: { modelVersion: 'green' } },
    ],
  },
];

// `green`, pinned by a variant, is loaded by the composition root next to the active `blue`.
const app = buildApp(await fixtureCore({ clock, experiments, faultInjection: true }), {
  logLevel: 'silent',
  admin: 'open',
});
const appWithoutFaults = buildApp(await fixtureCore({ clock, experiments }), {
  logLevel: 'silent',
  admin: 'open',
});
afterAll(async () => {
  await app.close();
  await appWithoutFaults.close();
});

describe('experiment variants pinning a model version', () => {
  it('serve the variant’s users from the pinned set and everyone else from the active one', async () => {
    const seen = { blue: 0, green: 0 };
    for (let i = 0; i < 60; i++) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/recommendations',
        payload: { user_id: `u_${i}`, count: 2 },
      });
      expect(res.statusCode).toBe(200);
      const meta = res.json().meta;
      expect(meta.experiments.map((e: { id: string }) => e.id)).toEqual(['exp_weights', 'exp_model']);
      expect(meta.experiment).toEqual(meta.experiments[0]);
      const variant = meta.experiments[1].variant;
      expect(meta.model_version).toBe(variant === 'next' ? 'green' : 'blue');
      seen[meta.model_version as 'blue' | 'green']++;
    }
    expect(seen.blue).toBeGreaterThan(10);
    expect(seen.green).toBeGreaterThan(10);
  });
});

describe('/admin/faults', () => {
  it('sets, lists and clears faults, and rejects bad ones with 400', async () => {
    const put = await app.inject({
      method: 'PUT',
      url: '/admin/faults/retrieval.two_tower',
      payload: { kind: 'delay', delay_ms: 200, ratio: 0.5 },
    });
    expect(put.statusCode).toBe(200);
    expect(put.json().fault).toMatchObject({
      target: 'retrieval.two_tower',
      kind: 'delay',
      delay_ms: 200,
      ratio: 0.5,
    });
    const list = await app.inject({ method: 'GET', url: '/admin/faults' });
    expect(list.json().faults.map((f: { target: string }) => f.target)).toEqual(['retrieval.two_tower']);
    for (const payload of [{ kind: 'slow' }, { kind: 'delay', delay_ms: -1 }, { kind: 'error', ratio: 0 }]) {
      const bad = await app.inject({ method: 'PUT', url: '/admin/faults/ranker', payload });
      expect([bad.statusCode, bad.json().code]).toEqual([400, 'RECLAB_ERR_REQUEST_INVALID']);
    }
    const badTarget = await app.inject({
      method: 'PUT',
      url: '/admin/faults/Not%20A%20Name',
      payload: { kind: 'error' },
    });
    expect(badTarget.statusCode).toBe(400);
    const del = await app.inject({ method: 'DELETE', url: '/admin/faults/retrieval.two_tower' });
    expect(del.json()).toEqual({ removed: 1 });
    expect((await app.inject({ method: 'GET', url: '/admin/faults' })).json().faults).toEqual([]);
  });

  it('answer 404 RECLAB_ERR_FAULT_INJECTION_OFF when the core runs without fault injection', async () => {
    const res = await appWithoutFaults.inject({
      method: 'PUT',
      url: '/admin/faults/ranker',
      payload: { kind: 'error' },
    });
    expect([res.statusCode, res.json().code]).toEqual([404, 'RECLAB_ERR_FAULT_INJECTION_OFF']);
  });
});

describe('FaultInjector', () => {
  it('delays a call by the fault, fails it with RECLAB_ERR_FAULT_INJECTED, and expires after for_ms', async () => {
    const f = new FaultInjector(clock, seededRandom(2).stream('faults'));
    f.set('ranker', { kind: 'delay', delayMs: 30 });
    const t0 = Date.now();
    expect(await f.run('ranker', async () => 7)).toBe(7);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25);
    expect(await f.run('features', async () => 8)).toBe(8);
    f.set('ranker', { kind: 'error', forMs: 40 });
    await expect(f.run('ranker', async () => 7)).rejects.toMatchObject({ code: 'RECLAB_ERR_FAULT_INJECTED' });
    await new Promise((r) => setTimeout(r, 50));
    expect(await f.run('ranker', async () => 9)).toBe(9);
    expect(f.list()).toEqual([]);
  });

  it('affects about `ratio` of calls', async () => {
    const f = new FaultInjector(clock, seededRandom(3).stream('faults'));
    f.set('light_ranker', { kind: 'error', ratio: 0.3 });
    let failed = 0;
    for (let i = 0; i < 2000; i++) await f.run('light_ranker', async () => 1).catch(() => failed++);
    expect(failed / 2000).toBeGreaterThan(0.25);
    expect(failed / 2000).toBeLessThan(0.35);
  });
});
