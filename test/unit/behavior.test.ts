import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../core/random/seeded-random.ts';
import {
  bounceProbability,
  bounceWatchFactor,
  chooseMultinomialLogit,
  clickProbabilities,
  completionLogitMean,
  createBehaviorModel,
  DEFAULT_BEHAVIOR_PARAMS,
  examinationProbability,
  expectedCompletion,
  finishProbability,
  reactionProbabilities,
  resolveBehaviorParams,
  sampledCompletion,
} from '../../sim/behavior/index.ts';
import { SimError } from '../../sim/sim-error.ts';
import { affinity, generateWorld } from '../../sim/world/index.ts';

const world = generateWorld({ seed: 11, users: 200, videos: 500 });
const USER = 3;

/** Videos of the world sorted by the user's ground-truth affinity, best first. */
const byAffinity = Array.from({ length: world.config.videos }, (_, v) => v).sort(
  (a, b) => affinity(world, USER, b) - affinity(world, USER, a),
);

/** Clicks per video over `trials` presentations of `list`. */
function clickCounts(list: number[], trials: number, seed: number): Map<number, number> {
  const model = createBehaviorModel(world, seededRandom(seed));
  const counts = new Map<number, number>();
  for (let t = 0; t < trials; t++) {
    const r = model.respond(USER, list);
    if (r.clickedVideo >= 0) counts.set(r.clickedVideo, (counts.get(r.clickedVideo) ?? 0) + 1);
  }
  return counts;
}

describe('position bias', () => {
  it('examination probability is 1 at the top and decays with rank', () => {
    expect(examinationProbability(0)).toBe(1);
    for (let r = 1; r < 20; r++)
      expect(examinationProbability(r)).toBeLessThan(examinationProbability(r - 1));
    expect(examinationProbability(9)).toBeCloseTo(1 / Math.log2(11), 12);
  });

  it('the same item is clicked more at rank 0 than at rank 9', () => {
    const target = byAffinity[40];
    const others = byAffinity.slice(100, 109);
    const top = clickCounts([target, ...others], 6000, 1).get(target) ?? 0;
    const bottom = clickCounts([...others, target], 6000, 1).get(target) ?? 0;
    expect(top).toBeGreaterThan(100);
    expect(top).toBeGreaterThan(1.8 * bottom); // examination alone gives 1 / 0.29 ≈ 3.5×
  });
});

describe('choice model', () => {
  it('clicks high-affinity items far more than low-affinity ones at the same positions', () => {
    const high = byAffinity.slice(0, 5);
    const low = byAffinity.slice(-5);
    // Interleave both ways so each group holds each position equally often.
    const a = high.flatMap((h, i) => [h, low[i]]);
    const b = low.flatMap((l, i) => [l, high[i]]);
    const counts = [clickCounts(a, 3000, 2), clickCounts(b, 3000, 3)];
    const sum = (vs: number[]) => vs.reduce((s, v) => s + counts.reduce((t, c) => t + (c.get(v) ?? 0), 0), 0);
    expect(sum(high)).toBeGreaterThan(10 * Math.max(1, sum(low)));
  });

  it('matches the multinomial-logit probabilities (RecSim) including the no-click option', () => {
    const utilities = [0.5, 0];
    const examined = [1, 1];
    const beta = 2;
    const noClick = 0.2;
    const z = Math.exp(beta * noClick) + Math.exp(beta * 0.5) + Math.exp(beta * 0);
    const rng = seededRandom(5).stream('test.mnl');
    const counts = [0, 0, 0]; // no click, item 0, item 1
    const n = 40_000;
    for (let i = 0; i < n; i++)
      counts[chooseMultinomialLogit(utilities, examined, beta, noClick, rng.next()) + 1]++;
    expect(counts[0] / n).toBeCloseTo(Math.exp(beta * noClick) / z, 1);
    expect(counts[1] / n).toBeCloseTo(Math.exp(beta * 0.5) / z, 1);
    expect(counts[2] / n).toBeCloseTo(1 / z, 1);
  });

  it('never picks an unexamined item and returns −1 when nothing was examined', () => {
    expect(chooseMultinomialLogit([5, 5], [0, 0], 5, -10, 0.99)).toBe(-1);
    for (let u = 0.005; u < 1; u += 0.01)
      expect(chooseMultinomialLogit([9, 0, 9], [0, 1, 0], 1, -50, u)).toBe(1);
  });
});

