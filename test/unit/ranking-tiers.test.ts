import { describe, expect, it } from 'vitest';
import { systemClock } from '../../core/adapters/clock/system-clock.ts';
import { tunedScoreWeights } from '../../core/artifacts.ts';
import { ReclabError } from '../../core/errors.ts';
import { RANKER_INPUT_DIM } from '../../core/features/schema.ts';
import {
  assignExperiments,
  assignVariant,
  DEFAULT_SCORE_WEIGHTS,
  resolveScoreWeights,
  type ScoreWeights,
} from '../../core/pipeline/experiments.ts';
import { clickbaitEstimate, combineScores, rankCandidates } from '../../core/pipeline/ranking.ts';
import type { Predictions, Ranker } from '../../core/ports/ranker.ts';
import { CircuitBreaker } from '../../core/resilience/circuit-breaker.ts';
import { TEST_BREAKER } from '../helpers/core-fixtures.ts';

/** Scores row i by the value of its first feature; records the rows it was asked for. */
class FirstFeatureRanker implements Ranker {
  readonly modelVersion = 'test';
  readonly calls: number[] = [];
  constructor(
    readonly fail = false,
    readonly heads = false,
    readonly scoreWeights?: Partial<ScoreWeights>,
  ) {}
  async score(features: Float32Array, n: number): Promise<Predictions> {
    this.calls.push(n);
    if (this.fail) throw new ReclabError('RECLAB_ERR_RANKER_UNAVAILABLE', 'down');
    const pClick = new Float32Array(n).fill(0.5);
    const watchTimeS = Float32Array.from({ length: n }, (_, i) => features[i * RANKER_INPUT_DIM]);
    const p: Predictions = { pClick, watchTimeS };
    if (this.heads) {
      p.pLike = new Float32Array(n).fill(0.5);
      p.pFinish = new Float32Array(n).fill(0);
      p.pDislike = Float32Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 1 : 0));
    }
    return p;
  }
}

const rows = (values: number[]) => {
  const x = new Float32Array(values.length * RANKER_INPUT_DIM);
  values.forEach((v, i) => {
    x[i * RANKER_INPUT_DIM] = v;
  });
  return x;
};
const breakers = () => ({
  main: new CircuitBreaker('ranker', systemClock, TEST_BREAKER),
  light: new CircuitBreaker('light_ranker', systemClock, TEST_BREAKER),
});
const opts = { deadlineMs: 1000, cascadeTopN: 0, weights: { like: 0, finish: 0, dislike: 0 } };
// The rows' duration feature is 0 (duration 0 s): the clickbait term is 0 for them.

describe('rankCandidates (ranker tiers, seed 000 §6 and Q5)', () => {
  it('uses the main ranker when it answers', async () => {
    const main = new FirstFeatureRanker();
    const light = new FirstFeatureRanker();
    const r = await rankCandidates(systemClock, { main, light }, breakers(), rows([1, 2, 3]), 3, opts);
    expect(r.by).toBe('main');
    expect([...r.scores]).toEqual([0.5, 1, 1.5]);
    expect(light.calls).toEqual([]);
  });

  it('falls to the light ranker when the main tier fails, and to merge order when both do', async () => {
    const light = new FirstFeatureRanker();
    const r = await rankCandidates(
      systemClock,
      { main: new FirstFeatureRanker(true), light },
      breakers(),
      rows([4, 5]),
      2,
      opts,
    );
    expect(r.by).toBe('light');
    expect(r.mainRows).toBe(0);
    expect(r.failures.map((f) => f.stage)).toEqual(['ranking']);
    const both = await rankCandidates(
      systemClock,
      { main: new FirstFeatureRanker(true), light: new FirstFeatureRanker(true) },
      breakers(),
      rows([4, 5]),
      2,
      opts,
    );
    expect(both.by).toBe('retrieval');
    expect([...both.scores]).toEqual([1, 0.5]);
    expect(both.failures.map((f) => f.stage)).toEqual(['ranking', 'light_ranking']);
  });

  it('cascade: the light ranker keeps the top N and only those reach the main ranker', async () => {
    const main = new FirstFeatureRanker();
    const light = new FirstFeatureRanker();
    const r = await rankCandidates(systemClock, { main, light }, breakers(), rows([3, 9, 1, 7, 5]), 5, {
      ...opts,
      cascadeTopN: 2,
    });
    expect(light.calls).toEqual([5]);
    expect(main.calls).toEqual([2]);
    expect(r.kept).toEqual([1, 3]);
    expect([...r.scores]).toEqual([4.5, 3.5]);
    expect([...(r.heads?.watchTimeS ?? [])]).toEqual([9, 7]); // the heads line up with `kept`
    expect(r.by).toBe('main');
  });

  it('cascade with the main tier down serves the light scores of the kept rows', async () => {
    const r = await rankCandidates(
      systemClock,
      { main: new FirstFeatureRanker(true), light: new FirstFeatureRanker() },
      breakers(),
      rows([3, 9, 1]),
      3,
      { ...opts, cascadeTopN: 1 },
    );
    expect(r.by).toBe('light');
    expect(r.kept).toEqual([1]);
  });

  it('rejects NaN from the main ranker as a failure (seed 000 §6)', async () => {
    const r = await rankCandidates(
      systemClock,
      { main: new FirstFeatureRanker(), light: new FirstFeatureRanker() },
      breakers(),
      rows([1, Number.NaN]),
      2,
      opts,
    );
    expect(r.failures[0]).toEqual({ stage: 'ranking', code: 'RECLAB_ERR_RANKER_INVALID_OUTPUT' });
  });
});

