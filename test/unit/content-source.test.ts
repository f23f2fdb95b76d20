/**
 * Unit: the content-based source's profile (mean-pool + L2-normalise of recent watches' content
 * embeddings) and its retrieval over a real FAISS Flat index: watched videos left out, at most k,
 * [] without a watch history.
 */
import { describe, expect, it } from 'vitest';
import { AnnIndex } from '../../core/adapters/faiss/faiss-index.ts';
import type { RetrievalContext } from '../../core/ports/candidate-source.ts';
import {
  type ContentEmbeddings,
  ContentSource,
  contentProfile,
} from '../../core/retrieval/content-source.ts';

const DIM = 4;
/** Rows: 0,1 ≈ axis x; 2,3 ≈ axis y; 4 = z; 5 = between x and y. Normalised. */
function embeddings(): ContentEmbeddings {
  const raw = [
    [1, 0, 0, 0],
    [0.9, 0.1, 0, 0],
    [0, 1, 0, 0],
    [0.1, 0.9, 0, 0],
    [0, 0, 1, 0],
    [0.7, 0.7, 0, 0],
  ];
  const vectors = new Float32Array(raw.length * DIM);
  raw.forEach((r, i) => {
    const n = Math.hypot(...r);
    r.forEach((x, d) => {
      vectors[i * DIM + d] = x / n;
    });
  });
  return { vectors, dim: DIM, count: raw.length };
}

const ctx = (userId = 'u_1'): RetrievalContext => ({
  userId,
  user: new Float32Array(0),
  userEmbedding: undefined,
  regionIdx: 0,
});

/** Recent watches from a fixed map; records the n asked. */
function watches(lists: Record<string, number[]>) {
  const asked: number[] = [];
  return {
    asked,
    recentWatches: async (userId: string, n: number) => {
      asked.push(n);
      return (lists[userId] ?? []).slice(0, n);
    },
  };
}

describe('contentProfile', () => {
  it('is the L2-normalised mean of the watched rows', () => {
    const emb = embeddings();
    const p = contentProfile(emb, [0, 2])!;
    expect(p[0]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(p[1]).toBeCloseTo(Math.SQRT1_2, 6);
    expect([p[2], p[3]]).toEqual([0, 0]);
    expect(Math.hypot(...p)).toBeCloseTo(1, 6);
  });

  it('counts a repeated video twice and skips videos outside the catalogue', () => {
    const emb = embeddings();
    const p = contentProfile(emb, [0, 0, 4, 99, -1, 2.5])!;
    // mean of x, x, z → (2, 0, 1)/√5
    expect(p[0]).toBeCloseTo(2 / Math.sqrt(5), 6);
    expect(p[2]).toBeCloseTo(1 / Math.sqrt(5), 6);
    expect(p[1]).toBe(0);
  });

  it('is undefined when no video is known or the mean is zero', () => {
    const emb = embeddings();
    expect(contentProfile(emb, [])).toBeUndefined();
    expect(contentProfile(emb, [6, 100])).toBeUndefined();
    const opposite: ContentEmbeddings = { vectors: Float32Array.from([1, 0, -1, 0]), dim: 2, count: 2 };
    expect(contentProfile(opposite, [0, 1])).toBeUndefined();
  });
});

describe('ContentSource', () => {
  const emb = embeddings();
  const index = AnnIndex.build(emb.vectors, DIM, { factory: 'Flat', metric: 'ip' });

  it('returns the nearest videos by cosine, best first, without the watched ones', async () => {
    const w = watches({ u_1: [0] });
    const source = new ContentSource(index, emb, w);
    const got = await source.retrieve(ctx(), 3);
    expect(source.name).toBe('content');
    expect(got.map((c) => c.video)).toEqual([1, 5, 3]);
    expect(got.every((c) => c.source === 'content')).toBe(true);
    expect(got[0].score).toBeCloseTo(0.9 / Math.hypot(0.9, 0.1), 5);
    for (let i = 1; i < got.length; i++) expect(got[i].score).toBeLessThanOrEqual(got[i - 1].score);
  });

  it('leaves out every watched video even when they are the nearest, and still fills k', async () => {
    const source = new ContentSource(index, emb, watches({ u_1: [0, 1, 5] }));
    const got = await source.retrieve(ctx(), 2);
    expect(got.map((c) => c.video)).toEqual([3, 2]);
  });

  it('asks for profileN recent watches (default 50)', async () => {
    const w = watches({ u_1: [0] });
    await new ContentSource(index, emb, w).retrieve(ctx(), 1);
    await new ContentSource(index, emb, w, { profileN: 5 }).retrieve(ctx(), 1);
    expect(w.asked).toEqual([50, 5]);
  });

  it('returns [] for a user without recent watches, or whose watches are all unknown videos', async () => {
    const source = new ContentSource(index, emb, watches({ u_2: [1000, 1001] }));
    expect(await source.retrieve(ctx('u_1'), 10)).toEqual([]);
    expect(await source.retrieve(ctx('u_2'), 10)).toEqual([]);
  });

  it('returns at most the catalogue minus the watched videos', async () => {
    const source = new ContentSource(index, emb, watches({ u_1: [4] }));
    const got = await source.retrieve(ctx(), 100);
    expect(got.map((c) => c.video).sort()).toEqual([0, 1, 2, 3, 5]);
  });

  it('propagates a reader failure', async () => {
    const failing = {
      recentWatches: async () => {
        throw new Error('redis down');
      },
    };
    await expect(new ContentSource(index, emb, failing).retrieve(ctx(), 3)).rejects.toThrow('redis down');
  });
});
