/**
 * Brownout before shedding (issue 10; docs/fallback.md, "Brownout") through the core's HTTP app on a
 * real socket, the real clock and the real event loop: a main ranker that burns 6 ms of CPU per call
 * and a bulkhead of 4 force queueing and event-loop lag. At 400 requests/s (more than twice what
 * `full` can serve) the core answers every request — on `full` while it can, then on cheaper rungs
 * naming RECLAB_ERR_OVERLOADED — with no 503; only when the event loop itself lags past the
 * deadline (a 600 ms stall, deadline 300 ms) are requests refused, with 503 RECLAB_ERR_OVERLOADED
 * and `Retry-After`; once the stall is over it serves `full` again.
 *
 * In-memory ports (no container): what is tested is admission on a live event loop.
 */
import { connect, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../core/adapters/clock/system-clock.ts';
import { buildApp } from '../../core/app.ts';
import type { Core } from '../../core/compose.ts';
import { USER_RECORD_LEN, VIDEO_RECORD, VIDEO_RECORD_LEN } from '../../core/features/schema.ts';
import type { FeatureStore } from '../../core/ports/feature-store.ts';
import type { Ranker } from '../../core/ports/ranker.ts';
import type { SwappableModelSet } from '../../core/registry/model-slots.ts';
import { fixtureCore } from '../helpers/core-fixtures.ts';

const CATALOGUE = 200;
const DIM = 4;
const MAIN_RANKER_CPU_MS = 6;

/** Burns `ms` of CPU on the calling thread (the event loop). */
function burn(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy
  }
}

const store: FeatureStore = {
  getUser: async () => {
    const r = new Float32Array(USER_RECORD_LEN);
    r[3] = 10;
    return r;
  },
  getVideos: async (videos) =>
    videos.map((v) => {
      const r = new Float32Array(VIDEO_RECORD_LEN);
      r[VIDEO_RECORD.creator] = v;
      r[VIDEO_RECORD.durationS] = 300;
      r[VIDEO_RECORD.uploadTsS] = Date.now() / 1000 - 86_400;
      return r;
    }),
  topPopular: async (_r, n) =>
    Array.from({ length: Math.min(n, 50) }, (_, i) => ({ video: 100 + i, score: 50 - i })),
  loadMarker: async () => 'world',
};

const scores = (n: number) => ({
  pClick: new Float32Array(n).fill(0.5),
  watchTimeS: Float32Array.from({ length: n }, (_, i) => 100 - i),
});
const mainRanker: Ranker = {
  modelVersion: 'm',
  score: async (_f, n) => {
    burn(MAIN_RANKER_CPU_MS);
    return scores(n);
  },
};
const lightRanker: Ranker = { modelVersion: 'm', score: async (_f, n) => scores(n) };

const vectors = new Float32Array(CATALOGUE * DIM);
for (let v = 0; v < CATALOGUE; v++) vectors[v * DIM + (v % DIM)] = 1;
const models: SwappableModelSet = {
  modelVersion: 'm',
  userEncoder: { dim: DIM, encode: async () => Float32Array.of(0.5, 0.5, 0.5, 0.5) },
  ranker: mainRanker,
  lightRanker,
  items: { vectors, dim: DIM, count: CATALOGUE },
  sources: [
    {
      name: 'two_tower',
      retrieve: async (_ctx, k) =>
        Array.from({ length: Math.min(k, 40) }, (_, i) => ({
          video: i,
          score: 1 - i / 100,
          source: 'two_tower',
        })),
    },
  ],
  editorial: Array.from({ length: 30 }, (_, i) => 170 + i),
  release: async () => {},
};

let core: Core;
let app: FastifyInstance;
let url = '';

beforeAll(async () => {
  core = await fixtureCore({
    clock: systemClock,
    features: store,
    models: { initial: models },
    // Deadlines far away: every step down here is admission's, none a dependency's.
    pipeline: {
      deadlines: { userMs: 2000, encoderMs: 2000, retrievalMs: 2000, enrichmentMs: 2000, rankingMs: 2000 },
      candidatesMax: 40,
      retrievalKDefault: 40,
      leanCandidatesMax: 10,
    },
    bulkhead: { maxConcurrent: 4, maxQueue: 16, shedTargetMs: 1000, shedIntervalMs: 1000 },
    brownout: {
      deadlineMs: 300,
      maxDelayMs: { full: 40, light: 120, lean: 200 },
      cpuMs: { full: MAIN_RANKER_CPU_MS, light: 0.5, lean: 0.3, popularity: 0.2 },
    },
  });
  await core.start();
  app = buildApp(core, { logLevel: 'silent' });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  core.markReady();
});

afterAll(async () => {
  core.stop();
  await app.close();
});

const BODY = (i: number) => JSON.stringify({ user_id: `u_${i}`, count: 10 });

interface Answer {
  status: number;
  rung?: string;
  reasons: { stage: string; code: string }[];
  code?: string;
  retryAfter?: string;
}

