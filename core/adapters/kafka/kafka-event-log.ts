import { ReclabError, RetryableError } from '../../errors.ts';
import type { Clock } from '../../ports/clock.ts';
import type { EventLog, EventLogStats } from '../../ports/event-log.ts';
import { DEFAULT_MAX_EVENTS_PER_BATCH, type StreamEvent } from '../../streaming/events.ts';
import { KafkaDeliveryLog, type KafkaDeliveryLogOptions } from './kafka-delivery-log.ts';

/**
 * Options of {@link KafkaEventLog}; every `…Ms` is milliseconds. The delivery options (batches,
 * backoff, timeouts, spool) are {@link KafkaDeliveryLogOptions}' with event defaults: spill at the
 * first failed send (`spoolAfterFailureMs` 0), at every call while Kafka is down
 * (`wakeOnEveryOffer`), and a 3 s attempt, so a waiting POST /v1/events is answered quickly.
 */
export type KafkaEventLogOptions = Omit<
  KafkaDeliveryLogOptions,
  'clientId' | 'label' | 'topic' | 'bufferMax'
> & {
  /** Topic; default `events`. */
  topic?: string;
  /** Kafka client id; default `reclab-core-events`. */
  clientId?: string;
  /** Most events held in memory (all calls together); beyond it `publish` refuses. Default 10 000. */
  bufferMax?: number;
  /** Most events one `publish` call accepts; default 500 (as parseEventBatch). */
  maxEventsPerPublish?: number;
  /**
   * Longest wait of one `publish` for its events to become durable; then it rejects (503,
   * `Retry-After`) and the events stay queued. Default 5000. Only reached without a spool (or with
   * a failing one) while Kafka is down.
   */
  publishTimeoutMs?: number;
};

/**
 * The event log of POST /v1/events on Kafka: JSON events of the {@link StreamEvent} shape, keyed by
 * `user_id` (one user's events stay in order on one partition: the consumer's last-N list relies on
 * it), through a {@link KafkaDeliveryLog} — the impression log's bounded memory buffer, disk spool
 * and replay, and the same sans-I/O DeliveryPolicy (issue 9 item 3b).
 *
 * `publish` resolves once each of its events is durable: acknowledged by Kafka (idempotent
 * producer, `acks: all`), or written to the spool while Kafka is down. So a 202 never means "only
 * in memory": an accepted event survives a process crash (and a machine crash, up to the spool's
 * fsync interval) and reaches the topic when Kafka is back. Delivery is at-least-once; the consumer
 * deduplicates by `event_id` (docs/streaming.md).
 *
 * Errors (callers match on `code`):
 * - ReclabError `RECLAB_ERR_EVENT_INVALID` (400): more than `maxEventsPerPublish` events in a call;
 * - RetryableError `RECLAB_ERR_EVENTS_BACKLOG_FULL` (503 + `Retry-After`): Kafka fails and the
 *   spool is full (or failing), or memory holds `bufferMax` events: nothing of the call was taken;
 * - RetryableError `RECLAB_ERR_EVENTS_UNAVAILABLE` (503 + `Retry-After`): the log is closed; or
 *   Kafka fails and there is no spool; or the events were not durable within `publishTimeoutMs`
 *   (they stay queued and may still be delivered: a retry is deduplicated); or they were dropped
 *   at close.
 */
export class KafkaEventLog implements EventLog {
  readonly #log: KafkaDeliveryLog<StreamEvent>;
  readonly #clock: Clock;
  readonly #maxEvents: number;
  readonly #publishTimeoutMs: number;
  #timedOut = 0;
  /** Events refused because they could not become durable while Kafka fails. */
  #refusedNow = 0;
  /** Events whose call stopped waiting because they were stuck in memory (they stayed queued). */
  #stalled = 0;

