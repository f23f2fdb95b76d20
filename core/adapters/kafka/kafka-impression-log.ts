import { Kafka, logLevel, type Producer } from 'kafkajs';
import type { Clock } from '../../ports/clock.ts';
import type { Impression, ImpressionLog, ImpressionLogStats } from '../../ports/impression-log.ts';

export interface KafkaImpressionLogOptions {
  brokers: string[];
  topic: string;
  /** Most impressions held in memory awaiting delivery; beyond it `publish` drops (and counts). */
  bufferMax: number;
  /** Most impressions per produce request. */
  batchMax?: number;
  /** Pause between send attempts while Kafka fails (ms). */
  retryDelayMs?: number;
}

/**
 * ImpressionLog on Kafka (seed 000 §2.6: fire-and-forget to topic "impressions").
 *
 * `publish` appends to a bounded in-memory buffer and returns; one background loop sends batches
 * (one produce request in flight, idempotent producer, acks from all in-sync replicas), so a slow
 * Kafka never sits on a response's path. A failed batch stays at the head of the buffer and is
 * retried: nothing is lost while the buffer has room. Keyed by user id so a user's impressions keep
 * their order. (A disk spool for long outages comes with issue 5.)
 */
export class KafkaImpressionLog implements ImpressionLog {
  readonly #producer: Producer;
  readonly #clock: Clock;
  readonly #opts: Required<KafkaImpressionLogOptions>;
  readonly #buffer: Impression[] = [];
  #published = 0;
  #dropped = 0;
  #connected = false;
  #sending = false;
  #closed = false;
  #wake: (() => void) | undefined;

  constructor(opts: KafkaImpressionLogOptions, clock: Clock) {
    this.#opts = { batchMax: 500, retryDelayMs: 200, ...opts };
    this.#clock = clock;
    const kafka = new Kafka({
      clientId: 'reclab-core',
      brokers: opts.brokers,
      logLevel: logLevel.NOTHING,
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    this.#producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: true,
    });
  }

  publish(impression: Impression): void {
    if (this.#closed || this.#buffer.length >= this.#opts.bufferMax) {
      this.#dropped++;
      return;
    }
    this.#buffer.push(impression);
    this.#wake?.();
  }

  stats(): ImpressionLogStats {
    return { pending: this.#buffer.length, published: this.#published, dropped: this.#dropped };
  }

  /** Starts the background delivery loop; connection failures are retried by the loop itself. */
  start(): void {
    void this.#loop();
  }

  async #loop(): Promise<void> {
    while (!this.#closed || this.#buffer.length > 0) {
      if (this.#buffer.length === 0) {
        if (this.#closed) break;
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
        continue;
      }
      const ok = await this.#sendBatch();
      if (!ok) {
        if (this.#closed && this.#closeDeadlinePassed()) break;
        await new Promise<void>((resolve) => this.#clock.setTimer(this.#opts.retryDelayMs, resolve));
      }
    }
  }

  async #sendBatch(): Promise<boolean> {
    this.#sending = true;
    try {
      if (!this.#connected) {
        await this.#producer.connect();
        this.#connected = true;
      }
      const batch = this.#buffer.slice(0, this.#opts.batchMax);
      await this.#producer.send({
        topic: this.#opts.topic,
        acks: -1,
        messages: batch.map((imp) => ({ key: imp.user_id, value: JSON.stringify(imp) })),
      });
      this.#buffer.splice(0, batch.length);
      this.#published += batch.length;
      return true;
    } catch {
      return false;
    } finally {
      this.#sending = false;
    }
  }

  #closeBy = Number.POSITIVE_INFINITY;
  #closeDeadlinePassed(): boolean {
    return this.#clock.now() >= this.#closeBy;
  }

  async close(timeoutMs: number): Promise<void> {
    this.#closed = true;
    this.#closeBy = this.#clock.now() + timeoutMs;
    this.#wake?.();
    while ((this.#buffer.length > 0 || this.#sending) && !this.#closeDeadlinePassed()) {
      await new Promise<void>((resolve) => this.#clock.setTimer(20, resolve));
    }
    this.#dropped += this.#buffer.length;
    this.#buffer.length = 0;
    if (this.#connected) await this.#producer.disconnect().catch(() => {});
  }
}
