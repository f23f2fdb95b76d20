/**
 * The runner's hot path during a measured phase (issue 10): `scanServed` reads what `JSON.parse` +
 * `servedVideos` read; `ServedListLog` keeps lists in order within a cap and counts the overflow;
 * scoring the recorded lists after the phase gives exactly the figures of scoring each list on
 * arrival (same lists, same order).
 */
import { describe, expect, it } from 'vitest';
import { videoIdOf } from '../../core/features/ids.ts';
import { seededRandom } from '../../core/random/seeded-random.ts';
import { QualityRecorder } from '../../loadtest/quality-recorder.ts';
import { CHUNK_LISTS, ServedListLog } from '../../loadtest/served-lists.ts';
import { parseServed, reasonsOf, scanServed } from '../../loadtest/served-response.ts';
import { servedVideos } from '../../sim/quality/index.ts';
import { generateWorld } from '../../sim/world/index.ts';

const world = generateWorld({ seed: 11, users: 300, videos: 2000 });
const VIDEOS = world.config.videos;

/** A body as core/app.ts serves it (compact JSON, items then meta). */
function body(ids: unknown[], rung = 'full', reasons: { stage: string; code: string }[] = []): string {
  return JSON.stringify({
    items: ids.map((id, i) => ({ video_id: id, score: 1 - i / 100, source: 'two_tower' })),
    meta: {
      impression_id: 'imp_x',
      rung,
      reasons,
      timings_ms: { user: 0.4, total: 3.2 },
      model_version: 'm-1',
      experiment: { id: 'none', variant: 'none' },
      experiments: [],
      candidates: { retrieved: 300, ranked: 300 },
    },
  });
}

describe('scanServed', () => {
  const cases: [string, string][] = [
    ['a full page', body(Array.from({ length: 30 }, (_, i) => videoIdOf(i * 7)))],
    ['index 0 and the last video', body(['v_0', `v_${VIDEOS - 1}`])],
    ['beyond the catalogue', body(['v_1', `v_${VIDEOS}`, 'v_99999999999'])],
    ['malformed ids', body(['v_01', 'x_3', 'v_', 'v_-1', 'v_1a', 'v_2'])],
    ['non-string ids', body([12, null, 'v_5', true])],
    [
      'a degraded response',
      body(['v_3', 'v_4'], 'partial_retrieval', [{ stage: 'retrieval.content', code: 'E' }]),
    ],
    ['an empty page', body([], 'editorial')],
  ];
  it.each(cases)('reads %s as JSON.parse + servedVideos do', (_name, b) => {
    const parsed = parseServed(b)!;
    const expected = servedVideos(world, parsed.items!);
    const out = new Int32Array(100);
    const scan = scanServed(b, VIDEOS, out);
    expect(scan.hasItems).toBe(true);
    expect(Array.from(out.subarray(0, scan.videos))).toEqual(expected.videos);
    expect(scan.unknownIds).toBe(expected.unknownIds);
    expect(scan.rung).toBe(parsed.meta!.rung);
    expect(scan.hasReasons).toBe((parsed.meta!.reasons ?? []).length > 0);
  });

  it('tolerates whitespace around the colons (a pretty-printed body)', () => {
    const b = JSON.stringify(JSON.parse(body(['v_7', 'v_8'], 'full', [{ stage: 's', code: 'c' }])), null, 2);
    const out = new Int32Array(10);
    const scan = scanServed(b, VIDEOS, out);
    expect(Array.from(out.subarray(0, scan.videos))).toEqual([7, 8]);
    expect(scan.rung).toBe('full');
    expect(scan.hasReasons).toBe(true);
  });

  it('finds no items in an error body, and counts ids past the output buffer as unknown', () => {
    expect(scanServed('{"error":{"code":"X"}}', VIDEOS, new Int32Array(4)).hasItems).toBe(false);
    const scan = scanServed(body(['v_1', 'v_2', 'v_3']), VIDEOS, new Int32Array(2));
    expect(scan.videos).toBe(2);
    expect(scan.unknownIds).toBe(1);
  });
});

