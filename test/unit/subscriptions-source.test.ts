/**
 * Unit: subscription retrieval's merge (newest first across creators, de-duplicated, at most k) and
 * the bounds the source puts on its reads (N creators, M per creator, the recency window by Clock).
 */
import { describe, expect, it } from 'vitest';
import type { RetrievalContext } from '../../core/ports/candidate-source.ts';
import type { Clock } from '../../core/ports/clock.ts';
import {
  mergeNewestFirst,
  type RecentUpload,
  type SubscriptionReader,
  SubscriptionsSource,
  UPLOAD_FUTURE_SLACK_S,
} from '../../core/retrieval/subscriptions-source.ts';

const up = (video: number, uploadTsS: number): RecentUpload => ({ video, uploadTsS });
const ctx: RetrievalContext = {
  userId: 'u_1',
  user: new Float32Array(0),
  userEmbedding: undefined,
  regionIdx: 0,
};
const NOW_S = 1_800_000_000;
const clock: Clock = { now: () => NOW_S * 1000, setTimer: () => () => {} };

describe('mergeNewestFirst', () => {
  it('interleaves creators by upload time, newest first', () => {
    const got = mergeNewestFirst(
      [[up(1, 900), up(2, 500), up(3, 100)], [up(10, 800), up(11, 700)], [up(20, 950)]],
      10,
    );
    expect(got.map((u) => u.video)).toEqual([20, 1, 10, 11, 2, 3]);
  });

  it('cuts at k, removes duplicates (keeping the newest time) and breaks ties by video index', () => {
    const got = mergeNewestFirst([[up(5, 100), up(3, 50)], [up(4, 100), up(3, 60)], [up(2, 100)]], 3);
    expect(got).toEqual([up(2, 100), up(4, 100), up(5, 100)]);
    expect(mergeNewestFirst([[up(3, 50)], [up(3, 60)]], 10)).toEqual([up(3, 60)]);
  });

  it('handles no lists, empty lists and k ≤ 0', () => {
    expect(mergeNewestFirst([], 5)).toEqual([]);
    expect(mergeNewestFirst([[], []], 5)).toEqual([]);
    expect(mergeNewestFirst([[up(1, 1)]], 0)).toEqual([]);
  });
});

/** A reader over fixed data that records the arguments of each call. */
function reader(follows: string[], uploads: Record<string, RecentUpload[]>) {
  const calls: { creatorsMax: number; perCreator: number; minTsS: number; maxTsS: number }[] = [];
  const r: SubscriptionReader = {
    followedUploads: async (_user, creatorsMax, perCreator, minTsS, maxTsS) => {
      calls.push({ creatorsMax, perCreator, minTsS, maxTsS });
      return follows
        .slice(0, creatorsMax)
        .map((c) =>
          (uploads[c] ?? [])
            .filter((u) => u.uploadTsS >= minTsS && u.uploadTsS <= maxTsS)
            .slice(0, perCreator),
        );
    },
  };
  return { r, calls };
}

describe('SubscriptionsSource', () => {
  it('returns the followed creators’ recent uploads newest first, scored by upload time', async () => {
    const { r } = reader(['c_1', 'c_2'], {
      c_1: [up(1, NOW_S - 10), up(2, NOW_S - 1000)],
      c_2: [up(7, NOW_S - 500)],
    });
    const got = await new SubscriptionsSource(r, clock).retrieve(ctx, 10);
    expect(got).toEqual([
      { video: 1, score: NOW_S - 10, source: 'subscriptions' },
      { video: 7, score: NOW_S - 500, source: 'subscriptions' },
      { video: 2, score: NOW_S - 1000, source: 'subscriptions' },
    ]);
  });

  it('reads once: at most N creators and M per creator (M ≤ k), within [now − maxAge, now + slack]', async () => {
    const follows = Array.from({ length: 80 }, (_, i) => `c_${i}`);
    const { r, calls } = reader(follows, {});
    await new SubscriptionsSource(r, clock).retrieve(ctx, 100);
    expect(calls).toEqual([
      { creatorsMax: 50, perCreator: 10, minTsS: NOW_S - 30 * 86_400, maxTsS: NOW_S + UPLOAD_FUTURE_SLACK_S },
    ]);
    await new SubscriptionsSource(r, clock, { creatorsMax: 3, perCreatorMax: 4, maxAgeS: 60 }).retrieve(
      ctx,
      2,
    );
    expect(calls).toHaveLength(2);
    expect(calls[1]).toMatchObject({ creatorsMax: 3, perCreator: 2, minTsS: NOW_S - 60 });
  });

  it('leaves out uploads older than maxAgeS and returns [] for a user who follows nobody', async () => {
    const { r } = reader(['c_1'], { c_1: [up(1, NOW_S - 100), up(2, NOW_S - 10_000)] });
    const got = await new SubscriptionsSource(r, clock, { maxAgeS: 3600 }).retrieve(ctx, 10);
    expect(got.map((c) => c.video)).toEqual([1]);
    const none = reader([], {});
    expect(await new SubscriptionsSource(none.r, clock).retrieve(ctx, 10)).toEqual([]);
    // k ≤ 0 asks nothing of the store.
    const zero = reader(['c_1'], { c_1: [up(1, NOW_S - 100)] });
    expect(await new SubscriptionsSource(zero.r, clock).retrieve(ctx, 0)).toEqual([]);
    expect(zero.calls).toEqual([]);
  });
});
