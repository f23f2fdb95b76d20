import type { Candidate } from '../pipeline/merge.ts';
import type { CandidateSource, RetrievalContext } from '../ports/candidate-source.ts';
import type { Clock } from '../ports/clock.ts';

/** One upload as the subscription store returns it: catalogue video index, upload time (Unix s). */
export interface RecentUpload {
  video: number;
  uploadTsS: number;
}

/** The read the source needs (core/adapters/redis/subscriptions.ts implements it over Redis). */
export interface SubscriptionReader {
  /**
   * In one read: up to `creatorsMax` creators `userId` follows (most recently followed first) and,
   * per creator in that order, up to `perCreator` uploads with `minTsS ≤ uploadTsS ≤ maxTsS`, newest
   * first. Unknown user, or one who follows nobody → [].
   */
  followedUploads(
    userId: string,
    creatorsMax: number,
    perCreator: number,
    minTsS: number,
    maxTsS: number,
  ): Promise<RecentUpload[][]>;
}

export interface SubscriptionsSourceOptions {
  /** Most followed creators read per request (N); default 50 (the world's p99 is ≈ 32 follows). */
  creatorsMax?: number;
  /** Most uploads read per creator (M); default 10. */
  perCreatorMax?: number;
  /** Oldest upload considered "recent", seconds before now; default 30 days. */
  maxAgeS?: number;
}

/** Defaults of `SubscriptionsSourceOptions`. */
export const SUBSCRIPTIONS_DEFAULTS = {
  creatorsMax: 50,
  perCreatorMax: 10,
  maxAgeS: 30 * 86_400,
} as const;

/**
 * Uploads up to this many seconds after now still count: record times are Float32 (±64 s at
 * today's Unix seconds, core/features/schema.ts) and uploaders' clocks drift, so a just-announced
 * upload may carry a time slightly ahead of the core's clock.
 */
export const UPLOAD_FUTURE_SLACK_S = 120;

/**
 * Merges per-creator upload lists (each newest first) into one list, newest first across all
 * creators, without duplicates, at most `k`. Ties in upload time go to the lower video index, so
 * the result does not depend on the order of `lists`.
 */
export function mergeNewestFirst(lists: readonly (readonly RecentUpload[])[], k: number): RecentUpload[] {
  if (k <= 0) return [];
  const newest = new Map<number, number>();
  for (const list of lists) {
    for (const u of list) {
      const seen = newest.get(u.video);
      if (seen === undefined || u.uploadTsS > seen) newest.set(u.video, u.uploadTsS);
    }
  }
  // Map order, sorted (stable) and cut at k, without the intermediate entry arrays and copies.
  const out: RecentUpload[] = [];
  newest.forEach((uploadTsS, video) => {
    out.push({ video, uploadTsS });
  });
  out.sort((a, b) => b.uploadTsS - a.uploadTsS || a.video - b.video);
  if (out.length > k) out.length = Math.floor(k);
  return out;
}

/**
 * Subscription retrieval (seed 000 §2.2 `subscription_retrieval`, ~50 candidates): the recent
 * uploads of the creators the user follows. Reads, in one read of the reader, at most `creatorsMax`
 * followed creators and at most `perCreatorMax` uploads of each from the last `maxAgeS` seconds up
 * to now (`Clock`, plus `UPLOAD_FUTURE_SLACK_S`), and returns up to `k` newest first. Score = upload time, Unix seconds (newer is better). A user who
 * follows nobody (cold start, seed 000 Q1) gets []. Reader errors propagate (the pipeline's deadline
 * and breaker turn them into `partial_retrieval`).
 */
export class SubscriptionsSource implements CandidateSource {
  readonly name = 'subscriptions';
  readonly #reader: SubscriptionReader;
  readonly #clock: Clock;
  readonly #opts: Required<SubscriptionsSourceOptions>;

  constructor(reader: SubscriptionReader, clock: Clock, opts: SubscriptionsSourceOptions = {}) {
    this.#reader = reader;
    this.#clock = clock;
    this.#opts = { ...SUBSCRIPTIONS_DEFAULTS, ...opts };
  }

  async retrieve(ctx: RetrievalContext, k: number): Promise<Candidate[]> {
    if (k <= 0) return [];
    const nowS = this.#clock.now() / 1000;
    // One read (one Redis round trip): the followed creators and their uploads together.
    const lists = await this.#reader.followedUploads(
      ctx.userId,
      this.#opts.creatorsMax,
      Math.min(this.#opts.perCreatorMax, k),
      nowS - this.#opts.maxAgeS,
      nowS + UPLOAD_FUTURE_SLACK_S,
    );
    return mergeNewestFirst(lists, k).map((u) => ({ video: u.video, score: u.uploadTsS, source: this.name }));
  }
}
