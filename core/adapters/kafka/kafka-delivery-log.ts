import { Producer, stringSerializers } from '@platformatic/kafka';
import { type DeliveryAction, DeliveryPolicy, type DeliveryState } from '../../delivery/delivery-policy.ts';
import type { Clock } from '../../ports/clock.ts';
import { DiskSpool, type SpoolMessage } from './disk-spool.ts';
import { forceClose } from './force-close.ts';

/** Options of {@link KafkaDeliveryLog}; every `…Ms` is milliseconds, every `…Bytes` bytes. */
export interface KafkaDeliveryLogOptions {
  brokers: string[];
  topic: string;
  /** Kafka client id, e.g. `reclab-core`. */
  clientId: string;
  /** What the records are, for error messages: `impression`, `event`. */
  label: string;
  /** Most records held in memory awaiting delivery or spooling; beyond it `offer` refuses. */
  bufferMax: number;
  /** Most records per produce request. Default 500. */
  batchMax?: number;
  /** Most bytes (keys + values) in one produce request. Default 512 KiB. */
  batchMaxBytes?: number;
  /** Pause after a failed send attempt; doubles per further failure up to `retryDelayMaxMs`. Default 200. */
  retryDelayMs?: number;
  /** Longest pause between send attempts while Kafka fails. Default 1000. */
  retryDelayMaxMs?: number;
  /** TCP connect to a broker (the client's `connectTimeout`). Default 1000. */
  connectionTimeoutMs?: number;
  /** One Kafka request (the client's `requestTimeout`). Default 3000. */
  requestTimeoutMs?: number;
  /** Deadline of one attempt (metadata, producer id, produce, with the client's own 2 retries). Default 5000. */
  sendTimeoutMs?: number;
  /** Directory of the disk spool. Unset: no spool; records wait in memory only. */
  spoolDir?: string;
  /** Bound of the spool over all segment files. Default 256 MiB. */
  spoolMaxBytes?: number;
  /** Size at which a spool segment is closed and a new one started. Default 4 MiB. */
  spoolSegmentMaxBytes?: number;
  /** Most time between a spool append and its fsync. Default 1000. */
  spoolFsyncIntervalMs?: number;
  /** Kafka failing for this long moves the in-memory records to the spool. Default 1000. */
  spoolAfterFailureMs?: number;
  /** This many records in memory move to the spool, even if Kafka has not failed. Default bufferMax / 2. */
  spoolHighWater?: number;
  /**
   * Wake the loop at every `offer`, backoff pauses included, so records reach the spool at once
   * while Kafka is down (for callers that wait for durability: events). Default false: during an
   * outage memory is spilled once per pause, in one write (impressions).
   */
  wakeOnEveryOffer?: boolean;
}

/**
 * Told what became of records handed to {@link KafkaDeliveryLog.offer}: `durable(n)` when n of them
 * were acknowledged by Kafka or written to the spool, `lost(n)` when n were dropped at close (no
 * spool, or no room in it), `stalled()` when they are stuck in memory until Kafka returns.
 */
export interface DeliveryWaiter {
  durable(n: number): void;
  lost(n: number): void;
  /**
   * Some of the records wait in memory and cannot become durable before Kafka is back (it fails
   * and the spool is full, failing or absent). They stay queued; a caller may stop waiting.
   */
  stalled?(): void;
}

/** Counters of {@link KafkaDeliveryLog}. */
export interface DeliveryLogStats {
  /** Accepted and not yet acknowledged: `buffered + spoolPending`, earlier leftovers included. */
  pending: number;
  /** Acknowledged by Kafka (`acks: all`), replayed ones included. */
  published: number;
  /** Offers refused: memory full (the policy's `bufferMax`) or the log closed. */
  refused: number;
  /** Accepted and then lost: left in memory at close without spool room, or unreadable in the spool. */
  lost: number;
  /** In memory. */
  buffered: number;
  /** Written to the spool by this process (cumulative). */
  spooled: number;
  /** In the spool, not yet acknowledged. */
  spoolPending: number;
  /** Bytes of the spool's segment files now. */
  spoolBytes: number;
  /** Acknowledged after passing through the spool (cumulative; part of `published`). */
  replayed: number;
  /** Spool writes or reads that failed (disk full, permissions); those records stayed in memory. */
  spoolErrors: number;
}

