import { describe, expect, it } from 'vitest';
import {
  NUM_REGIONS,
  RANKER_INPUT_DIM,
  rankerInput,
  USER_RECORD,
  USER_RECORD_LEN,
  VIDEO_RECORD,
  VIDEO_RECORD_LEN,
} from '../../core/features/schema.ts';
import {
  DRIFT_FEATURES,
  DriftMonitor,
  parseTrainingDistribution,
  recordTrainingDistribution,
  type TrainingDistribution,
} from '../../core/observability/drift-monitor.ts';
import { CoreMetrics } from '../../core/observability/metrics.ts';
import type { FeatureStore } from '../../core/ports/feature-store.ts';
import type { RandomStream } from '../../core/ports/random.ts';
import { seededRandom } from '../../core/random/seeded-random.ts';
import { rankerFeatureNames } from '../../core/registry/input-schema.ts';
import { serveRecommendation } from '../../core/serve.ts';
import { fakeModelSet, fixtureCore } from '../helpers/core-fixtures.ts';
import { manualClock } from '../helpers/manual-clock.ts';

const VIDEOS = 600;
const LIST = 30;
const WINDOW = 1000;

/** A seeded little world: videos with varied features, a popular list of LIST videos per region. */
function world(rng: RandomStream) {
  const videos = Array.from({ length: VIDEOS }, () => {
    const r = new Float32Array(VIDEO_RECORD_LEN);
    r[VIDEO_RECORD.creator] = rng.int(100);
    r[VIDEO_RECORD.category] = rng.int(5);
    r[VIDEO_RECORD.durationS] = Math.expm1(2 + 5 * rng.next());
    // The manual clock reads 0 s: uploads lie in the past, up to ~80 days.
    r[VIDEO_RECORD.uploadTsS] = -Math.expm1(rng.next() * Math.log(2000)) * 3600;
    r[VIDEO_RECORD.logViews] = 16 * rng.next();
    r[VIDEO_RECORD.logCreatorFollowers] = 12 * rng.next();
    return r;
  });
  const popular = Array.from({ length: NUM_REGIONS }, () =>
    Array.from({ length: LIST }, (_, i) => ({ video: rng.int(VIDEOS), score: LIST - i })),
  );
  return { videos, popular };
}

/** A user; `tenureFactor` > 1 is the shifted population (older accounts), watch counts unchanged. */
function user(rng: RandomStream, tenureFactor: number): Float32Array {
  const r = new Float32Array(USER_RECORD_LEN);
  r[USER_RECORD.region] = rng.int(NUM_REGIONS);
  r[USER_RECORD.tenureDays] = Math.expm1(rng.next() * Math.log(366)) * tenureFactor;
  r[USER_RECORD.watchCount] = Math.expm1(rng.next() * Math.log(1001));
  return r;
}

/** The test's ranker: p_click rises with the video's views (a score that depends on a served feature). */
const VIEWS_COLUMN = rankerFeatureNames().indexOf('video.log_views/16');
function clickOf(x: Float32Array, n: number) {
  const pClick = Float32Array.from(
    { length: n },
    (_, r) => 0.02 + 0.2 * x[r * RANKER_INPUT_DIM + VIEWS_COLUMN],
  );
  return { pClick, watchTimeS: new Float32Array(n).fill(30) };
}

const psiOf = (text: string, feature: string): number => {
  const m = new RegExp(`^reclab_drift_psi\\{feature="${feature}",model_version="blue"\\} (\\S+)$`, 'm').exec(
    text,
  );
  if (!m) throw new Error(`no reclab_drift_psi for ${feature}`);
  return Number(m[1]);
};