describe('combineScores', () => {
  const w = (over: Partial<ScoreWeights>) => ({ ...DEFAULT_SCORE_WEIGHTS, ...over });

  it('is expected watch time with the default weights, and scales it by the satisfaction heads', async () => {
    const p = await new FirstFeatureRanker(false, true).score(rows([10, 10]), 2);
    expect([...combineScores(p, 2, DEFAULT_SCORE_WEIGHTS)]).toEqual([5, 5]);
    // row 0: 1 + 0.5·0.5 − 2·1 < 0 → 0; row 1: 1 + 0.25 = 1.25
    expect([...combineScores(p, 2, w({ like: 0.5, dislike: 2 }))]).toEqual([0, 6.25]);
  });

  it('raises P(click) and the watch time to their weights, and penalises clickbait given durations', () => {
    const p: Predictions = { pClick: Float32Array.of(0.25, 0.5), watchTimeS: Float32Array.of(100, 40) };
    expect([...combineScores(p, 2, w({ click: 0.5, watchTime: 2 }))]).toEqual([
      0.5 * 100 ** 2,
      0.5 ** 0.5 * 1600,
    ]);
    // clickbait = P(click) × (1 − watch/duration): row 0 watches all 100 s of 100 → 0; row 1 40 of 400 → 0.45.
    const durations = [100, 400];
    const s = combineScores(p, 2, w({ clickbait: 1 }), durations);
    expect(s[0]).toBeCloseTo(25, 10);
    expect(s[1]).toBeCloseTo(20 * (1 - 0.5 * 0.9), 10);
    // Without durations the clickbait factor is 1.
    expect([...combineScores(p, 2, w({ clickbait: 1 }))]).toEqual([25, 20]);
  });

  it('with a watch baseline, ranks a click-stealer (attractive, short) below a long watch, and a sharper click head pushes it further down', () => {
    // Row 0: P(click) 0.5, 100 s; row 1: P(click) 0.25, 400 s. θ = 200 s.
    const p: Predictions = { pClick: Float32Array.of(0.5, 0.25), watchTimeS: Float32Array.of(100, 400) };
    // 0.5·(100 − 200) = −50 and 0.25·(400 − 200) = 50, shifted by the lowest: 0 and 100.
    expect([...combineScores(p, 2, w({ watchBaseline: 200 }))]).toEqual([0, 100]);
    // The plain product: 50 and 100.
    expect([...combineScores(p, 2, DEFAULT_SCORE_WEIGHTS)]).toEqual([50, 100]);
    // Three rows: the click-stealer's margin below the long watch grows with its P(click).
    const three = (q: number): Predictions => ({
      pClick: Float32Array.of(q, 0.25, 0.1),
      watchTimeS: Float32Array.of(100, 400, 300),
    });
    const gap = (q: number) => {
      const s = combineScores(three(q), 3, w({ watchBaseline: 200 }));
      return s[1] - s[0];
    };
    expect(gap(0.8)).toBeGreaterThan(gap(0.5));
    // The baseline is in the watch term's units: with watchTime 2 it is subtracted as θ².
    const s2 = combineScores(p, 2, w({ watchBaseline: 200, watchTime: 2 }));
    expect(s2[1] - s2[0]).toBeCloseTo(0.25 * (400 ** 2 - 200 ** 2) - 0.5 * (100 ** 2 - 200 ** 2), 6);
    // Scores are never below 0; without a negative row nothing is shifted.
    expect(Math.min(...s2)).toBe(0);
    expect([...combineScores(p, 2, w({ watchBaseline: 50 }))]).toEqual([25, 87.5]);
  });
});