describe('watch time', () => {
  const p = DEFAULT_BEHAVIOR_PARAMS;
  /** Seconds watched for one view, as the model computes it. */
  const watched = (a: number, q: number, durS: number, z: number, bounced = false) =>
    durS * sampledCompletion(p, completionLogitMean(p, a, q, durS), z, bounced);

  it('stays within [0, duration] and grows with affinity and quality; a bounce cuts it short', () => {
    for (const z of [-3, 0, 3]) {
      const w = watched(0.5, 0.5, 300, z);
      expect(w).toBeGreaterThanOrEqual(0);
      expect(w).toBeLessThanOrEqual(300);
    }
    expect(watched(1, 0.5, 300, 0)).toBeGreaterThan(watched(0, 0.5, 300, 0));
    expect(watched(0.5, 0.9, 300, 0)).toBeGreaterThan(watched(0.5, 0.1, 300, 0));
    expect(watched(0.5, 0.5, 300, 0, true)).toBeCloseTo(
      p.bounceCompletionFactor * watched(0.5, 0.5, 300, 0),
      12,
    );
    expect(bounceProbability(p, 0)).toBe(0);
    expect(bounceProbability(p, 0.5)).toBeCloseTo(0.45, 12);
    expect(bounceWatchFactor(p, 1)).toBeCloseTo(1 - 0.9 * 0.9, 12);
  });

  it('default parameters make clickbait lose watch time at any affinity: β·cClick ≤ w·(1 − κ)', () => {
    // Click odds grow by at most e^{β·c·cb}; the expected watch per click shrinks by exactly
    // 1 − w(1 − κ)·cb. The product is below 1 on (0, 1] when the slope condition holds (concavity).
    expect(p.choiceBeta * p.choiceClickbaitWeight).toBeLessThanOrEqual(
      p.bounceClickbaitWeight * (1 - p.bounceCompletionFactor),
    );
    for (let cb = 0.05; cb <= 1; cb += 0.05) {
      expect(Math.exp(p.choiceBeta * p.choiceClickbaitWeight * cb) * bounceWatchFactor(p, cb)).toBeLessThan(
        1,
      );
    }
  });

  it('expectedCompletion is the mean of the sampled completion (logit-normal)', () => {
    const rng = seededRandom(21).stream('test.completion');
    for (const m of [-4, -1, 0, 0.7, 3]) {
      let sum = 0;
      const n = 40_000;
      for (let i = 0; i < n; i++) sum += sampledCompletion(p, m, rng.normal());
      expect(expectedCompletion(m, p.watchNoiseSigma)).toBeCloseTo(sum / n, 2);
    }
    expect(expectedCompletion(0, 0)).toBe(0.5);
  });
});

describe('click probabilities (analytic choice step)', () => {
  /** P(click i) by enumerating all 2ⁿ examination outcomes: the definition. */
  function enumerate(u: number[], e: number[], beta: number, a0: number): number[] {
    const x = u.map((v) => Math.exp(beta * (v - a0)));
    const out = u.map(() => 0);
    for (let mask = 0; mask < 1 << u.length; mask++) {
      let pr = 1;
      let denominator = 1;
      for (let j = 0; j < u.length; j++) {
        const on = (mask >> j) & 1;
        pr *= on ? e[j] : 1 - e[j];
        if (on) denominator += x[j];
      }
      for (let j = 0; j < u.length; j++) if ((mask >> j) & 1) out[j] += (pr * x[j]) / denominator;
    }
    return out;
  }

  it('equals subset enumeration within 1e-6 (position bias, no-click option)', () => {
    const rng = seededRandom(8).stream('test.enumerate');
    let worst = 0;
    for (let trial = 0; trial < 300; trial++) {
      const n = 1 + rng.int(12);
      const beta = [1, 5, 12][rng.int(3)];
      const u = Array.from({ length: n }, () => -1.5 + 3 * rng.next());
      const e = u.map((_, i) => (rng.next() < 0.1 ? 1 : examinationProbability(i) * rng.next()));
      const a0 = -0.5 + rng.next();
      const ref = enumerate(u, e, beta, a0);
      const got = clickProbabilities(u, e, beta, a0, new Float64Array(n));
      for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(got[i] - ref[i]));
    }
    expect(worst).toBeLessThan(1e-6);
  });

  it('uses the closed form when there is no position bias', () => {
    const got = clickProbabilities([0.5, 0], [1, 1], 2, 0.2, new Float64Array(2));
    const z = Math.exp(2 * 0.2) + Math.exp(2 * 0.5) + 1;
    expect(got[0]).toBeCloseTo(Math.exp(1) / z, 12);
    expect(got[1]).toBeCloseTo(1 / z, 12);
  });
});

