import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { runPairedPhase } from '../../loadtest/drivers/paired.ts';
import { vegetaBinary } from '../../loadtest/drivers/vegeta/vegeta.ts';
import { driversLine } from '../../loadtest/run.ts';

describe('paired drivers (--driver paired)', () => {
  it('states each half and the open-model ÷ vegeta ratios on one line', () => {
    const line = driversLine('steady', [
      {
        driver: 'vegeta',
        requests: 50,
        offeredQps: 25,
        p50Ms: 4,
        p90Ms: 6,
        p99Ms: 10,
        fromSendP50Ms: 4,
        fromSendP99Ms: 10,
        sendLagP50Ms: 0,
        late: 0,
      },
      {
        driver: 'open-model',
        requests: 50,
        offeredQps: 25,
        p50Ms: 5,
        p90Ms: 7,
        p99Ms: 12,
        fromSendP50Ms: 4.4,
        fromSendP99Ms: 11,
        sendLagP50Ms: 0.5,
        late: 1,
      },
    ]);
    expect(line).toMatch(
      /^phase steady drivers: vegeta p50 4 ms p99 10 ms \(from its send 4 \/ 10 ms; 50 requests, send lag p50 0 ms, late 0\); open-model/,
    );
    expect(line).toMatch(
      /open-model ÷ vegeta p50 1\.250 p99 1\.200 \(from each one's send 1\.100 \/ 1\.100\)$/,
    );
  });

  // Needs the binary of scripts/setup/33-vegeta.sh (the set-up builds it).
  it.skipIf(!existsSync(vegetaBinary()))(
    'sends every slot once: vegeta the even ones at half the rate, the open-model driver the odd ones; the phase merges both',
    async () => {
      const app = Fastify();
      const seen: number[] = [];
      app.post<{ Body: { user_id: string } }>('/v1/recommendations', async (req) => {
        seen.push(Number(req.body.user_id.slice(2)));
        return { items: [], meta: { rung: 'full' } };
      });
      await app.listen({ host: '127.0.0.1', port: 0 });
      const dir = await mkdtemp(join(tmpdir(), 'reclab-paired-'));
      try {
        const slots: number[] = [];
        const { merged, halves } = await runPairedPhase({
          url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
          arrivals: { kind: 'constant', rateQps: 60 },
          durationS: 2,
          phase: 'steady',
          workDir: dir,
          makeRequest: (k) => ({
            method: 'POST',
            path: '/v1/recommendations',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ user_id: `u_${k}` }),
          }),
          onResponse: (r) => slots.push(r.i),
        });
        const all = Array.from({ length: 120 }, (_, k) => k);
        expect([...seen].sort((a, b) => a - b)).toEqual(all); // each slot's own request, once
        expect(slots.sort((a, b) => a - b)).toEqual(all); // reported under the whole schedule's slot
        expect(halves.map((h) => [h.driver, h.requests, h.offeredQps])).toEqual([
          ['vegeta', 60, 30],
          ['open-model', 60, 30],
        ]);
        expect(merged.completed).toBe(120);
        expect(merged.offeredQps).toBe(60);
        expect(merged.latencyMs.count).toBe(120);
        expect(merged.rungCounts).toEqual({ full: 120 });
      } finally {
        await app.close();
        await rm(dir, { recursive: true, force: true });
      }
    },
  );

  it('refuses a phase vegeta cannot pace before either half starts', async () => {
    await expect(
      runPairedPhase({
        url: 'http://127.0.0.1:9',
        arrivals: { kind: 'poisson', rateQps: 10 },
        durationS: 1,
        phase: 'p',
        workDir: tmpdir(),
        makeRequest: () => ({ method: 'GET', path: '/' }),
      }),
    ).rejects.toMatchObject({ code: 'RECLAB_ERR_LOADTEST_OPTIONS_INVALID' });
  });
});
