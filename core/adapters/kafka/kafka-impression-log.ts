import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import type { Clock } from '../../ports/clock.ts';
import type { Impression, ImpressionLog, ImpressionLogStats } from '../../ports/impression-log.ts';
import { DiskSpool, type SpoolMessage } from './disk-spool.ts';

/** Options of {@link KafkaImpressionLog}; every `…Ms` is milliseconds, every `…Bytes` bytes. */
export interface KafkaImpressionLogOptions {
  brokers: string[];
  topic: string;
  /** Most impressions held in memory awaiting delivery or spooling; beyond it `publish` drops (and counts). */
  bufferMax: number;
  /** Most impressions per produce request. Default 500. */
  batchMax?: number;
  /** Most bytes (keys + values) in one produce request; default 512 KiB. */
  batchMaxBytes?: number;
  /** Pause after a failed send attempt; doubles per further failure up to `retryDelayMaxMs`. Default 200. */
  retryDelayMs?: number;
  /** Longest pause between send attempts while Kafka fails. Default 1000. */
  retryDelayMaxMs?: number;
  /** kafkajs `connectionTimeout`: TCP connect to a broker. Default 1000. */
  connectionTimeoutMs?: number;
  /** kafkajs `requestTimeout` (enforced): one Kafka request. Default 3000. */
  requestTimeoutMs?: number;
  /** Deadline of one attempt (connect if needed, then send with kafkajs' own retries). Default 5000. */
  sendTimeoutMs?: number;
  /**
   * Directory of the disk spool (RECLAB_IMPRESSION_SPOOL_DIR). Unset: no spool, impressions wait in
   * memory only and whatever is undelivered at `close` is dropped.
   */
  spoolDir?: string;
  /** Bound of the spool over all segment files (RECLAB_IMPRESSION_SPOOL_MAX_BYTES). Default 256 MiB. */
  spoolMaxBytes?: number;
  /** Size at which a spool segment is closed and a new one started. Default 4 MiB. */
  spoolSegmentMaxBytes?: number;
  /** Most time between a spool append and its fsync. Default 1000. */
  spoolFsyncIntervalMs?: number;
  /** Kafka failing for this long moves the in-memory impressions to the spool. Default 1000. */
  spoolAfterFailureMs?: number;
  /** This many impressions in memory move to the spool, even if Kafka has not failed. Default bufferMax / 2. */
  spoolHighWater?: number;
}

/** {@link ImpressionLogStats} with every field the Kafka log knows. */
export interface KafkaImpressionLogStats extends ImpressionLogStats {
  buffered: number;
  spooled: number;
  spoolPending: number;
  spoolBytes: number;
  replayed: number;
  /** Spool writes or reads that failed (disk full, permissions); the impressions stayed in memory. */
  spoolErrors: number;
}

/** Impressions serialized per spool write: bounds the time one write keeps the event loop busy. */
const SPILL_CHUNK = 1000;

