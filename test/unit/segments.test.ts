import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { afterEach, describe, expect, it } from 'vitest';
import { seededRandom } from '../../core/random/seeded-random.ts';
import type { PhaseResult, WindowStats } from '../../loadtest/drivers/autocannon/open-model.ts';
import { MergeError, mergePhaseResults } from '../../loadtest/segments/merge-phases.ts';
import {
  checkSegmentsComplete,
  mergePartials,
  type PartialResult,
  wholeScheduleSlots,
} from '../../loadtest/segments/partial-result.ts';
import {
  POOL_LEAD_S,
  runSegment,
  timetablePoolWait,
  timetableStartMs,
} from '../../loadtest/segments/segment-run.ts';
import { latencyHistogram, summarizeLatencyMs } from '../../reports/latency.ts';
import type { SeriesBucket } from '../../reports/series.ts';
import { type ArrivalProcess, arrivalSchedule } from '../../scenarios/arrivals.ts';
import { defineScenario } from '../../scenarios/define.ts';
import { parseSegment, segmentSchedule, segmentSlots } from '../../scenarios/segments.ts';

const offsets = (
  p: ArrivalProcess,
  durationS: number,
  seed: number,
  seg?: { index: number; count: number },
) => {
  const s = arrivalSchedule(p, durationS, seededRandom(seed).stream('arrivals.x'));
  const sched = seg ? segmentSchedule(s, seg) : s;
  const out: number[] = [];
  for (let t = sched.next(); t !== undefined; t = sched.next()) out.push(t);
  return out;
};

describe('schedule segments', () => {
  const processes: [string, ArrivalProcess][] = [
    ['constant', { kind: 'constant', rateQps: 150 }],
    ['poisson', { kind: 'poisson', rateQps: 90 }],
    ['spike', { kind: 'spike', baseQps: 50, peakQps: 300, atS: 2, riseS: 1, holdS: 2, decayS: 1 }],
    ['ramp', { kind: 'ramp', fromQps: 10, toQps: 200 }],
  ];
  for (const [name, p] of processes) {
    for (const n of [1, 2, 3, 7]) {
      it(`${name}: ${n} segments are disjoint and together exactly the whole schedule`, () => {
        const whole = offsets(p, 10, 7);
        const parts = Array.from({ length: n }, (_, i) => offsets(p, 10, 7, { index: i, count: n }));
        expect(parts.reduce((a, x) => a + x.length, 0)).toBe(whole.length);
        parts.forEach((x, i) => {
          expect(x.length).toBe(segmentSlots(whole.length, { index: i, count: n }));
        });
        // Interleaved: segment i holds slots i, i + n, i + 2n, … of the whole schedule.
        parts.forEach((x, i) => {
          expect(x).toEqual(whole.filter((_, k) => k % n === i));
        });
      });
    }
  }

  it('spreads a segment evenly (interleaved), never in bursts', () => {
    const seg = offsets({ kind: 'constant', rateQps: 100 }, 2, 7, { index: 1, count: 4 });
    const gaps = seg.slice(1).map((t, k) => t - seg[k]);
    for (const g of gaps) expect(g).toBeCloseTo(0.04, 9); // 4 / 100 s
    expect(seg[0]).toBeCloseTo(0.01, 9);
  });

  it('parses i/N and refuses the rest with a stable code', () => {
    expect(parseSegment('2/4')).toEqual({ index: 2, count: 4 });
    for (const bad of ['4/4', '-1/2', '1/0', 'a/b', '1', '1/2/3'])
      expect(() => parseSegment(bad)).toThrow(
        expect.objectContaining({ code: 'RECLAB_ERR_SEGMENT_INVALID' }),
      );
  });
});

/** A window whose latencies are `values` (ms), every response 2xx `full`. */
function windowOf(values: number[]): WindowStats {
  const h = latencyHistogram();
  for (const v of values) h.recordValue(v * 1000);
  const zero = summarizeLatencyMs(latencyHistogram());
  return {
    scheduled: values.length,
    sent: values.length,
    completed: values.length,
    late: 0,
    dropped: 0,
    statusCounts: { '2xx': values.length, '3xx': 0, '4xx': 0, '5xx': 0, errors: 0, timeouts: 0 },
    shed: 0,
    latencyMs: summarizeLatencyMs(h),
    latencyFromSendMs: zero,
    sendLagMs: zero,
    rungCounts: { full: values.length },
    histogramBase64: encodeIntoCompressedBase64(h),
    series: { bucketS: 1, buckets: [] },
  };
}