  constructor(opts: KafkaEventLogOptions, clock: Clock) {
    const { maxEventsPerPublish, publishTimeoutMs, ...delivery } = opts;
    this.#clock = clock;
    this.#maxEvents = maxEventsPerPublish ?? DEFAULT_MAX_EVENTS_PER_BATCH;
    this.#publishTimeoutMs = publishTimeoutMs ?? 5000;
    this.#log = new KafkaDeliveryLog<StreamEvent>(
      {
        clientId: 'reclab-core-events',
        topic: 'events',
        bufferMax: 10_000,
        spoolAfterFailureMs: 0,
        wakeOnEveryOffer: true,
        sendTimeoutMs: 3000,
        ...delivery,
        label: 'event',
      },
      clock,
      (e) => ({ key: e.user_id, value: JSON.stringify(e) }),
    );
  }

  /** Starts the background delivery loop (idempotent). */
  start(): void {
    this.#log.start();
  }

  publish(events: readonly StreamEvent[]): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    if (events.length > this.#maxEvents) {
      return Promise.reject(
        new ReclabError(
          'RECLAB_ERR_EVENT_INVALID',
          `at most ${this.#maxEvents} events per call, got ${events.length}`,
        ),
      );
    }
    const retryAfterS = this.#log.retryDelayMs / 1000;
    if (this.#log.closed) {
      return Promise.reject(
        new RetryableError('RECLAB_ERR_EVENTS_UNAVAILABLE', retryAfterS, 'the event log is closed'),
      );
    }
    if (!this.#log.canBecomeDurable()) {
      // Kafka fails and nothing could hold the events meanwhile: say so now, not after a timeout.
      this.#refusedNow += events.length;
      return Promise.reject(
        this.#log.hasSpool
          ? new RetryableError(
              'RECLAB_ERR_EVENTS_BACKLOG_FULL',
              retryAfterS,
              'Kafka is down and the event spool is full',
            )
          : new RetryableError(
              'RECLAB_ERR_EVENTS_UNAVAILABLE',
              retryAfterS,
              'Kafka is down and there is no event spool',
            ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      let left = events.length;
      let settled = false;
      const settle = (err?: Error): void => {
        if (settled) return;
        settled = true;
        cancel();
        if (err) reject(err);
        else resolve();
      };
      const cancel = this.#clock.setTimer(this.#publishTimeoutMs, () => {
        this.#timedOut += left;
        settle(
          new RetryableError(
            'RECLAB_ERR_EVENTS_UNAVAILABLE',
            retryAfterS,
            `${left} of ${events.length} events not durable within ${this.#publishTimeoutMs} ms (Kafka unavailable)`,
          ),
        );
      });
      const taken = this.#log.offer(events, {
        durable: (n) => {
          left -= n;
          if (left === 0) settle();
        },
        stalled: () => {
          this.#stalled += left;
          settle(
            new RetryableError(
              this.#log.hasSpool ? 'RECLAB_ERR_EVENTS_BACKLOG_FULL' : 'RECLAB_ERR_EVENTS_UNAVAILABLE',
              this.#log.retryDelayMs / 1000,
              `${left} of ${events.length} events wait in memory: Kafka is down and ${this.#log.hasSpool ? 'the event spool is full' : 'there is no event spool'}`,
            ),
          );
        },
        lost: () =>
          settle(
            new RetryableError('RECLAB_ERR_EVENTS_UNAVAILABLE', retryAfterS, 'events dropped at shutdown'),
          ),
      });
      if (!taken) {
        settle(
          new RetryableError(
            'RECLAB_ERR_EVENTS_BACKLOG_FULL',
            this.#log.retryDelayMs / 1000,
            `${this.#log.stats().buffered} events wait in memory (the most it holds)`,
          ),
        );
      }
    });
  }

  /**
   * Counters; `timedOut` and `stalled` count events whose `publish` stopped waiting (after
   * `publishTimeoutMs`, or at once when they could not become durable); they stayed queued.
   */
  stats(): EventLogStats & { timedOut: number; stalled: number; spoolErrors: number } {
    const { lost, refused, ...s } = this.#log.stats();
    return {
      ...s,
      refused: refused + this.#refusedNow,
      dropped: lost,
      timedOut: this.#timedOut,
      stalled: this.#stalled,
    };
  }

  /**
   * Refuses new events, delivers what is pending for up to `timeoutMs`, spools what is left (or
   * drops it, counted, and rejects its waiting calls) and closes the producer. Idempotent.
   */
  close(timeoutMs: number): Promise<void> {
    return this.#log.close(timeoutMs);
  }
}
