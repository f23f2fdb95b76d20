import type { Candidate } from '../pipeline/merge.ts';

/** What a retrieval source may use from the request's user context. */
export interface RetrievalContext {
  userId: string;
  /** The user's record (USER_RECORD layout). */
  user: Float32Array;
  /** The user-tower embedding, L2-normalised, or undefined when the encoder is unavailable. */
  userEmbedding: Float32Array | undefined;
  regionIdx: number;
  /**
   * The request's one read of the user's last watched videos (catalogue indices, newest first; the
   * pipeline's `watchedFilterN` of them), shared by the already-watched filter and the sources that
   * need it. Rejects when that read failed or missed its deadline. Absent without streaming features.
   */
  recentWatches?: Promise<readonly number[]>;
}

/**
 * CandidateSource — one retrieval source (seed 000 §2.2): two-tower ANN, popularity, … Each runs in
 * parallel under its own deadline and circuit breaker; the orchestrator merges their lists.
 */
export interface CandidateSource {
  /** Stable name, reported per candidate as `source` (`two_tower`, `popularity`). */
  readonly name: string;
  /**
   * The source cannot work without `ctx.recentWatches` (content retrieval). The pipeline then waits
   * for that read before calling it, and when the read failed skips the source (`partial_retrieval`
   * with the read's code) without asking its breaker: another dependency's failure must not open
   * this source's breaker and keep it open after that dependency is back.
   */
  readonly needsRecentWatches?: boolean;
  /** Up to `k` candidates, best first. Throws when the source fails. */
  retrieve(ctx: RetrievalContext, k: number): Promise<Candidate[]>;
}
