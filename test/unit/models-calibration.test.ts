/**
 * Unit: Platt scaling (Platt 1999), expected calibration error (Guo et al. 2017), NDCG@10 and the
 * content embeddings used by the artifact build.
 */
import { describe, expect, it } from 'vitest';
import { VIDEO_RECORD, VIDEO_RECORD_LEN } from '../../core/features/schema.ts';
import { seededRandom } from '../../core/random/seeded-random.ts';
import { expectedCalibrationError, fitPlatt, sigmoid } from '../../sim/models/calibration.ts';
import { CONTENT_DIM, contentEmbeddings } from '../../sim/models/content-embeddings.ts';
import { ndcgAt } from '../../sim/models/evaluate.ts';
import type { RankerData } from '../../sim/models/ranker.ts';

describe('fitPlatt', () => {
  it('recovers the map of labels drawn from σ(a·z + b)', () => {
    const rng = seededRandom(1).stream('test.platt');
    const n = 40_000;
    const z = Float64Array.from({ length: n }, () => rng.normal() * 2);
    const y = Uint8Array.from(z, (v) => (rng.next() < sigmoid(0.5 * v - 1) ? 1 : 0));
    const p = fitPlatt(z, y);
    expect(p.a).toBeCloseTo(0.5, 1);
    expect(p.b).toBeCloseTo(-1, 1);
  });

  it('lowers the ECE of over-confident logits', () => {
    const rng = seededRandom(2).stream('test.platt');
    const n = 20_000;
    const z = Float64Array.from({ length: n }, () => rng.normal() * 3);
    // True probability σ(z/3): logits 3× too confident.
    const y = Uint8Array.from(z, (v) => (rng.next() < sigmoid(v / 3) ? 1 : 0));
    const before = expectedCalibrationError(Float64Array.from(z, sigmoid), y);
    const p = fitPlatt(z, y);
    const after = expectedCalibrationError(
      Float64Array.from(z, (v) => sigmoid(p.a * v + p.b)),
      y,
    );
    expect(before).toBeGreaterThan(0.05);
    expect(after).toBeLessThan(0.02);
  });

  it('is the identity when a class is missing, and honours the mask', () => {
    expect(fitPlatt([1, 2, 3], [1, 1, 1])).toEqual({ a: 1, b: 0 });
    expect(fitPlatt([1, 2, 3, 4], [0, 1, 0, 1], [0, 1, 0, 1])).toEqual({ a: 1, b: 0 });
  });
});

describe('expectedCalibrationError', () => {
  it('is 0 for perfect bins and |p − rate| for a single bin', () => {
    expect(expectedCalibrationError([0.5, 0.5], [1, 0])).toBeCloseTo(0, 12);
    expect(expectedCalibrationError([0.9, 0.9, 0.9, 0.9], [1, 0, 0, 0])).toBeCloseTo(0.65, 12);
    expect(Number.isNaN(expectedCalibrationError([], []))).toBe(true);
  });
});

describe('ndcgAt', () => {
  const data = (clicked: number[], liked: number[] = []): RankerData => {
    const rows = clicked.length;
    return {
      rows,
      x: new Float32Array(0),
      clicked: Uint8Array.from(clicked),
      watchTimeS: new Float32Array(rows),
      position: Uint8Array.from({ length: rows }, (_, i) => i),
      liked: Uint8Array.from({ length: rows }, (_, i) => liked[i] ?? 0),
      finished: new Uint8Array(rows),
      disliked: new Uint8Array(rows),
    };
  };

  it('is 1 when the clicked item is ranked first and 1/log2(k+1) when last', () => {
    const d = data([0, 0, 1]);
    expect(ndcgAt(d, 3, [0, 0, 1])).toBeCloseTo(1, 12);
    expect(ndcgAt(d, 3, [3, 2, 1])).toBeCloseTo(1 / Math.log2(4), 12);
  });

  it('skips sessions without gain', () => {
    expect(ndcgAt(data([0, 0, 0, 1, 0, 0]), 3, [1, 2, 3, 3, 2, 1])).toBeCloseTo(1, 12);
    expect(Number.isNaN(ndcgAt(data([0, 0, 0]), 3, [1, 2, 3]))).toBe(true);
  });
});

describe('contentEmbeddings', () => {
  it('gives unit rows; same creator and category ⇒ more similar than a different creator', () => {
    const rec = new Float32Array(3 * VIDEO_RECORD_LEN);
    const set = (v: number, creator: number, category: number, durationS: number) => {
      rec[v * VIDEO_RECORD_LEN + VIDEO_RECORD.creator] = creator;
      rec[v * VIDEO_RECORD_LEN + VIDEO_RECORD.category] = category;
      rec[v * VIDEO_RECORD_LEN + VIDEO_RECORD.durationS] = durationS;
    };
    set(0, 7, 3, 300);
    set(1, 7, 3, 400);
    set(2, 8, 3, 300);
    const e = contentEmbeddings(rec);
    expect(e.length).toBe(3 * CONTENT_DIM);
    const dot = (a: number, b: number) => {
      let s = 0;
      for (let d = 0; d < CONTENT_DIM; d++) s += e[a * CONTENT_DIM + d] * e[b * CONTENT_DIM + d];
      return s;
    };
    for (let v = 0; v < 3; v++) expect(dot(v, v)).toBeCloseTo(1, 5);
    expect(dot(0, 1)).toBeCloseTo(1, 5);
    expect(dot(0, 2)).toBeLessThan(dot(0, 1) - 0.1);
  });
});
