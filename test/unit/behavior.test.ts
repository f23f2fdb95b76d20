import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../core/random/seeded-random.ts';
import {
  chooseMultinomialLogit,
  createBehaviorModel,
  examinationProbability,
  watchTimeS,
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
  it('stays within [0, duration] and grows with affinity and quality', () => {
    for (const z of [-3, 0, 3]) {
      const w = watchTimeS(0.5, 0.5, 300, z);
      expect(w).toBeGreaterThanOrEqual(0);
      expect(w).toBeLessThanOrEqual(300);
    }
    expect(watchTimeS(1, 0.5, 300, 0)).toBeGreaterThan(watchTimeS(0, 0.5, 300, 0));
    expect(watchTimeS(0.5, 0.9, 300, 0)).toBeGreaterThan(watchTimeS(0.5, 0.1, 300, 0));
  });
});

describe('behavior model', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const list = byAffinity.slice(0, 10);
    const run = (seed: number) => {
      const m = createBehaviorModel(world, seededRandom(seed));
      return Array.from({ length: 200 }, () => {
        const r = m.respond(USER, list);
        return `${r.clickedPosition}:${r.watchTimeS.toFixed(3)}`;
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
