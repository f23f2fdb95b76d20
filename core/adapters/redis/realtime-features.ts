import type { Redis } from 'ioredis';
import { parseVideoIndex, videoIdOf } from '../../features/ids.ts';
import type { Clock } from '../../ports/clock.ts';
import { epochHour, slidingCounts, type ViewCounts } from '../../streaming/windows.ts';
import { keys } from './keys.ts';
import { readRankedVideos } from './ranked-videos.ts';

/**
 * Reads the streaming (real-time / near-real-time, seed 000 §2.3) features that
 * core/streaming/event-consumer.ts keeps in Redis. Read-only; one round trip per call (pipelined
 * where several keys are read). Errors are the driver's (ioredis) — the caller's breaker and
 * fallback decide (e.g. RECLAB_ERR_FEATURES_UNAVAILABLE / RECLAB_ERR_POPULARITY_UNAVAILABLE).
 * Key layout: core/adapters/redis/keys.ts; semantics: docs/streaming.md.
 */
export class RealtimeFeatures {
  readonly #redis: Redis;
  readonly #clock: Clock;

  constructor(redis: Redis, clock: Clock) {
    this.#redis = redis;
    this.#clock = clock;
  }

  /**
   * The user's most recently watched videos, newest first, as catalogue indices, without
   * duplicates (a rewatch, or an at-least-once redelivery, appears once), at most `n`.
   * `LRANGE rt:rw:<user> 0 49`: O(list length ≤ N = 50). Unknown user → [].
   */
  async recentWatches(userId: string, n: number): Promise<number[]> {
    if (n <= 0) return [];
    const ids = await this.#redis.lrange(keys.recentWatches(userId), 0, -1);
    const out: number[] = [];
    const seen = new Set<number>();
    for (const id of ids) {
      const v = parseVideoIndex(id);
      if (v < 0 || seen.has(v)) continue;
      seen.add(v);
      out.push(v);
      if (out.length >= n) break;
    }
    return out;
  }

  /**
   * Top `n` trending videos, best first, from the merged set of a region (index into REGIONS) or
   * the whole world (`undefined`). `score` ≈ exponentially weighted views per minute over the last
   * 10 minutes (half-life 3 min by default), as of the last merge (≤ 5 s old by default).
   */
  async trending(regionIdx: number | undefined, n: number): Promise<{ video: number; score: number }[]> {
    return readRankedVideos(
      this.#redis,
      regionIdx === undefined ? keys.trendingGlobal : keys.trendingRegion(regionIdx),
      n,
    );
  }

  /**
   * Views of each video (same order as `videos`) in the last minute (`m1`) and the last hour
   * (`h1`): sliding-window estimates from per-minute buckets (core/streaming/windows.ts), rounded.
   * Cost: 2 HGETALLs per video (current and previous hour, ≤ 60 fields each), one pipeline.
   */
  async viewCounts(videos: readonly number[]): Promise<ViewCounts[]> {
    if (videos.length === 0) return [];
    const now = this.#clock.now();
    const hour = epochHour(now);
    const p = this.#redis.pipeline();
    for (const v of videos) {
      const id = videoIdOf(v);
      p.hgetall(keys.viewCounts(id, hour));
      p.hgetall(keys.viewCounts(id, hour - 1));
    }
    const res = (await p.exec()) ?? [];
    const out: ViewCounts[] = [];
    for (let i = 0; i < videos.length; i++) {
      const buckets = new Map<number, number>();
      for (const [err, value] of [res[2 * i], res[2 * i + 1]]) {
        if (err) throw err;
        for (const [minute, count] of Object.entries((value ?? {}) as Record<string, string>)) {
          buckets.set(Number(minute), Number(count));
        }
      }
      out.push(slidingCounts(buckets, now));
    }
    return out;
  }

  /** Watch events in the user's current session (30 min inactivity ends it); 0 when none. `HGET`. */
  async sessionViews(userId: string): Promise<number> {
    const v = await this.#redis.hget(keys.session(userId), 'watch');
    return v === null ? 0 : Number(v);
  }

  /**
   * The whole current session: event counts by type and its start (event time, ms), or undefined
   * when the user has no session. `HGETALL`.
   */
  async session(
    userId: string,
  ): Promise<
    { watch: number; click: number; like: number; impression: number; startMs: number } | undefined
  > {
    const h = await this.#redis.hgetall(keys.session(userId));
    if (Object.keys(h).length === 0) return undefined;
    const n = (f: string) => Number(h[f] ?? 0);
    return {
      watch: n('watch'),
      click: n('click'),
      like: n('like'),
      impression: n('impression'),
      startMs: n('start'),
    };
  }
}
