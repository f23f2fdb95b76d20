/**
 * The model card's offline lists: served the way the core serves them (its re-ranking), the
 * ground-truth diagnostics of the heads, and the list-aware counterfactual score.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, pipelineConfigOf } from '../../core/config/config.ts';
import { VIDEO_RECORD, VIDEO_RECORD_LEN } from '../../core/features/schema.ts';
import { DEFAULT_SCORE_WEIGHTS } from '../../core/pipeline/experiments.ts';
import { seededRandom } from '../../core/random/seeded-random.ts';
import { resolveBehaviorParams } from '../../sim/behavior/behavior-params.ts';
import { videoClickbait } from '../../sim/behavior/clickbait.ts';
import { newItemTruth } from '../../sim/behavior/item-truth.ts';
import {
  headAgreement,
  judgeScores,
  judgeWeights,
  LIST_AWARE_THETAS_S,
  ListJudge,
  listAwareScore,
  OFFLINE_RERANK,
  type OfflineCandidates,
  offlineCandidates,
  rankedList,
  servedList,
  spearman,
  truthHeads,
  tuneListAware,
  tuneScoreWeights,
  userRecords,
  videoRecords,
} from '../../sim/models/index.ts';
import { historySlice, simulateLogs } from '../../sim/models/simulate-logs.ts';
import { itemGainS } from '../../sim/quality/item-gain.ts';
import { generateWorld, type World } from '../../sim/world/index.ts';

const EMB = 8;
let world: World;
let c: OfflineCandidates;

/** `rows × EMB` unit vectors from a seeded stream. */
function unitRows(rows: number, stream: string): Float32Array {
  const rng = seededRandom(3).stream(stream);
  const out = new Float32Array(rows * EMB);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let d = 0; d < EMB; d++) {
      out[r * EMB + d] = rng.normal();
      s += out[r * EMB + d] ** 2;
    }
    for (let d = 0; d < EMB; d++) out[r * EMB + d] /= Math.sqrt(s);
  }
  return out;
}

beforeAll(() => {
  world = generateWorld({ seed: 3, users: 300, videos: 400 });
  const log = simulateLogs(world, { sessions: 3000, seed: 3 });
  const data = {
    userRec: userRecords(world, historySlice(log)),
    videoRec: videoRecords(world, historySlice(log)),
    userEmb: unitRows(300, 'users'),
    itemEmb: unitRows(400, 'items'),
    embDim: EMB,
  };
  c = offlineCandidates(world, data, Uint32Array.from([1, 5, 9, 20, 42]), {
    twoTowerK: 60,
    popularityK: 30,
    candidatesMax: 80,
  });
});

/** One score per candidate from `f(candidate index within its user, video)`. */
function scoreBy(f: (j: number, v: number) => number): Float64Array {
  const out = new Float64Array(c.videos.length);
  for (let i = 0; i < c.users.length; i++)
    for (let j = c.offsets[i]; j < c.offsets[i + 1]; j++) out[j] = f(j - c.offsets[i], c.videos[j]);
  return out;
}
const zeros = () => new Float32Array(c.videos.length);

describe('OFFLINE_RERANK', () => {
  it("is the core's default re-ranking configuration", () => {
    const cfg = pipelineConfigOf(
      loadConfig({
        RECLAB_ARTIFACTS_DIR: '/tmp/x',
        RECLAB_REDIS_URL: 'redis://127.0.0.1:6379',
        RECLAB_KAFKA_BROKERS: '127.0.0.1:9092',
      }),
    );
    expect(OFFLINE_RERANK).toEqual({ ...cfg.rerank, mmrLambda: cfg.mmrLambda });
  });
});

describe('servedList', () => {
  it('serves `length` distinct candidates of the user, at most the creator cap per creator, deterministically', () => {
    const score = scoreBy((j) => 1 / (1 + j));
    for (let i = 0; i < c.users.length; i++) {
      const list = servedList(c, i, score, zeros(), zeros(), 20, OFFLINE_RERANK, 7);
      expect(list).toHaveLength(20);
      expect(new Set(list).size).toBe(20);
      const own = new Set(c.videos.subarray(c.offsets[i], c.offsets[i + 1]));
      for (const v of list) expect(own.has(v)).toBe(true);
      const perCreator = new Map<number, number>();
      for (const v of list) {
        const cr = c.videoRec[v * VIDEO_RECORD_LEN + VIDEO_RECORD.creator];
        perCreator.set(cr, (perCreator.get(cr) ?? 0) + 1);
      }
      // Exploration slots may add a creator's fourth video (as in the core); without them the cap holds.
      expect(Math.max(...perCreator.values())).toBeLessThanOrEqual(OFFLINE_RERANK.creatorCapPerPage + 2);
      const capped = servedList(
        c,
        i,
        score,
        zeros(),
        zeros(),
        20,
        { ...OFFLINE_RERANK, explorationShare: 0 },
        7,
      );
      const creators = capped.map((v) => c.videoRec[v * VIDEO_RECORD_LEN + VIDEO_RECORD.creator]);
      for (const cr of creators)
        expect(creators.filter((x) => x === cr).length).toBeLessThanOrEqual(OFFLINE_RERANK.creatorCapPerPage);
      expect(servedList(c, i, score, zeros(), zeros(), 20, OFFLINE_RERANK, 7)).toEqual(list);
    }
  });

  it('follows the score order when re-ranking is pure relevance, and diversifies otherwise', () => {
    const score = scoreBy((j) => 1 / (1 + j));
    const relevanceOnly = {
      ...OFFLINE_RERANK,
      mmrLambda: 1,
      freshnessBoost: 0,
      explorationShare: 0,
      creatorCapPerPage: 1000,
    };
    const i = 0;
    const plain = Array.from(rankedList(c, i, score, 20));
    expect(servedList(c, i, score, zeros(), zeros(), 20, relevanceOnly, 7)).toEqual(plain);
    // The same order with a steeper shape: MMR sees relevance min-max normalised, so a score whose
    // mass sits in a few candidates leaves the rest of the page to diversity.
    const steep = scoreBy((j) => (1 / (1 + j)) ** 8);
    const noExploration = { ...OFFLINE_RERANK, explorationShare: 0, freshnessBoost: 0 };
    expect(Array.from(rankedList(c, i, steep, 20))).toEqual(plain);
    expect(servedList(c, i, steep, zeros(), zeros(), 20, noExploration, 7)).not.toEqual(
      servedList(c, i, score, zeros(), zeros(), 20, noExploration, 7),
    );
  });

  it('judgeScores judges the served lists when given a serving, the plain order without', () => {
    const judge = new ListJudge(world);
    const score = scoreBy((j) => 1 / (1 + j));
    const heads = { pClick: zeros(), watchTimeS: zeros() };
    const serving = { rerank: OFFLINE_RERANK, seed: 7 };
    expect(judgeScores(judge, c, heads, score, 20, serving)).toEqual(
      judge.judge(c.users, (i) =>
        servedList(c, i, score, heads.pClick, heads.watchTimeS, 20, OFFLINE_RERANK, 7),
      ),
    );
    expect(judgeScores(judge, c, heads, score, 20)).toEqual(
      judge.judge(c.users, (i) => rankedList(c, i, score, 20)),
    );
  });
});