function phaseOf(values: number[], offeredQps: number): PhaseResult {
  return {
    phase: 'steady',
    offeredQps,
    achievedQps: values.length / 10,
    durationS: 10,
    warmupS: 0,
    connections: 4,
    lateThresholdMs: 10,
    startedAt: '2026-01-01T00:00:00.000Z',
    endedAt: '2026-01-01T00:00:10.000Z',
    ...windowOf(values),
    warmup: windowOf([]),
  };
}

describe('merging segments', () => {
  it('takes the histograms, not the average of the percentiles', () => {
    // Segment A: 900 fast responses (10 ms); segment B: 100 slow ones (100 ms). Of the 1,000
    // together 10% are slow: p99 is 100 ms and p50 10 ms. Averaging the segments' own percentiles
    // would say p99 55 ms and p50 55 ms.
    const a = phaseOf(Array(900).fill(10), 90);
    const b = phaseOf(Array(100).fill(100), 10);
    expect((a.latencyMs.p99 + b.latencyMs.p99) / 2).toBeCloseTo(55, 0);
    const m = mergePhaseResults([a, b]);
    expect(m.latencyMs.count).toBe(1000);
    expect(m.latencyMs.p50).toBeCloseTo(10, 1);
    expect(m.latencyMs.p99).toBeCloseTo(100, 0);
    expect(m.latencyMs.p90).toBeCloseTo(10, 1);
    expect(m.latencyMs.mean).toBeCloseTo(19, 0);
    expect(m.offeredQps).toBe(100);
    expect(m.completed).toBe(1000);
    expect(m.achievedQps).toBe(100);
    expect(m.rungCounts).toEqual({ full: 1000 });
    // The merged histogram is the sum: merging it again with nothing changes nothing.
    expect(mergePhaseResults([m]).latencyMs).toEqual(m.latencyMs);
  });

  it('merges the per-second series from the seconds’ histograms, not the largest p99', () => {
    // Second 0: segment A 99 requests at 10 ms, segment B 1 at 100 ms. B's own p99 is 100 ms; of
    // the 100 together the p99 is 10 ms.
    const second = (values: number[]): SeriesBucket => {
      const h = latencyHistogram();
      for (const v of values) h.recordValue(v * 1000);
      return {
        startS: 0,
        count: values.length,
        p99Ms: h.getValueAtPercentile(99) / 1000,
        histogramBase64: encodeIntoCompressedBase64(h),
        rungCounts: { full: values.length },
        shed: 0,
        errors: 0,
      };
    };
    const a = {
      ...phaseOf(Array(99).fill(10), 99),
      series: { bucketS: 1, buckets: [second(Array(99).fill(10))] },
    };
    const b = { ...phaseOf([100], 1), series: { bucketS: 1, buckets: [second([100])] } };
    a.series.buckets[0].offered = 99;
    b.series.buckets[0].offered = 2; // one request of B's second was dropped
    const m = mergePhaseResults([a, b]).series.buckets[0];
    expect(m.count).toBe(100);
    expect(m.offered).toBe(101);
    expect(m.p99Ms).toBeCloseTo(10, 0);
    expect(m.histogramBase64).toBeTruthy();
    // A part without its second's histogram: the larger p99 (an upper bound), and no histogram.
    const bare = {
      ...b,
      series: { bucketS: 1, buckets: [{ ...second([100]), histogramBase64: undefined }] },
    };
    const u = mergePhaseResults([a, bare]).series.buckets[0];
    expect(u.p99Ms).toBeCloseTo(100, 0);
    expect(u.histogramBase64).toBeUndefined();
  });

  it('refuses a segment with samples but no histogram', () => {
    const a = phaseOf([5, 6], 1);
    expect(() => mergePhaseResults([a, { ...a, histogramBase64: '' }])).toThrow(MergeError);
  });
});

