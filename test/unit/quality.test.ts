/**
 * Quality of served lists from ground truth (sim/quality) and the session parts of the behaviour
 * model it relies on (clickbait, drift, determinism). One 3k × 3k world; about 5 s.
 */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../core/random/seeded-random.ts';
import { createBehaviorModel, expectedResponse, resolveBehaviorParams } from '../../sim/behavior/index.ts';
import {
  createQualityScorer,
  type ListQuality,
  oracleList,
  QUALITY_METRICS,
  QualityAggregator,
  randomList,
  servedVideos,
} from '../../sim/quality/index.ts';
import { topK } from '../../sim/util/top-k.ts';
import { affinity, generateWorld, type World } from '../../sim/world/index.ts';

const world = generateWorld({ seed: 23, users: 3000, videos: 3000 });
const { latentDim: D, videos: V } = world.config;
const K = 10;
const USERS = Array.from({ length: 200 }, (_, i) => i * 15);

/** `world` with another clickbait array (the same video then differs only in clickbait). */
function withClickbait(w: World, clickbait: Float32Array): World {
  return { ...w, videoClickbait: clickbait } as World;
}

/**
 * A plausible non-oracle recommender: the popularity prior plus the user's preference for the
 * video's category (the two signals a simple production system has), never the ground truth.
 */
function popularityPlusCategory(u: number, k: number): Uint32Array {
  const pref = new Float64Array(16);
  for (let c = 0; c < 16; c++) {
    for (let j = 0; j < D; j++) pref[c] += world.userLatent[u * D + j] * world.categoryCentroids[c * D + j];
  }
  return topK(V, k, (v) => Math.log(world.videoPopularity[v]) + 4 * pref[world.videoCategory[v]]);
}