describe('ground-truth heads', () => {
  it("multiply to the quality scorer's per-item gain (P(click) alone at the top × seconds per click)", () => {
    const t = truthHeads(world, c);
    const p = resolveBehaviorParams();
    const scratch = newItemTruth();
    const cb = videoClickbait(world);
    for (let i = 0; i < c.users.length; i++) {
      for (let j = c.offsets[i]; j < c.offsets[i + 1]; j += 7) {
        const gain = itemGainS(world, p, c.users[i], c.videos[j], cb, undefined, scratch);
        expect(t.pClick[j] * t.watchTimeS[j]).toBeCloseTo(gain, 2);
        expect(t.pClick[j]).toBeGreaterThan(0);
        expect(t.pClick[j]).toBeLessThan(1);
      }
    }
  });

  it('agree perfectly with themselves and not with noise', () => {
    const t = truthHeads(world, c);
    expect(headAgreement(c, t, t)).toEqual({ clickSpearman: 1, watchSpearman: 1 });
    const rng = seededRandom(1).stream('noise');
    const noise = {
      pClick: Float32Array.from(t.pClick, () => rng.next()),
      watchTimeS: Float32Array.from(t.watchTimeS, (w) => -w),
    };
    const a = headAgreement(c, noise, t);
    expect(Math.abs(a.clickSpearman)).toBeLessThan(0.3);
    expect(a.watchSpearman).toBeCloseTo(-1, 6);
  });
});

describe('spearman', () => {
  it('is 1 for any increasing map, −1 for a decreasing one, uses average ranks for ties, NaN when undefined', () => {
    expect(spearman([1, 2, 3, 4], [10, 20, 300, 4000])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    // Ranks (0, 1.5, 1.5, 3) against (0, 1, 2, 3): Pearson = 4.5 / √(4.5 × 5).
    expect(spearman([1, 2, 2, 3], [1, 2, 3, 4])).toBeCloseTo(4.5 / Math.sqrt(4.5 * 5), 12);
    expect(spearman([1], [1])).toBeNaN();
    expect(spearman([1, 1, 1], [1, 2, 3])).toBeNaN();
  });
});

describe('list-aware score (counterfactual)', () => {
  it('demotes attractive items that watch less than θ below unattractive ones, and is ≥ 0', () => {
    // Items: attractive long watch, unattractive short, attractive short.
    const p = { pClick: Float32Array.from([0.8, 0.1, 0.8]), watchTimeS: Float32Array.from([900, 100, 100]) };
    const s = listAwareScore(p, 300);
    expect(Math.min(...s)).toBe(0);
    expect(s[0]).toBeGreaterThan(s[1]);
    expect(s[1]).toBeGreaterThan(s[2]);
    // θ = 0 is the plain odds × watch: more attractive is always better.
    const plain = listAwareScore(p, 0);
    expect(plain[2]).toBeGreaterThan(plain[1]);
  });

  it('with perfect heads, serves more watch time than the formula with perfect heads on these users', () => {
    const judge = new ListJudge(world);
    const t = truthHeads(world, c);
    const serving = { rerank: OFFLINE_RERANK, seed: 7 };
    const tuned = tuneScoreWeights(judge, c, t, {
      listLength: 20,
      serving,
      ndcgTolerance: 0.05,
      names: ['click', 'watchTime', 'clickbait'],
    });
    const aware = tuneListAware(judge, { c, p: t }, { c, p: t }, 0, 20, serving);
    expect(LIST_AWARE_THETAS_S).toContain(aware.thetaS);
    expect(aware.heldOut).toEqual(aware.validation);
    expect(aware.heldOut.expectedWatchTimeS).toBeGreaterThan(tuned.tuned.expectedWatchTimeS);
    expect(tuned.tuned.expectedWatchTimeS).toBeGreaterThanOrEqual(tuned.start.expectedWatchTimeS);
    // Tuning starts from the default weights, judged on the served lists.
    expect(tuned.start).toEqual(judgeWeights(judge, c, t, DEFAULT_SCORE_WEIGHTS, 20, serving));
  });
});