describe('like, dislike and finish', () => {
  const p = DEFAULT_BEHAVIOR_PARAMS;

  it('like and dislike are exclusive probabilities that move with affinity, quality and clickbait', () => {
    for (const [a, q, cb] of [
      [1, 0.9, 0],
      [-1, 0.1, 1],
      [0, 0.5, 0.5],
    ]) {
      const r = reactionProbabilities(p, a, q, cb);
      expect(r.like).toBeGreaterThan(0);
      expect(r.dislike).toBeGreaterThan(0);
      expect(r.like + r.dislike).toBeLessThan(1);
    }
    expect(reactionProbabilities(p, 1, 0.5, 0).like).toBeGreaterThan(
      3 * reactionProbabilities(p, 0, 0.5, 0).like,
    );
    expect(reactionProbabilities(p, 0.5, 0.9, 0).like).toBeGreaterThan(
      reactionProbabilities(p, 0.5, 0.1, 0).like,
    );
    expect(reactionProbabilities(p, 0.5, 0.5, 1).dislike).toBeGreaterThan(
      5 * reactionProbabilities(p, 0.5, 0.5, 0).dislike,
    );
    expect(reactionProbabilities(p, 0.5, 0.5, 1).like).toBeLessThan(
      reactionProbabilities(p, 0.5, 0.5, 0).like,
    );
  });

  it('sampled responses: finish ⇔ watched ≥ 95 % of the duration; never like and dislike together', () => {
    const m = createBehaviorModel(world, seededRandom(31));
    const list = byAffinity.slice(0, 10);
    let clicks = 0;
    let likes = 0;
    let finishes = 0;
    for (let t = 0; t < 4000; t++) {
      const r = m.respond(USER, list);
      expect(r.liked && r.disliked).toBe(false);
      if (r.clickedVideo < 0) {
        expect(r.liked || r.disliked || r.finished).toBe(false);
        continue;
      }
      clicks++;
      likes += r.liked ? 1 : 0;
      finishes += r.finished ? 1 : 0;
      expect(r.finished).toBe(r.watchTimeS >= 0.95 * world.videoDurationS[r.clickedVideo]);
    }
    expect(likes / clicks).toBeGreaterThan(0.02);
    expect(finishes / clicks).toBeGreaterThan(0.02);
    expect(finishes / clicks).toBeLessThan(0.9);
  });

  it('finish probability is Φ((m − logit(0.95)) / σ), and 0 when finishCompletion is 1', () => {
    const rng = seededRandom(32).stream('test.finish');
    for (const mean of [0, 2, 3.5]) {
      let hits = 0;
      const n = 40_000;
      for (let i = 0; i < n; i++) if (sampledCompletion(p, mean, rng.normal()) >= 0.95) hits++;
      expect(finishProbability(p, mean)).toBeCloseTo(hits / n, 2);
    }
    expect(finishProbability(resolveBehaviorParams({ finishCompletion: 1 }), 50)).toBe(0);
  });
});

