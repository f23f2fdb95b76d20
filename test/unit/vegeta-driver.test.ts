import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { decodeFromCompressedBase64 } from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { runVegetaPhase, vegetaBinary, vegetaUnsupported } from '../../loadtest/drivers/vegeta/vegeta.ts';
import { scenarios } from '../../scenarios/index.ts';

describe('the vegeta driver', () => {
  it('refuses what vegeta cannot pace: every phase that is not a constant rate with even spacing', () => {
    expect(vegetaUnsupported(scenarios.baseline)).toEqual([]);
    const viral = vegetaUnsupported(scenarios['viral-spike']);
    expect(viral.length).toBeGreaterThan(0);
    expect(viral.join(' ')).toMatch(/constant rates only/);
  });

  // Needs the binary of scripts/setup/33-vegeta.sh (the set-up builds it).
  it.skipIf(!existsSync(vegetaBinary()))(
    'drives a constant phase and reads vegeta results into a phase result',
    async () => {
      const app = Fastify();
      const seen: string[] = [];
      app.post<{ Body: { user_id: string } }>('/v1/recommendations', async (req, reply) => {
        seen.push(req.body.user_id);
        if (req.body.user_id === 'u_7')
          return reply.status(503).send({ error: { code: 'RECLAB_ERR_OVERLOADED' } });
        return {
          items: [],
          meta: { rung: Number(req.body.user_id.slice(2)) % 4 === 0 ? 'popularity' : 'full' },
        };
      });
      await app.listen({ host: '127.0.0.1', port: 0 });
      const dir = await mkdtemp(join(tmpdir(), 'reclab-vegeta-'));
      try {
        const responses: number[] = [];
        const r = await runVegetaPhase({
          url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
          arrivals: { kind: 'constant', rateQps: 50 },
          durationS: 2,
          phase: 'steady',
          workDir: dir,
          makeRequest: (i) => ({
            method: 'POST',
            path: '/v1/recommendations',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ user_id: `u_${i}` }),
          }),
          onResponse: (x) => responses.push(x.i),
        });
        expect(r.scheduled).toBe(100);
        expect(r.completed).toBe(100);
        expect(new Set(seen).size).toBe(100); // each slot's own request
        expect(r.statusCounts['2xx']).toBe(99);
        expect(r.shed).toBe(1);
        expect(r.rungCounts).toEqual({ full: 74, popularity: 25 });
        expect(r.latencyMs.count).toBe(100);
        expect(decodeFromCompressedBase64(r.histogramBase64).totalCount).toBe(100);
        expect(r.series.buckets.reduce((a, b) => a + b.count, 0)).toBe(100);
        expect(responses.sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
        expect(r.offeredQps).toBe(50);
      } finally {
        await app.close();
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