describe('drift (PSI) of served features against the training distribution', () => {
  const rng = seededRandom(7);
  const w = world(rng.stream('world'));
  const dedupe = (list: { video: number; score: number }[]) => [
    ...new Map(list.map((e) => [e.video, e])).values(),
  ];
  const popular = w.popular.map(dedupe);

  /** "Training": the candidate lists (as the core would rank them) of 1,000 users of the base population. */
  function training(): TrainingDistribution {
    const users = rng.stream('training-users');
    const rows: Float32Array[] = [];
    const offsets = [0];
    for (let i = 0; i < 1000; i++) {
      const u = user(users, 1);
      const list = popular[u[USER_RECORD.region]];
      rows.push(
        rankerInput(
          u,
          list.map((e) => w.videos[e.video]),
          new Float32Array(list.length),
          0,
        ),
      );
      offsets.push(offsets[offsets.length - 1] + list.length);
    }
    const x = new Float32Array(offsets[offsets.length - 1] * RANKER_INPUT_DIM);
    let at = 0;
    for (const r of rows) {
      x.set(r, at);
      at += r.length;
    }
    const n = offsets[offsets.length - 1];
    return recordTrainingDistribution(x, offsets, clickOf(x, n).pClick, 'test');
  }

  it('records decile edges and proportions that a manifest round-trips', () => {
    const t = training();
    expect(Object.keys(t.features).sort()).toEqual(Object.keys(DRIFT_FEATURES).sort());
    const tenure = t.features.user_tenure;
    expect(tenure.samples).toBe(1000);
    expect(tenure.edges).toHaveLength(9);
    expect(tenure.proportions.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 12);
    for (const p of tenure.proportions) expect(p).toBeCloseTo(0.1, 2);
    // Per-row features count every candidate (region lists hold up to LIST distinct videos).
    expect(t.features.video_age.samples).toBe(t.features.two_tower_affinity.samples);
    expect(t.features.video_age.samples).toBeGreaterThan(1000 * (LIST - 5));
    expect(t.features.ranker_p_click.edges).toHaveLength(9);
    // A constant feature has a single bin (the fake model's affinity is 0 everywhere).
    expect(t.features.two_tower_affinity.edges).toEqual([]);
    const parsed = parseTrainingDistribution(JSON.parse(JSON.stringify(t)));
    expect(parsed).toEqual(t);
    // Unknown features, wrong columns and inconsistent bins are left out; nothing usable → undefined.
    const bad = { source: 's', features: { nope: tenure, video_age: { ...tenure, column: 'video.other' } } };
    expect(parseTrainingDistribution(bad)).toBeUndefined();
    expect(parseTrainingDistribution(undefined)).toBeUndefined();
  });

  it('serving a population with shifted tenure: PSI > 0.25 for user_tenure, < 0.1 for the unshifted features', async () => {
    const { clock } = manualClock();
    const users = new Map<string, Float32Array>();
    const features: FeatureStore = {
      getUser: async (id) => users.get(id),
      getVideos: async (vs) => vs.map((v) => w.videos[v]),
      topPopular: async (region, n) => (region === undefined ? popular[0] : popular[region]).slice(0, n),
      loadMarker: async () => 'drift-world',
    };
    const metrics = new CoreMetrics({ defaultMetrics: false });
    const core = await fixtureCore({
      clock,
      features,
      metrics,
      drift: new DriftMonitor({ windowSize: WINDOW }),
      models: {
        initial: {
          ...fakeModelSet('blue'),
          ranker: { modelVersion: 'blue', score: async (x, n) => clickOf(x, n) },
          trainingDistribution: training(),
        },
      },
      pipeline: { retrievalKDefault: LIST, candidatesMax: LIST },
    });
    const serve = async (population: string, n: number, tenureFactor: number) => {
      const draw = rng.stream(population);
      for (let i = 0; i < n; i++) {
        const u = user(draw, tenureFactor);
        const userId = `${population}_${i}`;
        users.set(userId, u);
        const res = await serveRecommendation(core, {
          userId,
          count: 10,
          regionIdx: u[USER_RECORD.region],
          deviceIdx: undefined,
        });
        expect(res.ok && res.body.meta.rung).toBe('full');
      }
    };

    await serve('before', WINDOW - 1, 1);
    // Not a full window yet: samples, no PSI.
    let text = await metrics.registry.metrics();
    expect(text).toContain(
      `reclab_drift_window_samples{feature="user_tenure",model_version="blue"} ${WINDOW - 1}`,
    );
    expect(text).not.toContain('reclab_drift_psi{feature="user_tenure"');

    await serve('before-last', 1, 1);
    text = await metrics.registry.metrics();
    const stable = Object.fromEntries(Object.keys(DRIFT_FEATURES).map((f) => [f, psiOf(text, f)]));
    for (const [f, value] of Object.entries(stable)) expect(value, f).toBeLessThan(0.1);

    await serve('shifted', WINDOW, 4); // accounts 4× older, everything else as before
    text = await metrics.registry.metrics();
    const shifted = Object.fromEntries(Object.keys(DRIFT_FEATURES).map((f) => [f, psiOf(text, f)]));
    console.log('PSI same population', stable, 'shifted tenure', shifted);
    expect(shifted.user_tenure).toBeGreaterThan(0.25);
    expect(shifted.user_watch_count).toBeLessThan(0.1);
    expect(shifted.video_age).toBeLessThan(0.1);
    expect(shifted.video_views).toBeLessThan(0.1);
    expect(shifted.ranker_p_click).toBeLessThan(0.1);
  });

  it('keeps windows per model version and forgets the least recent beyond its limit', () => {
    const monitor = new DriftMonitor({ windowSize: 2, maxVersions: 2 });
    const t = training();
    const row = new Float32Array(rankerInput(user(rng.stream('one'), 1), [w.videos[0]], [0], 0));
    for (const v of ['a', 'b', 'c']) monitor.observe({ modelVersion: v, trainingDistribution: t }, row, 1);
    monitor.observe({ modelVersion: 'none' }, row, 1); // no training distribution: not watched
    const versions = new Set(monitor.readings().map((r) => r.modelVersion));
    expect([...versions].sort()).toEqual(['b', 'c']);
    expect(
      monitor
        .readings()
        .every((r) => (r.samples === 1 && r.psi === undefined) || r.feature === 'ranker_p_click'),
    ).toBe(true);
  });
});
