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
 * The read of subscription retrieval as one server-side script: the user's followed creators
 * (`ZREVRANGE sub:<user> 0 creatorsMax-1`), then per creator its newest uploads in the time range
 * (`ZREVRANGEBYSCORE upl:<c> maxTsS minTsS WITHSCORES LIMIT 0 perCreator`). Run by Redis in one
 * round trip instead of two sequential ones (issue 10: the subscriptions source missed its deadline
 * most, having to wait for the followed creators before asking for their uploads).
 *
 * KEYS[1] = `sub:<user>`; ARGV = creatorsMax, perCreator, maxTsS, minTsS, the uploads key prefix
 * (`upl:`). Returns one array per followed creator (most recently followed first):
 * `[member, score, member, score, …]`, newest first. The `upl:` keys are named inside the script,
 * not declared in KEYS: a single Redis (the core's deployment and the lab's) runs it; Redis Cluster
 * would refuse it (the keys hash to different slots), and a Cluster adapter would go back to two
 * round trips. The script is read-only and costs Redis what the two round trips did:
 * O(log F + creators × (log M + perCreator)).
 */
export const FOLLOWED_UPLOADS_LUA = `
local creators = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
local lists = {}
for i = 1, #creators do
  lists[i] = redis.call('ZREVRANGEBYSCORE', ARGV[5] .. creators[i], ARGV[3], ARGV[4],
    'WITHSCORES', 'LIMIT', 0, ARGV[2])
end
return lists
`;

/** The ioredis command name the script is defined under (EVALSHA, falling back to EVAL on NOSCRIPT). */
const FOLLOWED_UPLOADS_COMMAND = 'reclabFollowedUploads';

type WithFollowedUploads = Redis & {
  [FOLLOWED_UPLOADS_COMMAND](key: string, ...args: (string | number)[]): Promise<string[][]>;
};

/**
 * One round trip of `FOLLOWED_UPLOADS_LUA` for `userId`: the raw reply, one flat
 * `[member, score, …]` array per followed creator. Defines the script on `redis` on first use;
 * ioredis sends EVALSHA and resends the script (EVAL) when Redis answers NOSCRIPT (a restarted or
 * flushed Redis). Errors are the driver's. Exported for bench/pipeline-overhead.ts, which replays
 * the round trip alone.
 */
export function readFollowedUploads(
  redis: Redis,
  userId: string,
  creatorsMax: number,
  perCreator: number,
  minTsS: number,
  maxTsS: number,
): Promise<string[][]> {
  if (!(FOLLOWED_UPLOADS_COMMAND in redis)) {
    redis.defineCommand(FOLLOWED_UPLOADS_COMMAND, { numberOfKeys: 1, lua: FOLLOWED_UPLOADS_LUA });
  }
  return (redis as WithFollowedUploads)[FOLLOWED_UPLOADS_COMMAND](
    keys.subscriptions(userId),
    creatorsMax,
    perCreator,
    maxTsS,
    minTsS,
    keys.creatorUploads(''),
  );
}

/**
 * The subscription graph and the creators' recent uploads in Redis (seed 000 §2.2, "subscription
 * retrieval"; key layout core/adapters/redis/keys.ts, docs/retrieval.md):
 * - `sub:<user>`: sorted set of followed creator ids (`c_<i>`) by follow time (Unix s);
 * - `upl:<creator>`: sorted set of the creator's newest uploads (`v_<i>`) by upload time (Unix s),
 *   at most `CREATOR_UPLOADS_MAX` members.
 *
 * A read costs one round trip (`FOLLOWED_UPLOADS_LUA`). Errors are the driver's (ioredis); the
 * caller's deadline and breaker decide what they mean.
 */
export class RedisSubscriptions implements SubscriptionReader {
  readonly #redis: Redis;

  constructor(redis: Redis) {
    this.#redis = redis;
  }

  /**
   * Up to `creatorsMax` creators the user follows (most recently followed first) and, per creator
   * in that order, its newest uploads with `minTsS ≤ uploadTsS ≤ maxTsS`, newest first, at most
   * `perCreator` each; one round trip. Unknown user → []. Members that are not video ids are skipped.
   */
  async followedUploads(
    userId: string,
    creatorsMax: number,
    perCreator: number,
    minTsS: number,
    maxTsS: number,
  ): Promise<RecentUpload[][]> {
    if (creatorsMax <= 0 || perCreator <= 0) return [];
    const lists = await readFollowedUploads(this.#redis, userId, creatorsMax, perCreator, minTsS, maxTsS);
    return lists.map((flat) => {
      const out: RecentUpload[] = [];
      for (let j = 0; j + 1 < flat.length; j += 2) {
        const video = parseVideoIndex(flat[j]);
        if (video >= 0) out.push({ video, uploadTsS: Number(flat[j + 1]) });
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