describe('score weights: configured over the model card over the defaults', () => {
  it("reads each ranker's tuned weights from the manifest, keeping only known finite numbers", () => {
    expect(
      tunedScoreWeights({
        ranker: {
          scoreWeights: { click: 0.5, watchTime: 1, clickbait: 1, bogus: 3, like: 'x' },
          lightScoreWeights: { click: 0.75, watchBaseline: 600 },
        },
      }),
    ).toEqual({
      main: { click: 0.5, watchTime: 1, clickbait: 1 },
      light: { click: 0.75, watchBaseline: 600 },
    });
    expect(tunedScoreWeights({})).toEqual({ main: undefined, light: undefined });
  });

  it('resolves each weight from the highest layer that sets it', () => {
    expect(resolveScoreWeights(undefined, undefined)).toEqual(DEFAULT_SCORE_WEIGHTS);
    expect(resolveScoreWeights({}, { watchTime: 2, clickbait: 0.5 })).toEqual({
      ...DEFAULT_SCORE_WEIGHTS,
      watchTime: 2,
      clickbait: 0.5,
    });
    expect(resolveScoreWeights({ clickbait: 0, like: 1 }, { watchTime: 2, clickbait: 0.5 })).toEqual({
      ...DEFAULT_SCORE_WEIGHTS,
      watchTime: 2,
      clickbait: 0,
      like: 1,
    });
  });

  it("ranks with the scoring ranker's own weights unless the configuration overrides them", async () => {
    // Watch times 1, 2, 3 with P(click) 0.5: a watchTime exponent of 2 squares them.
    const main = new FirstFeatureRanker(false, false, { watchTime: 2 });
    const r = await rankCandidates(systemClock, { main }, breakers(), rows([1, 2, 3]), 3, {
      ...opts,
      weights: {},
    });
    expect([...r.scores]).toEqual([0.5, 2, 4.5]);
    const overridden = await rankCandidates(systemClock, { main }, breakers(), rows([1, 2, 3]), 3, {
      ...opts,
      weights: { watchTime: 1 },
    });
    expect([...overridden.scores]).toEqual([0.5, 1, 1.5]);
    // The light ranker's own weights apply when it scores.
    const light = new FirstFeatureRanker(false, false, { click: 0 });
    const fallback = await rankCandidates(
      systemClock,
      { main: new FirstFeatureRanker(true), light },
      breakers(),
      rows([1, 2, 3]),
      3,
      { ...opts, weights: {} },
    );
    expect(fallback.by).toBe('light');
    expect([...fallback.scores]).toEqual([1, 2, 3]);
  });
});

describe('layered experiments', () => {
  const layers = [
    {
      id: 'exp_w',
      variants: [
        { name: 'a', share: 1 },
        { name: 'b', share: 1, params: { rankingWeights: { like: 1 } } },
      ],
    },
    {
      id: 'exp_m',
      variants: [
        { name: 'old', share: 1 },
        { name: 'new', share: 1, params: { modelVersion: 'v2' } },
      ],
    },
  ];

  it('assigns stickily and independently per layer, resolving variant params', () => {
    const users = Array.from({ length: 4000 }, (_, i) => `u_${i}`);
    const pairs = users.map((u) => assignExperiments(u, layers));
    expect(users.map((u) => assignExperiments(u, layers))).toEqual(pairs);
    const count = (f: (a: (typeof pairs)[number]) => boolean) => pairs.filter(f).length / pairs.length;
    const bShare = count((a) => a.experiments[0].variant === 'b');
    const newShare = count((a) => a.experiments[1].variant === 'new');
    const both = count((a) => a.experiments[0].variant === 'b' && a.experiments[1].variant === 'new');
    expect(bShare).toBeGreaterThan(0.45);
    expect(bShare).toBeLessThan(0.55);
    // Independent layers: P(b ∧ new) ≈ P(b)·P(new).
    expect(Math.abs(both - bShare * newShare)).toBeLessThan(0.03);
    for (const a of pairs) {
      // Variant a sets nothing: the weight stays unset, for the model's own (resolveScoreWeights).
      expect(a.rankingWeights.like).toBe(a.experiments[0].variant === 'b' ? 1 : undefined);
      expect(a.modelVersion).toBe(a.experiments[1].variant === 'new' ? 'v2' : undefined);
    }
    expect(assignVariant('u_1', layers[0])).toBe(pairs[1].experiments[0].variant);
  });
});

describe('clickbaitEstimate (seed 001: high CTR, low watch time)', () => {
  it('is P(click) × (1 − expected completion), 0 without a duration', () => {
    expect(clickbaitEstimate(0.8, 30, 600)).toBeCloseTo(0.8 * 0.95, 10);
    expect(clickbaitEstimate(0.8, 600, 600)).toBe(0);
    expect(clickbaitEstimate(0.8, 900, 600)).toBe(0);
    expect(clickbaitEstimate(0.1, 30, 600)).toBeLessThan(clickbaitEstimate(0.8, 30, 600));
    expect(clickbaitEstimate(0.5, 10, 0)).toBe(0);
  });
});