/**
 * ImpressionLog on Kafka (seed 000 §2.6: asynchronous to topic "impressions", one JSON message per
 * served list, key = `user_id`), with a bounded disk spool for outages (issue 5).
 *
 * `publish` appends to a bounded in-memory buffer and returns; it never waits and never touches the
 * disk. One background loop does everything else, one step at a time:
 * - sends batches (one produce request in flight, idempotent producer, `acks: -1`);
 * - moves the in-memory impressions to the spool ({@link DiskSpool}: newline-delimited JSON segment
 *   files under `spoolDir`, bounded by `spoolMaxBytes`) once Kafka has failed for
 *   `spoolAfterFailureMs`, or when more than `spoolHighWater` are in memory;
 * - while the spool holds anything, new impressions go through it too, and it is replayed oldest
 *   segment first before memory is sent directly again: the order of the log (so every user's order)
 *   is kept through an outage;
 * - a segment file is deleted only once Kafka acknowledged every record in it;
 * - segments left by an earlier process in `spoolDir` are replayed first.
 *
 * Delivery is at-least-once: a batch whose acknowledgement was lost (timeout, broker restart) is
 * sent again, and a process that stops mid-segment replays the whole segment next time. Consumers
 * deduplicate by `impression_id` (docs/impressions.md). An impression is dropped (and counted) only
 * when memory holds `bufferMax` and the spool `spoolMaxBytes`, when it is published after `close`,
 * or when its spool line is unreadable.
 *
 * Failing fast while Kafka is down: kafkajs connects within `connectionTimeoutMs`, each request
 * within `requestTimeoutMs`, with one retry; each attempt is cut at `sendTimeoutMs`. A failed attempt
 * discards the producer (the next one starts a fresh connection and producer id) and pauses
 * `retryDelayMs`, doubling up to `retryDelayMaxMs`: at most 1000 / `retryDelayMs` attempts per second
 * (each at most two connects), falling to 1000 / `retryDelayMaxMs`.
 *
 * Crash durability: the in-memory buffer (up to `spoolAfterFailureMs` of traffic during an outage,
 * or `spoolHighWater` impressions) is lost with the process; the spool survives a process crash
 * entirely and a machine crash up to its last `spoolFsyncIntervalMs`.
 *
 * @throws ReclabError RECLAB_ERR_CONFIG_INVALID (constructor) when `spoolDir` cannot be created or
 *   read, or a spool bound is not positive.
 */
export class KafkaImpressionLog implements ImpressionLog {
  readonly #kafka: Kafka;
  readonly #clock: Clock;
  readonly #opts: Required<Omit<KafkaImpressionLogOptions, 'spoolDir'>>;
  readonly #spool: DiskSpool | undefined;
  readonly #buffer: Impression[] = [];
  #producer: { producer: Producer; connected: boolean } | undefined;
  #published = 0;
  #replayed = 0;
  #dropped = 0;
  #spoolErrors = 0;
  /** Spool bytes when an append last found no room; spilling waits until replay frees some. */
  #spoolFullAtBytes: number | undefined;
  /** When the current run of failed attempts began; undefined while Kafka answers. */
  #failingSince: number | undefined;
  #retryDelayMs: number;
  #closed = false;
  #closeBy = Number.POSITIVE_INFINITY;
  #loop: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #wakeOnPublish = false;

