import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../core/random/seeded-random.ts';
import { PrefetchedDraws } from '../../loadtest/prefetched-draws.ts';

describe('PrefetchedDraws', () => {
  it('hands out the same sequence as drawing one value at a time, whatever is prefetched', () => {
    const direct = seededRandom(7).stream('loadtest.requests');
    const expected = Array.from({ length: 1000 }, () => direct.int(20_000));
    const stream = seededRandom(7).stream('loadtest.requests');
    const draws = new PrefetchedDraws(() => stream.int(20_000));
    const got: number[] = [];
    // Phases that use fewer, exactly as many and more values than were prefetched.
    for (const [ahead, used] of [
      [100, 60],
      [100, 100],
      [50, 120],
      [0, 30],
      [200, 190],
    ]) {
      const upcoming = draws.prefetch(ahead);
      expect(upcoming.length).toBeGreaterThanOrEqual(ahead);
      expect(upcoming).toEqual(expected.slice(got.length, got.length + upcoming.length));
      for (let k = 0; k < used; k++) got.push(draws.next());
    }
    expect(got).toEqual(expected.slice(0, got.length));
    expect(draws.pending).toBe(10);
  });
});