interface Entry<T> {
  record: T;
  waiter: DeliveryWaiter | undefined;
}

/** Records serialized per spool write: bounds the time one write keeps the event loop busy. */
const SPILL_CHUNK = 1000;
/** Bound on closing a discarded or final producer (sockets only; nothing is waited for). */
const PRODUCER_CLOSE_MS = 1000;

/**
 * A log of JSON records to one Kafka topic with a bounded memory buffer and a bounded disk spool
 * for outages: the I/O half of the delivery path whose decisions are {@link DeliveryPolicy}'s
 * (core/delivery/delivery-policy.ts). The impression log and the event log are this class with
 * their own record type and key (core/adapters/kafka/kafka-impression-log.ts, kafka-event-log.ts).
 *
 * `offer` appends to memory and returns at once; it never touches the disk or the network. One
 * background loop asks the policy for its next step and performs it, one at a time:
 * - send a batch (one produce request in flight, idempotent producer, so `acks: all`), from the
 *   spool first, then from memory;
 * - spill memory to the spool ({@link DiskSpool}: newline-delimited JSON segment files, bounded in
 *   bytes), when Kafka has failed long enough, memory is above its high-water mark, or the spool
 *   already holds older records;
 * - pause (backoff after a failure, or until the next offer).
 *
 * A spool segment is deleted only once Kafka acknowledged every record in it; segments left by an
 * earlier process are replayed first. Delivery is at-least-once: a batch whose acknowledgement was
 * lost is sent again, and a process that stops mid-segment replays the whole segment next time;
 * consumers deduplicate by the record's id (docs/impressions.md, docs/streaming.md).
 *
 * Failing fast while Kafka is down: the client connects within `connectionTimeoutMs`, each request
 * within `requestTimeoutMs`, with 2 retries; each attempt is cut at `sendTimeoutMs` (and at the close
 * deadline). A failed attempt discards the producer: the next one opens fresh connections with a new
 * producer id, so the sequence numbers of a batch that may or may not have landed cannot wedge the
 * idempotent producer.
 *
 * @throws ReclabError RECLAB_ERR_CONFIG_INVALID (constructor) when `spoolDir` cannot be created or
 *   read, or a spool bound is not positive; RangeError for a non-positive policy bound.
 */
export class KafkaDeliveryLog<T> {
  readonly #clock: Clock;
  readonly #o: Required<Omit<KafkaDeliveryLogOptions, 'spoolDir'>>;
  readonly #toMessage: (record: T) => SpoolMessage;
  readonly #policy: DeliveryPolicy;
  readonly #spool: DiskSpool | undefined;
  readonly #buffer: Entry<T>[] = [];
  #producer: Producer<string, string, string, string> | undefined;
  #published = 0;
  #replayed = 0;
  #refused = 0;
  #lost = 0;
  #spoolErrors = 0;
  #loop: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #wakeOnOffer = false;
  /** Ends the attempt in flight as failed (set while one runs). */
  #abortAttempt: (() => void) | undefined;

