/**
 * `reclab run --target`: the live runner end to end against an already running "core" — a loopback
 * stand-in that answers like the core (rung, reasons, 30 valid video ids; 202 for events). No
 * containers: faults that need the infrastructure are skipped with warnings, impressions and events
 * are not read back (their assertions skipped), and the run still measures, scores quality, checks
 * its assertions and writes a valid summary.json with per-second series and the fault log.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScenario } from '../../loadtest/run.ts';
import { parseRunResult } from '../../reports/model.ts';
import { defineScenario } from '../../scenarios/define.ts';
import { scenarios } from '../../scenarios/index.ts';
import { liveRunOptions } from '../helpers/live-run.ts';

const app = Fastify();
let url = '';
/** While true, the stand-in answers from the light ranker (a "fault" the test controls). */
let degraded = false;
/** Plays trending: once a viral watch event (`evv_…`) arrives, its video leads every list. */
let viralOn = true;
let viralVideo: string | undefined;

beforeAll(async () => {
  app.post('/v1/recommendations', async () => ({
    items: Array.from({ length: 30 }, (_, i) => ({
      video_id: i === 0 && viralOn && viralVideo ? viralVideo : `v_${i * 7}`,
      score: 1 - i / 30,
      source: 'two_tower',
    })),
    meta: {
      impression_id: 'x',
      rung: degraded ? 'light_ranker' : 'full',
      reasons: degraded ? [{ stage: 'ranking', code: 'RECLAB_ERR_RANKER_UNAVAILABLE' }] : [],
    },
  }));
  app.post('/v1/events', async (req, reply) => {
    const viral = (req.body as { event_id: string; video_id: string }[]).find((e) =>
      e.event_id.startsWith('evv_'),
    );
    if (viral) viralVideo = viral.video_id;
    return reply.code(202).send({ accepted: 1 });
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(() => app.close());

const common = { ...liveRunOptions('reclab-target-', { quiet: true }), users: 5000, videos: 3000 };

describe('reclab run --target (a stand-in core)', () => {
  it('gpu-outage: the fault is skipped with a warning; figures, series, quality and assertions as usual', async () => {
    const lines: string[] = [];
    const s = await runScenario({
      ...common,
      scenario: scenarios['gpu-outage'],
      target: url,
      rateScale: 0.3,
      durationScale: 0.2,
      log: (l) => lines.push(l),
    });
    expect(s.faults).toEqual([
      expect.objectContaining({ phase: 'outage', target: 'ranker_tier', kind: 'down', status: 'skipped' }),
    ]);
    expect(s.warnings.some((w) => /ranker_tier down in phase outage skipped/.test(w))).toBe(true);
    expect(s.impressions).toBeUndefined();
    expect(s.assertions.find((a) => a.expression.startsWith('impressions_lost'))?.skipped).toBeTruthy();
    // The stand-in never degrades: the light-ranker assertion of the outage phase fails (exit 3).
    expect(s.assertions.find((a) => a.expression.includes('rung:light_ranker'))?.passed).toBe(false);
    expect(s.exitCode).toBe(3);
    const summary = parseRunResult(JSON.parse(readFileSync(join(s.outDir, 'summary.json'), 'utf8')));
    expect(summary.target).toBe(url);
    const steady = summary.phases.find((p) => p.name === 'steady')!;
    expect(steady.arrivals).toBe('constant 30/s');
    expect(steady.durationS).toBe(2);
    expect(steady.series?.buckets.map((b) => b.count)).toEqual([30, 30]);
    expect(steady.statusCounts.shed).toBe(0);
    expect(summary.quality?.served.byPhase.steady.overall.lists).toBe(60);
    expect(lines.some((l) => l.startsWith('phase steady: constant 30/s'))).toBe(true);
  });

  it('a quality ratio and p(99.9) read the run; recovery_time_s of a skipped fault is skipped, not passed', async () => {
    const base = scenarios.baseline;
    const scenario = defineScenario({
      ...base,
      rankerTier: true,
      phases: [
        { ...base.phases[0], durationS: 1 },
        { name: 'steady', durationS: 3, arrivals: { kind: 'constant', rateQps: 50 } },
        {
          name: 'outage',
          durationS: 8,
          arrivals: { kind: 'poisson', rateQps: 50 },
          faults: [{ target: 'ranker_tier', kind: 'down', fromS: 1, toS: 3 }],
        },
      ],
      assertions: [
        { metric: 'http_req_duration', stat: 'p(99.9)', op: '<', value: 1000 },
        {
          metric: 'quality.expected_watch_time',
          stat: 'ratio_to',
          phase: 'outage',
          baseline: 'steady',
          op: '>=',
          value: 0.8,
        },
        { metric: 'recovery_time_s', baseline: 'steady', op: '<', value: 10 },
      ],
    });
    const s = await runScenario({
      ...common,
      scenario,
      target: url,
      onProgress: (p) => {
        degraded = p.phase === 'outage' && p.elapsedS >= 1 && p.elapsedS < 3;
      },
    });
    degraded = false;
    // The fault was skipped, so recovery has nothing to measure: skipped, not passed silently.
    expect(s.assertions[2]).toMatchObject({ skipped: 'every selected fault was skipped' });
    expect(s.assertions[0].passed).toBe(true);
    // The same list for every user in both phases: the ratio is near 1 (the users differ).
    expect(s.assertions[1].passed).toBe(true);
    expect(s.assertions[1].observed).toBeGreaterThan(0.8);
    expect(s.assertions[1].observed).toBeLessThan(1.25);
    const outage = s.phases.find((p) => p.phase === 'outage')!;
    expect(outage.rungCounts.light_ranker).toBeGreaterThan(0);
    expect(outage.series.buckets.length).toBe(8);
  });

  describe('viral video (viral-spike’s viral half)', () => {
    const scenario = defineScenario({
      name: 'viral-mini',
      description: 'a viral video in a short phase',
      world: { users: 5000, videos: 3000 },
      phases: [
        { name: 'warmup', durationS: 1, warmup: true, arrivals: { kind: 'constant', rateQps: 20 } },
        {
          name: 'spike',
          durationS: 4,
          arrivals: { kind: 'constant', rateQps: 60 },
          viral: { atS: 1, users: 20, eventsPerS: 50 },
        },
      ],
      assertions: [{ metric: 'viral_time_to_list_s', op: '<', value: 60 }],
    });

    it('the time from the first viral event to a list of its region is measured, recorded and asserted', async () => {
      viralOn = true;
      viralVideo = undefined;
      const s = await runScenario({ ...common, scenario, target: url });
      expect(s.viral).toMatchObject({ videoId: viralVideo, users: 20 });
      expect(s.viral!.eventsQueued).toBeGreaterThanOrEqual(140);
      // The stand-in serves it once the first batch (flushed every 200 ms) has arrived.
      expect(s.viral!.timeToListS).toBeGreaterThan(0);
      expect(s.viral!.timeToListS).toBeLessThan(3);
      expect(s.assertions[0]).toMatchObject({ expression: 'viral_time_to_list_s < 60', passed: true });
      const summary = parseRunResult(JSON.parse(readFileSync(join(s.outDir, 'summary.json'), 'utf8')));
      expect(summary.viral).toMatchObject({ videoId: viralVideo, timeToListS: s.viral!.timeToListS });
    });

    it('never served: timeToListS is null, the assertion fails, exit 3', async () => {
      viralOn = false;
      viralVideo = undefined;
      const s = await runScenario({ ...common, scenario, target: url });
      viralOn = true;
      expect(s.viral?.timeToListS).toBeNull();
      expect(s.viral?.firstEventAt).not.toBeNull();
      expect(s.assertions[0]).toMatchObject({ passed: false });
      expect(s.exitCode).toBe(3);
    });
  });
});
