import { describe, expect, it } from 'vitest';
import { rungOrderViolations } from '../../sim/models/offline-lists.ts';

/** A card's metrics with the full ranker ahead of the light ranker on everything. */
const card = (over: Record<string, unknown> = {}, lists: Record<string, unknown> = {}) => ({
  clickAuc: 0.745,
  lightClickAuc: 0.737,
  watchTimeRmseS: 158,
  lightWatchTimeRmseS: 162,
  offlineLists: {
    full: { expectedWatchTimeS: 900, ndcgAt10: 0.4 },
    light_ranker: { expectedWatchTimeS: 880, ndcgAt10: 0.39 },
    ...lists,
  },
  ...over,
});

describe('rungOrderViolations (the fallback must not beat the main ranker on the card)', () => {
  it('is empty when the full ranker is ahead on every metric', () => {
    expect(rungOrderViolations(card())).toEqual([]);
  });

  it('names each metric on which the light ranker wins', () => {
    expect(rungOrderViolations(card({ lightClickAuc: 0.75 }))).toEqual([
      'click AUC: light ranker 0.75 beats full 0.745',
    ]);
    expect(rungOrderViolations(card({ lightWatchTimeRmseS: 150 }))).toEqual([
      'watch-time RMSE (s): light ranker 150 beats full 158',
    ]);
    const lists = card({}, { light_ranker: { expectedWatchTimeS: 950, ndcgAt10: 0.41 } });
    expect(rungOrderViolations(lists)).toEqual([
      'offline expected watch time per list (s): light ranker 950 beats full 900',
      'offline NDCG@10: light ranker 0.41 beats full 0.4',
    ]);
  });

  it('allows a relative tolerance, and reports missing figures', () => {
    const close = card({}, { light_ranker: { expectedWatchTimeS: 940, ndcgAt10: 0.39 } });
    expect(rungOrderViolations(close, 0.05)).toEqual([]);
    expect(rungOrderViolations(close, 0.01)).toHaveLength(1);
    expect(rungOrderViolations({ clickAuc: 0.7 })).toHaveLength(4);
  });
});