  constructor(opts: KafkaImpressionLogOptions, clock: Clock) {
    const { spoolDir, ...rest } = opts;
    this.#opts = {
      batchMax: 500,
      retryDelayMs: 200,
      retryDelayMaxMs: 1000,
      batchMaxBytes: 512 * 1024, // 512 KiB, half of Kafka's default message.max.bytes
      connectionTimeoutMs: 1000,
      requestTimeoutMs: 3000,
      sendTimeoutMs: 5000,
      spoolMaxBytes: 256 * 1024 * 1024, // 256 MiB
      spoolSegmentMaxBytes: 4 * 1024 * 1024, // 4 MiB
      spoolFsyncIntervalMs: 1000,
      spoolAfterFailureMs: 1000,
      spoolHighWater: Math.max(1, Math.floor(opts.bufferMax / 2)),
      ...rest,
    };
    this.#clock = clock;
    this.#retryDelayMs = this.#opts.retryDelayMs;
    this.#spool =
      spoolDir === undefined
        ? undefined
        : new DiskSpool(
            {
              dir: spoolDir,
              maxBytes: this.#opts.spoolMaxBytes,
              segmentMaxBytes: this.#opts.spoolSegmentMaxBytes,
              fsyncIntervalMs: this.#opts.spoolFsyncIntervalMs,
            },
            clock,
          );
    this.#kafka = new Kafka({
      clientId: 'reclab-core',
      brokers: opts.brokers,
      logLevel: logLevel.NOTHING,
      connectionTimeout: this.#opts.connectionTimeoutMs,
      requestTimeout: this.#opts.requestTimeoutMs,
      enforceRequestTimeout: true,
      // The idempotent producer needs ≥ 1 retry; more would hold the loop while Kafka is down.
      retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 500 },
    });
  }

  publish(impression: Impression): void {
    if (this.#closed || this.#buffer.length >= this.#opts.bufferMax) {
      this.#dropped++;
      return;
    }
    this.#buffer.push(impression);
    if (this.#wakeOnPublish) this.#wake?.();
  }

  /**
   * `pending` = `buffered` + `spoolPending`: everything accepted and not yet acknowledged, spool
   * leftovers of an earlier process included. Wait for `pending === 0` to know all is on the topic.
   */
  stats(): KafkaImpressionLogStats {
    const spoolPending = this.#spool?.records ?? 0;
    return {
      pending: this.#buffer.length + spoolPending,
      published: this.#published,
      dropped: this.#dropped + (this.#spool?.corrupt ?? 0),
      buffered: this.#buffer.length,
      spooled: this.#spool?.appended ?? 0,
      spoolPending,
      spoolBytes: this.#spool?.bytes ?? 0,
      replayed: this.#replayed,
      spoolErrors: this.#spoolErrors,
    };
  }

  /** Starts the background delivery loop (idempotent); failures are retried by the loop itself. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /**
   * Stops accepting impressions, delivers what is pending for up to `timeoutMs` (plus at most one
   * attempt's `sendTimeoutMs`), then moves what is still in memory to the spool for the next process
   * (or drops it, counted, without a spool or beyond its bound) and disconnects. Idempotent.
   */
  close(timeoutMs: number): Promise<void> {
    this.#closing ??= this.#close(timeoutMs);
    return this.#closing;
  }

  async #close(timeoutMs: number): Promise<void> {
    this.#closed = true;
    this.#closeBy = this.#clock.now() + timeoutMs;
    this.#wake?.();
    this.start();
    await this.#loop;
    if (this.#spool !== undefined) {
      await this.#spill(true);
      await this.#spool.close().catch(() => {
        this.#spoolErrors++;
      });
    }
    this.#dropped += this.#buffer.length;
    this.#buffer.length = 0;
    const current = this.#producer;
    this.#producer = undefined;
    if (current?.connected) await this.#deadline(current.producer.disconnect(), this.#opts.sendTimeoutMs);
  }

  async #run(): Promise<void> {
    for (;;) {
      if (this.#closed && (this.#isIdle() || this.#clock.now() >= this.#closeBy)) return;
      await this.#spill(false);
      const spool = this.#spool;
      const fromSpool = spool !== undefined && !spool.isEmpty;
      let messages: SpoolMessage[];
      if (fromSpool) {
        try {
          messages = await spool.peek(this.#opts.batchMax);
        } catch {
          this.#spoolErrors++;
          await this.#pause(this.#opts.retryDelayMaxMs);
          continue;
        }
        if (messages.length === 0) continue;
      } else if (this.#buffer.length > 0) {
        messages = this.#buffer
          .slice(0, this.#opts.batchMax)
          .map((imp) => ({ key: imp.user_id, value: JSON.stringify(imp) }));
      } else {
        if (this.#closed) return;
        await this.#pause(undefined);
        continue;
      }
      // Bound each produce request by bytes as well as count: a batch over the broker's
      // message.max.bytes (1 MiB by default) would fail the same way on every retry.
      messages = messages.slice(0, fitBytes(messages, this.#opts.batchMaxBytes));
      if (await this.#send(messages)) {
        if (fromSpool) {
          await spool.ack(messages.length).catch(() => {
            this.#spoolErrors++;
          });
          this.#replayed += messages.length;
        } else {
          this.#buffer.splice(0, messages.length);
        }
        this.#published += messages.length;
        this.#failingSince = undefined;
        this.#retryDelayMs = this.#opts.retryDelayMs;
      } else {
        this.#failingSince ??= this.#clock.now();
        await this.#pause(this.#retryDelayMs);
        this.#retryDelayMs = Math.min(this.#retryDelayMs * 2, this.#opts.retryDelayMaxMs);
      }
    }
  }

  #isIdle(): boolean {
    return this.#buffer.length === 0 && (this.#spool === undefined || this.#spool.isEmpty);
  }

  /**
   * Moves in-memory impressions to the spool when due (Kafka failing long enough, memory above the
   * high-water mark, the spool already holding older ones, or `force`), oldest first, in chunks, as
   * many as fit. What does not fit stays in memory.
   */
  async #spill(force: boolean): Promise<void> {
    const spool = this.#spool;
    if (spool === undefined || this.#buffer.length === 0) return;
    const failingMs = this.#failingSince === undefined ? 0 : this.#clock.now() - this.#failingSince;
    const due =
      force ||
      !spool.isEmpty ||
      this.#buffer.length >= this.#opts.spoolHighWater ||
      (this.#failingSince !== undefined && failingMs >= this.#opts.spoolAfterFailureMs);
    if (!due) return;
    if (this.#spoolFullAtBytes !== undefined) {
      if (spool.bytes >= this.#spoolFullAtBytes) return;
      this.#spoolFullAtBytes = undefined;
    }
    // Only what is here now: impressions published meanwhile wait for the next step.
    let left = this.#buffer.length;
    while (left > 0) {
      const chunk = this.#buffer.slice(0, Math.min(SPILL_CHUNK, left)).map((imp) => JSON.stringify(imp));
      let written: number;
      try {
        written = await spool.append(chunk);
      } catch {
        this.#spoolErrors++;
        return;
      }
      this.#buffer.splice(0, written);
      left -= written;
      if (written < chunk.length) {
        this.#spoolFullAtBytes = spool.bytes;
        return;
      }
    }
  }

  /** One attempt: connect if needed, send, wait for acks from all in-sync replicas. */
  async #send(messages: SpoolMessage[]): Promise<boolean> {
    this.#producer ??= {
      producer: this.#kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: true,
        createPartitioner: Partitioners.DefaultPartitioner,
      }),
      connected: false,
    };
    const current = this.#producer;
    const attempt = (async () => {
      if (!current.connected) {
        await current.producer.connect();
        current.connected = true;
      }
      await current.producer.send({ topic: this.#opts.topic, acks: -1, messages });
    })();
    if (await this.#deadline(attempt, this.#opts.sendTimeoutMs)) return true;
    // A fresh producer next time: new connections, and a new producer id, so sequence numbers of
    // a batch that may or may not have landed cannot wedge the idempotent producer.
    if (this.#producer === current) this.#producer = undefined;
    void this.#deadline(current.producer.disconnect(), this.#opts.sendTimeoutMs);
    return false;
  }

  /** Resolves true when `work` succeeds within `ms`, false when it fails or runs late; never rejects. */
  #deadline(work: Promise<unknown>, ms: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const cancel = this.#clock.setTimer(ms, () => resolve(false));
      work.then(
        () => {
          cancel();
          resolve(true);
        },
        () => {
          cancel();
          resolve(false);
        },
      );
    });
  }

  /** Waits `delayMs`, or (undefined) until the next `publish`; `close` ends either wait. */
  #pause(delayMs: number | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      let cancel = (): void => {};
      const done = (): void => {
        cancel();
        this.#wake = undefined;
        this.#wakeOnPublish = false;
        resolve();
      };
      this.#wake = done;
      this.#wakeOnPublish = delayMs === undefined;
      if (delayMs !== undefined) cancel = this.#clock.setTimer(delayMs, done);
    });
  }
}

/** How many of `messages` (at least one) fit in `maxBytes` of keys and values. */
function fitBytes(messages: readonly SpoolMessage[], maxBytes: number): number {
  let bytes = 0;
  for (let i = 0; i < messages.length; i++) {
    bytes += Buffer.byteLength(messages[i].value) + Buffer.byteLength(messages[i].key);
    if (bytes > maxBytes) return Math.max(1, i);
  }
  return messages.length;
}
