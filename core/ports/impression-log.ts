/** One served list, as logged for training and debugging (seed 000 §2.6). */
export interface Impression {
  impression_id: string;
  user_id: string;
  /** Unix milliseconds. */
  timestamp: number;
  /** The first experiment layer's id and variant (seed 000 §2.6); `experiments` has every layer. */
  experiment_id: string;
  variant: string;
  /** Every experiment (layer) the request was assigned in, with its variant. */
  experiments: { id: string; variant: string }[];
  rung: string;
  model_version: string;
  candidates_retrieved: number;
  candidates_ranked: number;
  final_list_size: number;
  recommendations: {
    video_id: string;
    position: number;
    ranking_score: number;
    retrieval_source: string;
  }[];
  latency_ms: Record<string, number>;
}

/** Counters of an impression log, for metrics and run reports. */
export interface ImpressionLogStats {
  /**
   * Accepted by `publish` and not yet acknowledged: in memory plus, for a log with a disk spool, on
   * disk (leftovers of an earlier process included). `pending === 0` means all is delivered.
   */
  pending: number;
  /** Acknowledged by the log (Kafka acks), replayed ones included. */
  published: number;
  /** Refused because memory and spool were full or the log closed, or lost (unreadable spool line). */
  dropped: number;
  /** The in-memory part of `pending`. Optional: logs without a spool may leave it out. */
  buffered?: number;
  /** Written to the disk spool since start (cumulative count). */
  spooled?: number;
  /** The on-disk part of `pending`: spooled records not yet acknowledged. */
  spoolPending?: number;
  /** Bytes the spool's segment files hold now. */
  spoolBytes?: number;
  /** Acknowledged after a trip through the spool (cumulative; part of `published`). */
  replayed?: number;
}

/**
 * ImpressionLog — asynchronous, never on the response's critical path (seed 000 §1 step 9).
 * `publish` only enqueues into a bounded buffer; delivery happens in the background.
 */
export interface ImpressionLog {
  publish(impression: Impression): void;
  stats(): ImpressionLogStats;
  /** Delivers everything pending (bounded by `timeoutMs`), then releases connections. */
  close(timeoutMs: number): Promise<void>;
}