const servers: FastifyInstance[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

describe('runSegment and mergePartials, against a loopback server', () => {
  const scenario = defineScenario({
    name: 'seg-test',
    description: 'two short phases',
    world: { users: 1000, videos: 500 },
    phases: [
      { name: 'warm', arrivals: { kind: 'constant', rateQps: 40 }, durationS: 1, warmup: true },
      { name: 'steady', arrivals: { kind: 'poisson', rateQps: 120 }, durationS: 2 },
    ],
    assertions: [
      { metric: 'http_req_duration', phase: 'steady', stat: 'p(99)', op: '<=', value: 500 },
      { metric: 'errors_5xx', stat: 'count', op: '==', value: 0 },
      { metric: 'impressions_lost', stat: 'count', op: '==', value: 0 },
    ],
  });

  it('opens no connection before beforePool resolves (a timetable far ahead waits without a pool)', async () => {
    const app = Fastify();
    let connections = 0;
    app.server.on('connection', () => connections++);
    app.post('/v1/recommendations', async () => ({ items: [], meta: { rung: 'full' } }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    servers.push(app);
    const target = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const seen: number[] = [];
    await runSegment({
      scenario: { ...scenario, phases: [scenario.phases[0]] },
      seed: 7,
      segment: { index: 0, count: 1 },
      target,
      mix: { users: 1000, regionOf: () => 'eu', worldHash: 'test-world' },
      log: () => {},
      beforePool: async () => {
        await new Promise((r) => setTimeout(r, 300));
        seen.push(connections);
      },
    });
    // The pool's connections all come after beforePool resolved (before it: the /readyz check only).
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeLessThanOrEqual(1);
    expect(connections).toBeGreaterThan(seen[0]);
  });

  it('the timetable opens a phase’s pool POOL_LEAD_S before its time', async () => {
    // Phase 1's pool time (its start minus the lead) 200 ms from now.
    const now = Date.now();
    const startAt = now + 200 + POOL_LEAD_S * 1000 - (scenario.phases[0].durationS + 2) * 1000;
    expect(timetableStartMs(scenario, startAt, 1) - POOL_LEAD_S * 1000).toBe(now + 200);
    await timetablePoolWait(scenario, startAt)(scenario.phases[1], 1);
    expect(Date.now() - now).toBeGreaterThanOrEqual(190);
    expect(Date.now() - now).toBeLessThan(1500);
  });

  it('two segments send the whole schedule between them, and merge into one run', async () => {
    const app = Fastify();
    const users: string[] = [];
    app.post<{ Body: { user_id: string } }>('/v1/recommendations', async (req) => {
      users.push(req.body.user_id);
      return { items: [], meta: { rung: 'full' } };
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    servers.push(app);
    const target = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const mix = { users: 1000, regionOf: () => 'eu', worldHash: 'test-world' };
    const startAt = Date.now() + 500;
    const gates: number[] = [];
    const run = (index: number) =>
      runSegment({
        scenario,
        seed: 7,
        segment: { index, count: 2 },
        target,
        mix,
        log: () => {},
        phaseGate: async (_p, k) => {
          const at = timetableStartMs(scenario, startAt, k);
          gates.push(at);
          await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));
        },
      });
    const parts: PartialResult[] = await Promise.all([run(0), run(1)]);

    const whole = scenario.phases.reduce((a, p) => a + wholeScheduleSlots(p, 7), 0);
    expect(users.length).toBe(whole);
    // Phase 1 starts after phase 0's 1 s and the 2 s gap.
    expect(new Set(gates)).toEqual(new Set([startAt, startAt + 3000]));
    const steady = parts.map((p) => p.phases[1]);
    expect(steady[0].offeredQps + steady[1].offeredQps).toBeCloseTo(120, 6);
    expect(Math.abs(steady[0].scheduled - steady[1].scheduled)).toBeLessThanOrEqual(1);

    const result = mergePartials(parts, {
      runId: 'r',
      reclabVersion: '0',
      machine: { cpus: 2, memGiB: 1, os: 'test' },
    });
    const merged = result.phases[1];
    expect(merged.offeredQps).toBeCloseTo(120, 2);
    expect(merged.statusCounts['2xx']).toBe(steady[0].completed + steady[1].completed);
    expect(merged.latencyMs.count).toBe(merged.statusCounts['2xx']);
    expect(result.assertions.map((a) => [a.passed, a.skipped !== undefined])).toEqual([
      [true, false],
      [true, false],
      [true, true], // impressions: not measured by load generators
    ]);
    expect(result.exitCode).toBe(0);
    // Every second brought its histogram: no upper-bound warning.
    const seconds = merged.series?.buckets ?? [];
    expect(seconds.some((b) => b.count > 0)).toBe(true);
    expect(seconds.every((b) => b.p99Ms === 0 || b.histogramBase64)).toBe(true);
    expect(result.warnings?.join('\n')).not.toMatch(/upper bound/);
    // A part without its seconds' histograms (recorded before they existed): those seconds warn.
    const old = structuredClone(parts[1]);
    for (const b of old.phases[1].series.buckets) delete b.histogramBase64;
    const bounded = mergePartials([parts[0], old], {
      runId: 'r',
      reclabVersion: '0',
      machine: result.machine,
    });
    expect(bounded.warnings?.join('\n')).toMatch(/per-second p99 of \d+ second\(s\) .* upper bound/);

    // One segment missing, or given twice: not one whole run.
    expect(() => checkSegmentsComplete([parts[0]])).toThrow(/segment 1\/2 missing/);
    expect(() => checkSegmentsComplete([parts[0], parts[0]])).toThrow(/given 2 times/);
    // A segment of another seed: refused.
    expect(() => checkSegmentsComplete([parts[0], { ...parts[1], seed: 8 }])).toThrow(/seed 8/);
  });
});