describe('reasonsOf', () => {
  it('reads meta.reasons as JSON.parse does, without parsing the whole body', () => {
    const reasons = [
      { stage: 'retrieval.content', code: 'RECLAB_ERR_RETRIEVAL_TIMEOUT' },
      { stage: 'odd ] "stage"', code: 'X' },
    ];
    expect(reasonsOf(body(['v_1'], 'partial_retrieval', reasons))).toEqual(reasons);
    expect(reasonsOf(body(['v_1']))).toEqual([]);
    // A shape the slice cannot hold falls back to the whole body.
    const nested = body(['v_1']).replace('"reasons":[]', '"reasons":[{"stage":"s","code":"c","x":[1]}]');
    expect(reasonsOf(nested)).toEqual([{ stage: 's', code: 'c', x: [1] }]);
    expect(reasonsOf('{"items":[]}')).toBeUndefined();
  });
});

describe('ServedListLog', () => {
  it('keeps lists in recording order across chunks, and counts what the cap refuses', () => {
    const cap = CHUNK_LISTS + 10;
    const log = new ServedListLog(5, cap);
    for (let i = 0; i < cap + 3; i++)
      log.record(i % 2 ? 'steady' : 'warmup', i, i % 3 ? 'full' : 'popularity', [i, i + 1, i + 2], 3);
    expect(log.size).toBe(cap);
    expect(log.overflow).toBe(3);
    let next = 0;
    log.forEach((l) => {
      expect(l.user).toBe(next);
      expect(l.phase).toBe(next % 2 ? 'steady' : 'warmup');
      expect(l.rung).toBe(next % 3 ? 'full' : 'popularity');
      expect(Array.from(l.videos)).toEqual([next, next + 1, next + 2]);
      next++;
    });
    expect(next).toBe(cap);
    log.clear();
    expect(log.size).toBe(0);
    expect(log.record('steady', 1, 'full', [1], 1)).toBe(true);
  });

  it('cuts a list longer than maxItems', () => {
    const log = new ServedListLog(2);
    log.record('p', 0, 'full', [4, 5, 6]);
    log.forEach((l) => {
      expect(Array.from(l.videos)).toEqual([4, 5]);
    });
  });

  it('rejects bad bounds', () => {
    expect(() => new ServedListLog(0)).toThrow(RangeError);
    expect(() => new ServedListLog(256)).toThrow(RangeError);
    expect(() => new ServedListLog(10, 0)).toThrow(RangeError);
  });
});

describe('QualityRecorder: scoring after the phase', () => {
  /** Response bodies of a run: mostly full pages, some degraded, some with bad ids. */
  function bodies(n: number): { user: number; body: string; phase: string }[] {
    const rnd = seededRandom(3).stream('test.bodies');
    return Array.from({ length: n }, (_, i) => {
      const len = i % 17 === 0 ? 12 : 30;
      const ids: unknown[] = Array.from({ length: len }, () => videoIdOf(rnd.int(VIDEOS)));
      if (i % 41 === 0) ids[3] = 'v_bad';
      const rung = i % 13 === 0 ? 'popularity' : 'full';
      return {
        user: rnd.int(world.config.users),
        body: body(ids, rung),
        phase: i < n / 3 ? 'warmup' : 'steady',
      };
    });
  }

  it('gives the same summary as scoring each list on arrival', () => {
    const run = bodies(1500);
    const editorial = Array.from({ length: 100 }, (_, i) => i);
    // On arrival: parse, record, score at once (flush after every list).
    const onArrival = new QualityRecorder(world, editorial, 5);
    for (const r of run) {
      onArrival.record(r.phase, r.user, parseServed(r.body));
      onArrival.flush();
    }
    // The runner's way: scan, record, score after each phase.
    const deferred = new QualityRecorder(world, editorial, 5);
    const out = new Int32Array(100);
    let phase = run[0].phase;
    for (const r of run) {
      if (r.phase !== phase) {
        deferred.flush();
        phase = r.phase;
      }
      const s = scanServed(r.body, VIDEOS, out);
      deferred.recordVideos(r.phase, r.user, s.rung, out, s.videos, s.unknownIds);
    }
    expect(deferred.pending).toBeGreaterThan(0); // the last phase's lists wait for summary()
    const a = onArrival.summary();
    const b = deferred.summary();
    expect(b).toEqual(a);
    expect(a.unreadable).toBe(Math.ceil(1500 / 41));
    expect(a.served.all.overall.lists).toBe(1500 - a.unreadable);
  });

  it('counts lists past its cap as overflow, unscored', () => {
    const q = new QualityRecorder(world, [1, 2, 3], 5, 4, 10);
    for (let i = 0; i < 14; i++) q.recordVideos('steady', i, 'full', [1, 2, 3], 3, 0);
    const s = q.summary();
    expect(s.overflow).toBe(4);
    expect(s.served.all.overall.lists).toBe(10);
  });
});