function mean(xs: number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

describe('served-list quality against ground truth (200 users)', () => {
  const scorer = createQualityScorer(world);
  const rnd = seededRandom(5).stream('test.random-list');
  const scores: Record<'random' | 'served' | 'oracle', ListQuality[]> = {
    random: [],
    served: [],
    oracle: [],
  };
  for (const u of USERS) {
    scores.random.push(scorer.score(u, randomList(world, rnd, K)));
    scores.served.push(scorer.score(u, popularityPlusCategory(u, K)));
    scores.oracle.push(scorer.score(u, oracleList(world, {}, u, K)));
  }
  const m = (name: keyof typeof scores, metric: keyof ListQuality) =>
    mean(scores[name].map((q) => q[metric]));

  it('random < served < oracle on expected watch time, with clear margins', () => {
    expect(m('served', 'expectedWatchTimeS')).toBeGreaterThan(1.5 * m('random', 'expectedWatchTimeS'));
    expect(m('oracle', 'expectedWatchTimeS')).toBeGreaterThan(1.5 * m('served', 'expectedWatchTimeS'));
    expect(m('served', 'expectedClicks')).toBeGreaterThan(m('random', 'expectedClicks') + 0.1);
  });

  it('random < served < oracle on NDCG@10; the oracle scores exactly 1', () => {
    expect(m('served', 'ndcgAt10')).toBeGreaterThan(2 * m('random', 'ndcgAt10'));
    expect(m('oracle', 'ndcgAt10')).toBeGreaterThan(m('served', 'ndcgAt10') + 0.3);
    for (const q of scores.oracle) expect(q.ndcgAt10).toBeCloseTo(1, 12);
    for (const q of [...scores.random, ...scores.served]) {
      expect(q.ndcgAt10).toBeGreaterThanOrEqual(0);
      expect(q.ndcgAt10).toBeLessThan(1);
    }
  });

  it('descriptive metrics stay in range; random lists are the most diverse and least concentrated', () => {
    for (const q of [...scores.random, ...scores.served, ...scores.oracle]) {
      expect(q.listLength).toBe(K);
      expect(q.intraListDiversity).toBeGreaterThanOrEqual(0);
      expect(q.intraListDiversity).toBeLessThanOrEqual(2);
      expect(q.creatorTopShare).toBeGreaterThanOrEqual(1 / K);
      expect(q.creatorHhi).toBeGreaterThanOrEqual(1 / K - 1e-12);
      expect(q.creatorHhi).toBeLessThanOrEqual(q.creatorTopShare + 1e-12);
      expect(q.freshShare).toBeGreaterThanOrEqual(0);
      expect(q.freshShare).toBeLessThanOrEqual(1);
    }
    expect(m('random', 'intraListDiversity')).toBeGreaterThan(m('served', 'intraListDiversity'));
    expect(m('random', 'creatorTopShare')).toBeLessThan(m('served', 'creatorTopShare'));
  });
});

describe('clickbait', () => {
  it('the same video gets more expected clicks but less expected watch time with clickbait 1 than 0', () => {
    const p = resolveBehaviorParams();
    const none = withClickbait(world, new Float32Array(V));
    const all = withClickbait(world, new Float32Array(V).fill(1));
    let checked = 0;
    for (const u of USERS.slice(0, 40)) {
      for (const v of [u % V, (u * 7 + 1) % V, (u * 13 + 2) % V]) {
        const plain = expectedResponse(none, p, u, [v]);
        const bait = expectedResponse(all, p, u, [v]);
        expect(bait.expectedClicks).toBeGreaterThan(plain.expectedClicks);
        expect(bait.expectedWatchTimeS).toBeLessThan(plain.expectedWatchTimeS);
        expect(bait.expectedDislikes).toBeGreaterThan(plain.expectedDislikes);
        checked++;
      }
    }
    expect(checked).toBe(120);
  });

  it("within one list, clickbait on an item raises its clicks and the list's, and lowers the list's watch time", () => {
    const u = USERS[3];
    const list = popularityPlusCategory(u, K);
    // Equal affinity by construction: the same video at positions 1 and 2, then clickbait on it.
    const v = list[1];
    const cb = new Float32Array(V);
    const twin = [list[0], v, v, ...list.slice(3)];
    const plain = expectedResponse(withClickbait(world, cb), resolveBehaviorParams(), u, twin);
    cb[v] = 1;
    const bait = expectedResponse(withClickbait(world, cb), resolveBehaviorParams(), u, twin);
    expect(plain.clickProbability[1]).toBeGreaterThan(plain.clickProbability[2]); // position bias only
    expect(bait.clickProbability[1]).toBeGreaterThan(plain.clickProbability[1]);
    expect(bait.expectedClicks).toBeGreaterThan(plain.expectedClicks);
    expect(bait.expectedWatchTimeS).toBeLessThan(plain.expectedWatchTimeS);
  });
});

describe('interest drift within a session', () => {
  /** Videos of one category the user does not prefer, best-affinity first. */
  function foreignList(u: number): number[] {
    let worst = 0;
    let worstDot = Number.POSITIVE_INFINITY;
    for (let c = 0; c < 16; c++) {
      let dot = 0;
      for (let j = 0; j < D; j++) dot += world.userLatent[u * D + j] * world.categoryCentroids[c * D + j];
      if (dot < worstDot) [worst, worstDot] = [c, dot];
    }
    const ofCategory = [];
    for (let v = 0; v < V; v++) if (world.videoCategory[v] === worst) ofCategory.push(v);
    return ofCategory.sort((a, b) => affinity(world, u, b) - affinity(world, u, a)).slice(0, K);
  }

  const cosToCentroid = (pref: Float64Array, c: number) => {
    let dot = 0;
    for (let j = 0; j < D; j++) dot += pref[j] * world.categoryCentroids[c * D + j];
    return dot;
  };

  it('moves the preference toward what was watched, and later lists are judged by the drifted state', () => {
    const u = USERS[7];
    const list = foreignList(u);
    const category = world.videoCategory[list[0]];
    const model = createBehaviorModel(world, seededRandom(3), { driftStep: 0.2 });
    const session = model.session(u, 'drift-test');
    const before = session.preference();
    const expectedBefore = session.expected(list);
    let watched = 0;
    for (let t = 0; t < 60; t++) if (session.respond(list).clickedVideo >= 0) watched++;
    expect(watched).toBeGreaterThan(3);
    const after = session.preference();
    expect(cosToCentroid(after, category)).toBeGreaterThan(cosToCentroid(before, category) + 0.2);
    let norm = 0;
    for (const x of after) norm += x * x;
    expect(Math.sqrt(norm)).toBeCloseTo(1, 9);
    const expectedAfter = session.expected(list);
    expect(expectedAfter.expectedClicks).toBeGreaterThan(expectedBefore.expectedClicks);
    expect(expectedAfter.expectedWatchTimeS).toBeGreaterThan(expectedBefore.expectedWatchTimeS);
    // The stateless view of the same user is unchanged.
    expect(model.expected(u, list).expectedClicks).toBeCloseTo(expectedBefore.expectedClicks, 12);
    // The quality scorer judges the drifted state when given the delta.
    const scorer = createQualityScorer(world, { driftStep: 0.2 });
    const drifted = scorer.score(u, list, { preferenceDelta: session.preferenceDelta() });
    expect(drifted.expectedWatchTimeS).toBeCloseTo(expectedAfter.expectedWatchTimeS, 9);
    expect(session.listsSeen).toBe(60);
  });

  it('driftStep 0 leaves the preference where it was', () => {
    const u = USERS[7];
    const session = createBehaviorModel(world, seededRandom(3), { driftStep: 0 }).session(u);
    const before = session.preference();
    for (let t = 0; t < 30; t++) session.respond(foreignList(u));
    expect(session.preference()).toEqual(before);
  });
});

describe('determinism', () => {
  const trace = (seed: number, order: 'ab' | 'ba') => {
    const model = createBehaviorModel(world, seededRandom(seed));
    const a = model.session(USERS[1], 'a');
    const b = model.session(USERS[2], 'b');
    const list = popularityPlusCategory(USERS[1], K);
    const out: Record<string, string[]> = { a: [], b: [] };
    const fmt = (r: ReturnType<typeof a.respond>) =>
      `${r.clickedVideo}:${r.watchTimeS.toFixed(4)}:${+r.liked}${+r.disliked}${+r.finished}`;
    for (let t = 0; t < 100; t++) {
      for (const s of order === 'ab' ? [a, b] : [b, a]) out[s === a ? 'a' : 'b'].push(fmt(s.respond(list)));
    }
    return `${out.a.join(',')}|${out.b.join(',')}`;
  };

  it('the same seed gives the same sampled responses; another seed does not', () => {
    expect(trace(77, 'ab')).toBe(trace(77, 'ab'));
    expect(trace(77, 'ab')).not.toBe(trace(78, 'ab'));
  });

  it('keyed sessions do not depend on how sessions interleave', () => {
    expect(trace(77, 'ab')).toBe(trace(77, 'ba'));
  });

  it('scores are pure functions of (world, params, user, list): the cache changes nothing', () => {
    const cached = createQualityScorer(world);
    const uncached = createQualityScorer(world, {}, { idealCacheUsers: 0 });
    for (const u of USERS.slice(0, 20)) {
      const list = popularityPlusCategory(u, K);
      expect(cached.score(u, list)).toEqual(uncached.score(u, list));
      expect(cached.score(u, list)).toEqual(uncached.score(u, list));
    }
  });
});

describe('ideal pool', () => {
  it("NDCG@10 equals a brute-force computation over every video (the scan's early exit is exact)", () => {
    const scorer = createQualityScorer(world);
    const rnd = seededRandom(10).stream('test.brute');
    for (const u of USERS.slice(0, 15)) {
      const gains = Array.from({ length: V }, (_, v) => scorer.gainS(u, v));
      const ideal = [...gains].sort((a, b) => b - a).slice(0, K);
      const dcg = (g: number[]) => g.reduce((s, x, i) => s + x / Math.log2(i + 2), 0);
      for (const list of [randomList(world, rnd, K), popularityPlusCategory(u, K)]) {
        const expected = dcg([...list].map((v) => gains[v])) / dcg(ideal);
        expect(scorer.score(u, list).ndcgAt10).toBeCloseTo(expected, 12);
      }
    }
  });

  it('a sampled pool (catalogue above idealPoolSize) still gives NDCG ≤ 1 and 1 for the oracle', () => {
    const sampled = createQualityScorer(world, {}, { idealPoolSize: 300 });
    const full = createQualityScorer(world);
    expect(sampled.idealPool).toBe('sample');
    expect(sampled.idealPoolSize).toBe(300);
    expect(full.idealPool).toBe('catalogue');
    const rnd = seededRandom(9).stream('test.pool');
    const gaps: number[] = [];
    for (const u of USERS.slice(0, 50)) {
      expect(sampled.score(u, oracleList(world, {}, u, K)).ndcgAt10).toBeCloseTo(1, 12);
      const list = randomList(world, rnd, K);
      const s = sampled.score(u, list).ndcgAt10;
      expect(s).toBeLessThanOrEqual(1);
      gaps.push(s - full.score(u, list).ndcgAt10);
    }
    // A smaller pool has a weaker ideal: sampled NDCG is optimistic, never pessimistic.
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(-1e-12);
  });

  it('videos uploaded after the reference time are neither in the oracle nor in the ideal', () => {
    const late = Uint32Array.from(world.videoUploadTsS);
    const u = USERS[4];
    const best = oracleList(world, {}, u, K);
    late[best[0]] = world.config.nowS + 3600; // the user's best video is uploaded an hour later
    const w = { ...world, videoUploadTsS: late } as World;
    expect([...oracleList(w, {}, u, K)]).not.toContain(best[0]);
    expect([...oracleList(w, {}, u, K, { nowS: world.config.nowS + 3600 })]).toEqual([...best]);
    const scorer = createQualityScorer(w);
    const withoutBest = oracleList(w, {}, u, K);
    expect(scorer.score(u, withoutBest).ndcgAt10).toBeCloseTo(1, 12);
    expect(scorer.score(u, withoutBest, { nowS: world.config.nowS + 7200 }).ndcgAt10).toBeLessThan(1);
    expect([...randomList(w, seededRandom(1).stream('x'), V)]).not.toContain(best[0]);
  });
});

describe('fresh share and parsing', () => {
  it('counts uploads within freshWindowS before nowS', () => {
    const scorer = createQualityScorer(world, {}, { freshWindowS: 86_400 });
    const now = world.config.nowS;
    const list = randomList(world, seededRandom(4).stream('test.fresh'), 50);
    const fresh = [...list].filter((v) => world.videoUploadTsS[v] >= now - 86_400).length;
    expect(scorer.score(0, list).freshShare).toBe(fresh / 50);
    expect(scorer.score(0, list, { nowS: now + 10 * 86_400 }).freshShare).toBe(0);
  });

  it('maps response items to video indices and counts bad ids', () => {
    const items = [{ video_id: 'v_3' }, { video_id: 'v_x' }, { video_id: `v_${V}` }, {}, { video_id: 'v_0' }];
    expect(servedVideos(world, items)).toEqual({ videos: [3, 0], unknownIds: 3 });
  });

  it('an empty list scores 0 everywhere', () => {
    const q = createQualityScorer(world).score(0, []);
    for (const metric of QUALITY_METRICS) expect(q[metric]).toBe(0);
  });
});

describe('QualityAggregator', () => {
  const scorer = createQualityScorer(world);
  const rnd = seededRandom(6).stream('test.aggregate');

  it('summarises count, mean, median and coverage per phase, rung and overall, as plain JSON', () => {
    const agg = new QualityAggregator(V, 8);
    const recorded: { phase: string; rung: string; q: ListQuality; list: Uint32Array }[] = [];
    for (let i = 0; i < 60; i++) {
      const phase = i < 40 ? 'steady' : 'outage';
      const rung = i % 3 === 0 ? 'popularity' : 'full';
      const list = rung === 'full' ? popularityPlusCategory(USERS[i], K) : randomList(world, rnd, K);
      const q = scorer.score(USERS[i], list);
      agg.add({ phase, rung }, q, list);
      recorded.push({ phase, rung, q, list });
    }
    const s = agg.summary();
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    expect(Object.keys(s.byPhase)).toEqual(['steady', 'outage']);
    expect(Object.keys(s.all.byRung)).toEqual(['popularity', 'full']);
    expect(s.all.overall.lists).toBe(60);
    expect(s.byPhase.outage.byRung.full.lists).toBe(
      recorded.filter((r) => r.phase === 'outage' && r.rung === 'full').length,
    );

    const group = recorded.filter((r) => r.phase === 'steady');
    const watch = group.map((r) => r.q.expectedWatchTimeS);
    expect(s.byPhase.steady.overall.metrics.expectedWatchTimeS.mean).toBeCloseTo(mean(watch), 9);
    const distinct = new Set(group.flatMap((r) => [...r.list]));
    expect(s.byPhase.steady.overall.distinctVideos).toBe(distinct.size);
    expect(s.byPhase.steady.overall.coverage).toBeCloseTo(distinct.size / V, 12);
    // 40 lists through a sample of 8: the median comes from an evenly spaced subsample.
    const p50 = s.byPhase.steady.overall.metrics.ndcgAt10.p50;
    const sorted = group.map((r) => r.q.ndcgAt10).sort((a, b) => a - b);
    expect(p50).toBeGreaterThanOrEqual(sorted[Math.floor(sorted.length * 0.2)]);
    expect(p50).toBeLessThanOrEqual(sorted[Math.ceil(sorted.length * 0.8)]);
    expect(Object.keys(s.all.overall.metrics)).toEqual([...QUALITY_METRICS]);
  });

  it('keeps the exact median while the sample has room', () => {
    const agg = new QualityAggregator(V);
    const values: number[] = [];
    for (let i = 0; i < 25; i++) {
      const q = scorer.score(USERS[i], randomList(world, rnd, K));
      values.push(q.expectedClicks);
      agg.add({ phase: 'p', rung: 'full' }, q, []);
    }
    values.sort((a, b) => a - b);
    expect(agg.summary().all.overall.metrics.expectedClicks.p50).toBe(values[12]);
    expect(agg.summary().all.overall.coverage).toBe(0);
  });
});