  constructor(opts: KafkaDeliveryLogOptions, clock: Clock, toMessage: (record: T) => SpoolMessage) {
    const { spoolDir, ...rest } = opts;
    this.#o = {
      batchMax: 500,
      batchMaxBytes: 512 * 1024, // 512 KiB, half of Kafka's default message.max.bytes
      retryDelayMs: 200,
      retryDelayMaxMs: 1000,
      connectionTimeoutMs: 1000,
      requestTimeoutMs: 3000,
      sendTimeoutMs: 5000,
      spoolMaxBytes: 256 * 1024 * 1024, // 256 MiB
      spoolSegmentMaxBytes: 4 * 1024 * 1024, // 4 MiB
      spoolFsyncIntervalMs: 1000,
      spoolAfterFailureMs: 1000,
      spoolHighWater: Math.max(1, Math.floor(opts.bufferMax / 2)),
      wakeOnEveryOffer: false,
      ...rest,
    };
    this.#clock = clock;
    this.#toMessage = toMessage;
    this.#policy = new DeliveryPolicy(
      {
        bufferMax: this.#o.bufferMax,
        batchMax: this.#o.batchMax,
        batchMaxBytes: this.#o.batchMaxBytes,
        retryDelayMs: this.#o.retryDelayMs,
        retryDelayMaxMs: this.#o.retryDelayMaxMs,
        hasSpool: spoolDir !== undefined,
        spoolAfterFailureMs: this.#o.spoolAfterFailureMs,
        spoolHighWater: this.#o.spoolHighWater,
      },
      clock,
    );
    this.#spool =
      spoolDir === undefined
        ? undefined
        : new DiskSpool(
            {
              dir: spoolDir,
              maxBytes: this.#o.spoolMaxBytes,
              segmentMaxBytes: this.#o.spoolSegmentMaxBytes,
              fsyncIntervalMs: this.#o.spoolFsyncIntervalMs,
              label: this.#o.label,
            },
            clock,
          );
  }

  /**
   * Appends `records` to memory, all or none; `waiter` (optional) hears what becomes of them.
   * @returns false when refused (memory holds `bufferMax`, or the log is closing): nothing was taken
   */
  offer(records: readonly T[], waiter?: DeliveryWaiter): boolean {
    if (!this.#policy.admit(this.#buffer.length, records.length)) {
      this.#refused += records.length;
      return false;
    }
    for (const record of records) this.#buffer.push({ record, waiter });
    if (this.#wakeOnOffer) this.#wake?.();
    return true;
  }

  /** Whether records offered now can become durable without waiting for Kafka (see DeliveryPolicy). */
  canBecomeDurable(): boolean {
    return this.#policy.canBecomeDurable(this.#state());
  }

  /** Whether the log has a disk spool. */
  get hasSpool(): boolean {
    return this.#spool !== undefined;
  }

  /** The pause the policy would take now after a failure, ms: a hint for a refused caller's retry. */
  get retryDelayMs(): number {
    return this.#policy.retryDelayMs;
  }

  /** True once `close` was called. */
  get closed(): boolean {
    return this.#policy.closed;
  }

  stats(): DeliveryLogStats {
    const spoolPending = this.#spool?.records ?? 0;
    return {
      pending: this.#buffer.length + spoolPending,
      published: this.#published,
      refused: this.#refused,
      lost: this.#lost + (this.#spool?.corrupt ?? 0),
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
   * Refuses new records, delivers what is pending for up to `timeoutMs` (the attempt in flight is
   * cut at that deadline too), then spills what memory still holds to the spool for the next
   * process, or counts it `lost` (with waiters told) without a spool or room in it, and closes the
   * producer. Idempotent. Takes at most `timeoutMs` plus a spool write and one second for sockets.
   */
  close(timeoutMs: number): Promise<void> {
    this.#closing ??= this.#close(timeoutMs);
    return this.#closing;
  }

  async #close(timeoutMs: number): Promise<void> {
    this.#policy.close(timeoutMs);
    const cancelAbort = this.#clock.setTimer(Math.max(0, timeoutMs), () => this.#abortAttempt?.());
    this.#wake?.();
    this.start();
    await this.#loop;
    cancelAbort();
    const left = this.#buffer.splice(0);
    this.#lost += left.length;
    for (const e of left) e.waiter?.lost(1);
    if (this.#spool !== undefined) {
      await this.#spool.close().catch(() => {
        this.#spoolErrors++;
      });
    }
    await this.#discardProducer();
  }

  async #run(): Promise<void> {
    for (;;) {
      const action: DeliveryAction = this.#policy.next(this.#state());
      switch (action.kind) {
        case 'done':
          return;
        case 'wait':
          await this.#pause(action.delayMs);
          break;
        case 'spill':
          await this.#spill();
          this.#notifyStalled();
          break;
        case 'send':
          await this.#sendNext(action.from, action.deadlineMs);
          this.#notifyStalled();
          break;
      }
    }
  }

  /** Tells the waiters of records in memory when those cannot become durable before Kafka is back. */
  #notifyStalled(): void {
    if (this.#buffer.length === 0 || this.#policy.canBecomeDurable(this.#state())) return;
    let last: DeliveryWaiter | undefined;
    for (const e of this.#buffer) {
      if (e.waiter !== undefined && e.waiter !== last) e.waiter.stalled?.();
      last = e.waiter;
    }
  }

  #state(): DeliveryState {
    return {
      buffered: this.#buffer.length,
      spoolRecords: this.#spool?.records ?? 0,
      spoolBytes: this.#spool?.bytes ?? 0,
    };
  }

  async #sendNext(from: 'spool' | 'memory', deadlineMs: number): Promise<void> {
    let messages: SpoolMessage[];
    if (from === 'spool') {
      try {
        messages = await this.#spool!.peek(this.#o.batchMax);
      } catch {
        this.#spoolErrors++;
        await this.#pause(this.#o.retryDelayMaxMs);
        return;
      }
      if (messages.length === 0) return; // the segment's lines were unreadable: next step
    } else {
      messages = this.#buffer.slice(0, this.#o.batchMax).map((e) => this.#toMessage(e.record));
    }
    const n = this.#policy.batchSize(
      messages.map((m) => Buffer.byteLength(m.key) + Buffer.byteLength(m.value)),
    );
    if (!(await this.#send(messages.slice(0, n), Math.min(this.#o.sendTimeoutMs, deadlineMs)))) {
      this.#policy.failed(); // the policy's next step is the backoff pause
      return;
    }
    this.#policy.sent();
    this.#published += n;
    if (from === 'spool') {
      await this.#spool!.ack(n).catch(() => {
        this.#spoolErrors++;
      });
      this.#replayed += n;
    } else {
      for (const e of this.#buffer.splice(0, n)) e.waiter?.durable(1);
    }
  }

  /** Moves what memory holds now to the spool, oldest first, in chunks, as many as fit. */
  async #spill(): Promise<void> {
    const spool = this.#spool!;
    let left = this.#buffer.length;
    let written = 0;
    try {
      while (left > 0) {
        const chunk = this.#buffer.slice(0, Math.min(SPILL_CHUNK, left));
        const n = await spool.append(chunk.map((e) => this.#toMessage(e.record).value));
        for (const e of this.#buffer.splice(0, n)) e.waiter?.durable(1);
        written += n;
        left -= n;
        if (n < chunk.length) break;
      }
    } catch {
      this.#spoolErrors++;
      this.#policy.spillFailed();
      return;
    }
    this.#policy.spilled(written, written + left, spool.bytes);
  }

  /** One attempt, cut at `deadlineMs`: resolves true once Kafka acknowledged every message. */
  async #send(messages: SpoolMessage[], deadlineMs: number): Promise<boolean> {
    this.#producer ??= new Producer({
      clientId: this.#o.clientId,
      bootstrapBrokers: this.#o.brokers,
      serializers: stringSerializers,
      idempotent: true, // implies acks = all and one request in flight
      autocreateTopics: true,
      connectTimeout: this.#o.connectionTimeoutMs,
      requestTimeout: this.#o.requestTimeoutMs,
      // An idempotent producer turns retries ≤ 1 into "forever"; 2 keeps each attempt short.
      retries: 2,
      retryDelay: 100,
    });
    const producer = this.#producer;
    const ok = await new Promise<boolean>((resolve) => {
      const cancel = this.#clock.setTimer(Math.max(0, deadlineMs), () => resolve(false));
      this.#abortAttempt = () => {
        cancel();
        resolve(false);
      };
      producer
        .send({ messages: messages.map((m) => ({ topic: this.#o.topic, key: m.key, value: m.value })) })
        .then(
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
    this.#abortAttempt = undefined;
    // Closing a failed producer also ends its pending retries (the client cancels them on close).
    if (!ok) void this.#discardProducer();
    return ok;
  }

  async #discardProducer(): Promise<void> {
    const producer = this.#producer;
    this.#producer = undefined;
    if (producer === undefined) return;
    await new Promise<void>((resolve) => {
      const cancel = this.#clock.setTimer(PRODUCER_CLOSE_MS, resolve);
      forceClose(producer)
        .catch(() => {})
        .finally(() => {
          cancel();
          resolve();
        });
    });
  }

  /** Waits `delayMs`, or (undefined) until the next `offer`; `close` ends either wait. */
  #pause(delayMs: number | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      let cancel = (): void => {};
      const done = (): void => {
        cancel();
        this.#wake = undefined;
        this.#wakeOnOffer = false;
        resolve();
      };
      this.#wake = done;
      this.#wakeOnOffer = delayMs === undefined || this.#o.wakeOnEveryOffer;
      if (delayMs !== undefined) cancel = this.#clock.setTimer(delayMs, done);
    });
  }
}
