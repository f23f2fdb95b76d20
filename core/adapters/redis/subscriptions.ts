import type { Redis } from 'ioredis';
import { parseVideoIndex, videoIdOf } from '../../features/ids.ts';
import type { RecentUpload, SubscriptionReader } from '../../retrieval/subscriptions-source.ts';
import { keys } from './keys.ts';

/**
 * Most uploads kept per creator (`upl:<creator>`): every write trims the set to its newest
 * `CREATOR_UPLOADS_MAX` members, so its memory (~100 B per member) and a read's work are bounded
 * whatever the creator's upload rate. Retrieval reads at most 10 per creator by default.
 */
export const CREATOR_UPLOADS_MAX = 100;

/** Public id of creator index `creator`: `c_<index>` (the world's ids, sim/world/ids.ts). */
export const creatorIdOf = (creator: number): string => `c_${creator}`;

/** One announced upload: catalogue video index, creator index, upload time (Unix s). */
export interface Upload {
  video: number;
  creator: number;
  uploadTsS: number;
}

/**
 * The subscription graph and the creators' recent uploads in Redis (seed 000 §2.2, "subscription
 * retrieval"; key layout core/adapters/redis/keys.ts, docs/retrieval.md):
 * - `sub:<user>`: sorted set of followed creator ids (`c_<i>`) by follow time (Unix s);
 * - `upl:<creator>`: sorted set of the creator's newest uploads (`v_<i>`) by upload time (Unix s),
 *   at most `CREATOR_UPLOADS_MAX` members.
 *
 * Reads cost two round trips (the followed creators, then one pipeline of per-creator range reads).
 * Errors are the driver's (ioredis); the caller's deadline and breaker decide what they mean.
 */
export class RedisSubscriptions implements SubscriptionReader {
  readonly #redis: Redis;

  constructor(redis: Redis) {
    this.#redis = redis;
  }

  /** Up to `n` creators the user follows, most recently followed first. `ZREVRANGE sub:<user> 0 n-1`. */
  async followedCreators(userId: string, n: number): Promise<string[]> {
    if (n <= 0) return [];
    return this.#redis.zrevrange(keys.subscriptions(userId), 0, n - 1);
  }

  /**
   * Per creator (same order as `creators`), its newest uploads with `minTsS ≤ uploadTsS ≤ maxTsS`,
   * newest first, at most `perCreator` each. One pipeline of
   * `ZREVRANGEBYSCORE upl:<c> maxTsS minTsS WITHSCORES LIMIT 0 perCreator`: O(creators × (log M + perCreator)).
   * Members that are not video ids are skipped.
   */
  async recentUploads(
    creators: readonly string[],
    perCreator: number,
    minTsS: number,
    maxTsS: number,
  ): Promise<RecentUpload[][]> {
    if (creators.length === 0 || perCreator <= 0) return [];
    const p = this.#redis.pipeline();
    for (const c of creators) {
      p.zrevrangebyscore(keys.creatorUploads(c), maxTsS, minTsS, 'WITHSCORES', 'LIMIT', 0, perCreator);
    }
    const replies = (await p.exec()) ?? [];
    return creators.map((_, i) => {
      const [err, flat] = replies[i] ?? [new Error('missing pipeline reply'), null];
      if (err) throw err;
      const out: RecentUpload[] = [];
      const items = (flat ?? []) as string[];
      for (let j = 0; j + 1 < items.length; j += 2) {
        const video = parseVideoIndex(items[j]);
        if (video >= 0) out.push({ video, uploadTsS: Number(items[j + 1]) });
      }
      return out;
    });
  }

  /**
   * Adds uploads to their creators' sets and trims each touched set to its newest
   * `CREATOR_UPLOADS_MAX` (`ZADD` + `ZREMRANGEBYRANK 0 -(MAX+1)` per creator, one pipeline; a re-add
   * updates the time). Uploads with a negative or non-integer creator or video, or a non-finite
   * time, are skipped. Returns the number of uploads written.
   */
  async addUploads(uploads: readonly Upload[]): Promise<number> {
    const byCreator = new Map<number, (string | number)[]>();
    let written = 0;
    for (const u of uploads) {
      if (!Number.isInteger(u.creator) || u.creator < 0 || !Number.isInteger(u.video) || u.video < 0)
        continue;
      if (!Number.isFinite(u.uploadTsS)) continue;
      const args = byCreator.get(u.creator) ?? [];
      if (args.length === 0) byCreator.set(u.creator, args);
      args.push(u.uploadTsS, videoIdOf(u.video));
      written++;
    }
    if (written === 0) return 0;
    const p = this.#redis.pipeline();
    for (const [creator, args] of byCreator) {
      const key = keys.creatorUploads(creatorIdOf(creator));
      p.zadd(key, ...args);
      p.zremrangebyrank(key, 0, -(CREATOR_UPLOADS_MAX + 1));
    }
    const replies = (await p.exec()) ?? [];
    const failed = replies.find(([err]) => err);
    if (failed) throw failed[0];
    return written;
  }
}
