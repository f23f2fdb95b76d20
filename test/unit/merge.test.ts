import { describe, expect, it } from 'vitest';
import { type Candidate, mergeCandidates } from '../../core/pipeline/merge.ts';

const list = (source: string, videos: number[]): Candidate[] =>
  videos.map((video, i) => ({ video, score: 100 - i, source }));

describe('mergeCandidates', () => {
  it('removes duplicates, keeping the first source that found the video', () => {
    const out = mergeCandidates([list('two_tower', [1, 2, 3]), list('popularity', [3, 4, 1])], 10);
    expect(out.map((c) => c.video)).toEqual([1, 4, 2, 3]);
    expect(out.find((c) => c.video === 3)?.source).toBe('two_tower');
    expect(new Set(out.map((c) => c.video)).size).toBe(out.length);
  });

  it('interleaves sources when the limit cuts, so no source starves the others', () => {
    const out = mergeCandidates([list('a', [1, 2, 3, 4]), list('b', [5, 6, 7, 8])], 4);
    expect(out.map((c) => c.source)).toEqual(['a', 'b', 'a', 'b']);
  });

  it('keeps each source order and the source score', () => {
    const out = mergeCandidates([list('a', [9, 8, 7])], 300);
    expect(out.map((c) => c.score)).toEqual([100, 99, 98]);
  });

  it('handles empty and missing sources', () => {
    expect(mergeCandidates([], 5)).toEqual([]);
    expect(mergeCandidates([[], list('b', [1])], 5).map((c) => c.video)).toEqual([1]);
  });
});