describe('expected response (analytic) against sampled responses', () => {
  it('matches the Monte Carlo mean of respond() for clicks, watch time, likes, dislikes, finishes', () => {
    const list = [...byAffinity.slice(0, 4), ...byAffinity.slice(200, 203), ...byAffinity.slice(-3)];
    const m = createBehaviorModel(world, seededRandom(41));
    const exp = m.expected(USER, list);
    const n = 60_000;
    const sum = { clicks: 0, watchS: 0, likes: 0, dislikes: 0, finishes: 0 };
    const byPosition = new Float64Array(list.length);
    for (let t = 0; t < n; t++) {
      const r = m.respond(USER, list);
      if (r.clickedPosition < 0) continue;
      byPosition[r.clickedPosition]++;
      sum.clicks++;
      sum.watchS += r.watchTimeS;
      sum.likes += r.liked ? 1 : 0;
      sum.dislikes += r.disliked ? 1 : 0;
      sum.finishes += r.finished ? 1 : 0;
    }
    expect(sum.clicks / n).toBeCloseTo(exp.expectedClicks, 2);
    for (let i = 0; i < list.length; i++) expect(byPosition[i] / n).toBeCloseTo(exp.clickProbability[i], 2);
    expect(sum.watchS / n / exp.expectedWatchTimeS).toBeGreaterThan(0.97);
    expect(sum.watchS / n / exp.expectedWatchTimeS).toBeLessThan(1.03);
    expect(sum.likes / n).toBeCloseTo(exp.expectedLikes, 2);
    expect(sum.dislikes / n).toBeCloseTo(exp.expectedDislikes, 2);
    expect(sum.finishes / n).toBeCloseTo(exp.expectedFinishes, 2);
  });
});

describe('parameters', () => {
  it('rejects unknown keys and out-of-range values with one coded error listing all of them', () => {
    expect(() => resolveBehaviorParams({ beta: 5 } as never)).toThrowError(/unknown parameter beta/);
    expect(() => resolveBehaviorParams({ choiceBeta: 0, finishCompletion: 1.5 })).toThrowError(
      /RECLAB_ERR_BEHAVIOR_INPUT_INVALID.*choiceBeta=0.*finishCompletion=1.5/,
    );
    expect(() => resolveBehaviorParams({ driftStep: Number.NaN })).toThrowError(SimError);
    expect(resolveBehaviorParams()).toBe(DEFAULT_BEHAVIOR_PARAMS);
    expect(JSON.parse(JSON.stringify(DEFAULT_BEHAVIOR_PARAMS))).toEqual(DEFAULT_BEHAVIOR_PARAMS);
  });

  it('examinationExponent 0 removes position bias; 2 makes it steeper', () => {
    expect(examinationProbability(9, 0)).toBe(1);
    expect(examinationProbability(9, 2)).toBeCloseTo(examinationProbability(9) ** 2, 12);
  });
});

describe('behavior model', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const list = byAffinity.slice(0, 10);
    const run = (seed: number) => {
      const m = createBehaviorModel(world, seededRandom(seed));
      return Array.from({ length: 200 }, () => {
        const r = m.respond(USER, list);
        return `${r.clickedPosition}:${r.watchTimeS.toFixed(3)}:${+r.liked}${+r.disliked}${+r.finished}`;
      }).join(',');
    };
    expect(run(9)).toBe(run(9));
    expect(run(9)).not.toBe(run(10));
  });

  it('reports watch time only for a click, bounded by the duration', () => {
    const m = createBehaviorModel(world, seededRandom(4));
    for (let t = 0; t < 500; t++) {
      const r = m.respond(USER, byAffinity.slice(0, 10));
      if (r.clickedVideo < 0) expect(r.watchTimeS).toBe(0);
      else expect(r.watchTimeS).toBeLessThanOrEqual(world.videoDurationS[r.clickedVideo]);
    }
  });

  it('rejects unknown users and videos with a coded error', () => {
    const m = createBehaviorModel(world, seededRandom(1));
    expect(() => m.respond(USER, [0, world.config.videos])).toThrowError(SimError);
    expect(() => m.respond(-1, [0])).toThrowError(/RECLAB_ERR_BEHAVIOR_INPUT_INVALID/);
  });
});

describe('clickUtility', () => {
  it('is itemTruth’s clickUtility bit for bit, with and without a drifted preference', async () => {
    const { clickUtility, itemTruth } = await import('../../sim/behavior/item-truth.ts');
    const { videoClickbait } = await import('../../sim/behavior/clickbait.ts');
    const p = resolveBehaviorParams({});
    const clickbait = videoClickbait(world);
    const delta = Float64Array.from({ length: world.config.latentDim }, (_, k) => Math.sin(k + 1) * 0.05);
    for (let u = 0; u < 20; u++)
      for (let v = 0; v < world.config.videos; v += 7)
        for (const d of [undefined, delta])
          expect(clickUtility(world, p, u, v, clickbait, d)).toBe(
            itemTruth(world, p, u, v, clickbait, d).clickUtility,
          );
  });
});