async function post(pool: Pool, i: number): Promise<Answer> {
  const res = await pool.request({
    path: '/v1/recommendations',
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: BODY(i),
  });
  const json = (await res.body.json()) as {
    meta?: { rung: string; reasons: Answer['reasons'] };
    code?: string;
  };
  return {
    status: res.statusCode,
    rung: json.meta?.rung,
    reasons: json.meta?.reasons ?? [],
    code: json.code,
    retryAfter: res.headers['retry-after'] as string | undefined,
  };
}

/** Sends one request on a fresh connection, synchronously as far as the kernel goes; resolves with the raw answer. */
function rawRequest(socket: Socket, i: number): Promise<string> {
  const body = BODY(i);
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (d) => {
      text += d.toString('utf8');
    });
    socket.on('close', () => resolve(text));
    socket.write(
      'POST /v1/recommendations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}

describe('brownout on a live event loop', () => {
  it('light load (one request every 25 ms): `full`, no 503', async () => {
    const pool = new Pool(url, { connections: 1 });
    try {
      const answers: Answer[] = [];
      for (let i = 0; i < 20; i++) {
        await new Promise((r) => setTimeout(r, 25));
        answers.push(await post(pool, i));
      }
      expect(answers.filter((a) => a.status !== 200)).toEqual([]);
      // The machine is shared: a stall of the whole process is lag too, and may brown out a request
      // (never without its reason); on a quiet machine all 20 are `full`.
      expect(answers.filter((a) => a.rung === 'full').length).toBeGreaterThanOrEqual(18);
      for (const a of answers.filter((x) => x.rung !== 'full'))
        expect(a.reasons.map((r) => r.code)).toContain('RECLAB_ERR_OVERLOADED');
    } finally {
      await pool.close();
    }
  });

  it('400 requests/s, past what `full` can serve: cheaper rungs naming RECLAB_ERR_OVERLOADED, some `full`, no 503', async () => {
    const pool = new Pool(url, { connections: 64 });
    const before = core.admission.stats().decisions;
    try {
      // Open model: request i is sent at i × 2.5 ms whatever the answers (the main ranker alone
      // needs 6 ms a request: `full` fits about 160/s).
      const answers = await Promise.all(
        Array.from(
          { length: 400 },
          (_, i) =>
            new Promise<Answer>((resolve, reject) => {
              setTimeout(() => post(pool, i).then(resolve, reject), i * 2.5);
            }),
        ),
      );
      const rungs: Record<string, number> = {};
      for (const a of answers)
        rungs[a.rung ?? String(a.status)] = (rungs[a.rung ?? String(a.status)] ?? 0) + 1;
      expect(
        answers.filter((a) => a.status !== 200),
        JSON.stringify(rungs),
      ).toEqual([]);
      expect(rungs.full ?? 0).toBeGreaterThan(0);
      const browned = answers.filter((a) => a.rung !== 'full');
      expect(browned.length, JSON.stringify(rungs)).toBeGreaterThan(0);
      for (const a of browned) {
        expect(a.reasons.length).toBeGreaterThan(0);
        for (const r of a.reasons) expect(r.code).toBe('RECLAB_ERR_OVERLOADED');
        expect(['light_ranker', 'popularity']).toContain(a.rung);
      }
      const after = core.admission.stats().decisions;
      expect(after.shed - before.shed).toBe(0);
      const brownouts = (d: typeof after) => d.light + d.lean + d.popularity;
      expect(brownouts(after) - brownouts(before)).toBe(browned.length);
    } finally {
      await pool.close();
    }
  });

  it('an event loop stalled past the deadline: 503 RECLAB_ERR_OVERLOADED with Retry-After, then `full` again', async () => {
    const sockets = await Promise.all(
      Array.from(
        { length: 8 },
        () =>
          new Promise<Socket>((resolve, reject) => {
            const { port } = new URL(url);
            const s = connect(Number(port), '127.0.0.1', () => resolve(s));
            s.on('error', reject);
          }),
      ),
    );
    // The requests reach the kernel now; the core reads them only after the 600 ms stall, and by
    // then even the popularity cache's answer would be past the 300 ms deadline.
    const shedBefore = core.admission.stats().decisions.shed;
    const answers = sockets.map((s, i) => rawRequest(s, i));
    burn(600);
    const texts = await Promise.all(answers);
    for (const t of texts) {
      expect(t).toMatch(/^HTTP\/1\.1 503 /);
      expect(t.toLowerCase()).toContain('retry-after: 1\r\n');
      expect(t).toContain('"code":"RECLAB_ERR_OVERLOADED"');
    }
    expect(core.admission.stats().decisions.shed - shedBefore).toBe(sockets.length);
    // The lag is over after the probe's next tick: full again.
    await new Promise((r) => setTimeout(r, 100));
    const pool = new Pool(url, { connections: 1 });
    try {
      const a = await post(pool, 1);
      expect([a.status, a.rung]).toEqual([200, 'full']);
    } finally {
      await pool.close();
    }
  });
});
