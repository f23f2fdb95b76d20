import { Kafka, logLevel, type Producer } from 'kafkajs';
import {
  DEFAULT_MAX_EVENTS_PER_BATCH,
  EVENT_INVALID_CODE,
  EVENTS_UNAVAILABLE_CODE,
  type StreamEvent,
  StreamingError,
} from './events.ts';

/** Options of {@link EventPublisher}. */
export interface EventPublisherOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: string[];
  /** Topic; default `events`. */
  topic?: string;
  /** Most events one `publish` call accepts; default 500 (as parseEventBatch). */
  maxEventsPerPublish?: number;
  /** Most messages per produce request; a larger call is split; default 250. */
  batchMax?: number;
  /** Most events in flight over all concurrent `publish` calls; beyond it `publish` rejects (503); default 10 000. */
  maxPendingEvents?: number;
  /** kafkajs request timeout per produce request, ms; default 2000. */
  requestTimeoutMs?: number;
  /** kafkajs client id; default `reclab-core-events`. */
  clientId?: string;
}

/** Counters of {@link EventPublisher}. */
export interface EventPublisherStats {
  /** Events acknowledged by Kafka (acks from all in-sync replicas). */
  published: number;
  /** Events of `publish` calls that rejected with RECLAB_ERR_EVENTS_UNAVAILABLE. */
  failed: number;
  /** Events currently being sent. */
  pending: number;
}

/**
 * Synchronous event producer for POST /v1/events: `publish` resolves once Kafka has acknowledged
 * every event (idempotent producer, acks = all), so a 2xx means "durably queued". Messages are JSON
 * of the {@link StreamEvent} shape, keyed by `user_id`, so one user's events stay in order on one
 * partition (the consumer's last-N list relies on it).
 *
 * Unlike KafkaImpressionLog (fire-and-forget with a buffer) the caller waits here: the client is
 * told when its events could not be taken, and can retry; event ids make the retry harmless
 * (the consumer dedupes by `event_id`).
 *
 * Errors: StreamingError `RECLAB_ERR_EVENT_INVALID` (400) when a call exceeds
 * `maxEventsPerPublish`; `RECLAB_ERR_EVENTS_UNAVAILABLE` (503) when Kafka fails, when
 * `maxPendingEvents` would be exceeded (back-pressure), or after `close()`.
 */
export class EventPublisher {
  readonly #producer: Producer;
  readonly #topic: string;
  readonly #maxEvents: number;
  readonly #batchMax: number;
  readonly #maxPending: number;
  #connecting: Promise<void> | undefined;
  #closed = false;
  #published = 0;
  #failed = 0;
  #pending = 0;

  constructor(opts: EventPublisherOptions) {
    this.#topic = opts.topic ?? 'events';
    this.#maxEvents = opts.maxEventsPerPublish ?? DEFAULT_MAX_EVENTS_PER_BATCH;
    this.#batchMax = opts.batchMax ?? 250;
    this.#maxPending = opts.maxPendingEvents ?? 10_000;
    const kafka = new Kafka({
      clientId: opts.clientId ?? 'reclab-core-events',
      brokers: opts.brokers,
      logLevel: logLevel.NOTHING,
      requestTimeout: opts.requestTimeoutMs ?? 2000,
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    this.#producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: true,
    });
  }

  /** Connects the producer (optional: `publish` connects lazily). @throws StreamingError 503. */
  async connect(): Promise<void> {
    this.#connecting ??= this.#producer.connect().catch((err: unknown) => {
      this.#connecting = undefined; // let the next call try again
      throw new StreamingError(EVENTS_UNAVAILABLE_CODE, `Kafka connect failed: ${errorText(err)}`, {
        cause: err,
      });
    });
    return this.#connecting;
  }

  /**
   * Sends `events` to the topic in produce requests of at most `batchMax` messages, one after the
   * other; resolves when all are acknowledged. Not atomic: on a failure some chunks may already be
   * on the topic, and a client retry re-sends them (deduped downstream by `event_id`).
   */
  async publish(events: readonly StreamEvent[]): Promise<void> {
    if (events.length === 0) return;
    if (events.length > this.#maxEvents) {
      throw new StreamingError(
        EVENT_INVALID_CODE,
        `at most ${this.#maxEvents} events per call, got ${events.length}`,
      );
    }
    if (this.#closed) throw new StreamingError(EVENTS_UNAVAILABLE_CODE, 'event publisher is closed');
    if (this.#pending + events.length > this.#maxPending) {
      this.#failed += events.length;
      throw new StreamingError(EVENTS_UNAVAILABLE_CODE, `too many events in flight (${this.#pending})`);
    }
    this.#pending += events.length;
    try {
      await this.connect();
      for (let i = 0; i < events.length; i += this.#batchMax) {
        const chunk = events.slice(i, i + this.#batchMax);
        await this.#producer.send({
          topic: this.#topic,
          acks: -1,
          messages: chunk.map((e) => ({ key: e.user_id, value: JSON.stringify(e) })),
        });
        this.#published += chunk.length;
      }
    } catch (err) {
      this.#failed += events.length;
      if (err instanceof StreamingError) throw err;
      throw new StreamingError(EVENTS_UNAVAILABLE_CODE, `Kafka produce failed: ${errorText(err)}`, {
        cause: err,
      });
    } finally {
      this.#pending -= events.length;
    }
  }

  stats(): EventPublisherStats {
    return { published: this.#published, failed: this.#failed, pending: this.#pending };
  }

  /** Refuses new calls and disconnects; sends still in flight then fail with 503 (drain the route first). Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#connecting) {
      await this.#connecting.catch(() => {});
      await this.#producer.disconnect().catch(() => {});
      this.#connecting = undefined;
    }
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
