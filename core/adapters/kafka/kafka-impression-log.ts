import type { Clock } from '../../ports/clock.ts';
import type { Impression, ImpressionLog, ImpressionLogStats } from '../../ports/impression-log.ts';
import {
  type DeliveryLogStats,
  KafkaDeliveryLog,
  type KafkaDeliveryLogOptions,
} from './kafka-delivery-log.ts';

/**
 * Options of {@link KafkaImpressionLog}; every `…Ms` is milliseconds, every `…Bytes` bytes. The
 * delivery options (batches, backoff, timeouts, spool) are {@link KafkaDeliveryLogOptions}'; the
 * spool's directory and bound come from RECLAB_IMPRESSION_SPOOL_DIR / _MAX_BYTES.
 */
export type KafkaImpressionLogOptions = Omit<KafkaDeliveryLogOptions, 'clientId' | 'label'> & {
  /** Kafka client id; default `reclab-core`. */
  clientId?: string;
};

/** {@link ImpressionLogStats} with the delivery log's buffer and spool counters (one definition). */
export type KafkaImpressionLogStats = ImpressionLogStats &
  Pick<DeliveryLogStats, 'buffered' | 'spooled' | 'spoolPending' | 'spoolBytes' | 'replayed' | 'spoolErrors'>;

/**
 * ImpressionLog on Kafka (seed 000 §2.6: asynchronous to topic "impressions", one JSON message per
 * served list, key = `user_id`), with a bounded disk spool for outages (issue 5): a
 * {@link KafkaDeliveryLog} of impressions, whose decisions (buffer bound, when to spill, backoff,
 * replay order) are the shared sans-I/O DeliveryPolicy (core/delivery/delivery-policy.ts).
 *
 * `publish` appends to the bounded memory buffer and returns; it never waits and never touches the
 * disk. Delivery is at-least-once; consumers deduplicate by `impression_id` (docs/impressions.md).
 * An impression is dropped (and counted) only when memory holds `bufferMax` (the spool being full
 * or Kafka failing for long enough to fill memory meanwhile), when it is published after `close`,
 * when `close` finds no spool room for it, or when its spool line is unreadable.
 *
 * Crash durability: the in-memory buffer (up to `spoolAfterFailureMs` of traffic during an outage,
 * or `spoolHighWater` impressions) is lost with the process; the spool survives a process crash
 * entirely and a machine crash up to its last `spoolFsyncIntervalMs`.
 *
 * @throws ReclabError RECLAB_ERR_CONFIG_INVALID (constructor) when `spoolDir` cannot be created or
 *   read, or a spool bound is not positive.
 */
export class KafkaImpressionLog implements ImpressionLog {
  readonly #log: KafkaDeliveryLog<Impression>;

  constructor(opts: KafkaImpressionLogOptions, clock: Clock) {
    this.#log = new KafkaDeliveryLog<Impression>(
      { clientId: 'reclab-core', ...opts, label: 'impression' },
      clock,
      (imp) => ({ key: imp.user_id, value: JSON.stringify(imp) }),
    );
  }

  /** Never waits; a refused impression is counted in `dropped`. */
  publish(impression: Impression): void {
    this.#log.offer([impression]);
  }

  /**
   * `pending` = `buffered` + `spoolPending`: everything accepted and not yet acknowledged, spool
   * leftovers of an earlier process included. Wait for `pending === 0` to know all is on the topic.
   */
  stats(): KafkaImpressionLogStats {
    const { refused, lost, ...s } = this.#log.stats();
    return { ...s, dropped: refused + lost };
  }

  /** Starts the background delivery loop (idempotent); failures are retried by the loop itself. */
  start(): void {
    this.#log.start();
  }

  /**
   * Stops accepting impressions, delivers what is pending for up to `timeoutMs`, then moves what is
   * still in memory to the spool for the next process (or drops it, counted, without a spool or
   * beyond its bound) and closes the producer. Idempotent.
   */
  close(timeoutMs: number): Promise<void> {
    return this.#log.close(timeoutMs);
  }
}
