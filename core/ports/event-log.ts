import type { StreamEvent } from '../streaming/events.ts';

/** Counters of an event log, for /readyz, metrics and run reports (counts are events). */
export interface EventLogStats {
  /** Accepted and not yet acknowledged by the log: in memory plus on disk (earlier leftovers too). */
  pending: number;
  /** Acknowledged by the log (Kafka acks), replayed ones included. */
  published: number;
  /** Refused with a 503 (backlog full, closed); the client was told to retry. */
  refused: number;
  /** Accepted and then lost (dropped at close without spool room, or unreadable in the spool). */
  dropped: number;
  /** The in-memory part of `pending`. */
  buffered: number;
  /** Written to the disk spool since start (cumulative). */
  spooled: number;
  /** The on-disk part of `pending`. */
  spoolPending: number;
  /** Bytes the spool's segment files hold now. */
  spoolBytes: number;
  /** Acknowledged after a trip through the spool (cumulative; part of `published`). */
  replayed: number;
}

/**
 * EventLog — where POST /v1/events hands user events (ARCHITECTURE.md "Streaming features"; issue
 * 9 item 3b). `publish` resolves once every event is durable: acknowledged by the log, or written
 * to its disk spool, from where it is replayed when the log is back. It rejects with a retryable
 * error (`RetryableError`, core/errors.ts: RECLAB_ERR_EVENTS_BACKLOG_FULL or
 * RECLAB_ERR_EVENTS_UNAVAILABLE, 503 with `Retry-After`) when it cannot take them; the client then
 * sends the same events again, and the consumer's dedupe by `event_id` makes that harmless.
 */
export interface EventLog {
  publish(events: readonly StreamEvent[]): Promise<void>;
  stats(): EventLogStats;
  /** Delivers what is pending (bounded by `timeoutMs`), spools the rest, then releases connections. */
  close(timeoutMs: number): Promise<void>;
}
