import {
  Consumer,
  type Message,
  type MessagesStream,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
} from '@platformatic/kafka';
import type { Redis } from 'ioredis';
import { forceClose } from '../adapters/kafka/force-close.ts';
import { keys } from '../adapters/redis/keys.ts';
import { NUM_REGIONS } from '../features/schema.ts';
import type { Clock } from '../ports/clock.ts';
import { decodeEvent, regionIndexOf, type StreamEvent } from './events.ts';
import { epochMinute, HOUR_MS, hourOfMinute, MINUTE_MS, trendingWeights } from './windows.ts';

/** Options of {@link EventConsumer}; every field but `brokers` has a default. */
export interface EventConsumerOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: string[];
  /** Topic; default `events`. */
  topic?: string;
  /** Consumer group; default `reclab-streaming`. Several processes in one group share partitions. */
  groupId?: string;
  /** Where a group without committed offsets starts: true = earliest, false (default) = latest. */
  fromBeginning?: boolean;
  /** Length of the per-user recent-watch list; default 50. */
  recentN?: number;
  /** TTL of the recent-watch list after its last write, s; default 30 days. */
  recentTtlS?: number;
  /** Session inactivity timeout (TTL of the session hash after its last event), s; default 1800. */
  sessionTtlS?: number;
  /** TTL of the `event_id` dedupe marks, s; default 600 (covers redelivery after a crash/rebalance). */
  dedupeTtlS?: number;
  /** Most messages applied per Redis pipeline (one chunk); default 500. */
  chunkSize?: number;
  /** Trending window (minutes merged), default 10; half-life of the merge weights (minutes), default 3. */
  trendingWindowMinutes?: number;
  trendingHalfLifeMinutes?: number;
  /** Period of the trending merge (ZUNIONSTORE of the per-minute sets), ms; default 5000. */
  trendingRefreshMs?: number;
  /** Members kept in each merged trending set; default 1000. */
  trendingMaxSize?: number;
  /** Longest wait of a fetch when the topic is idle, ms; default 500. */
  maxWaitTimeMs?: number;
  /** How often applied offsets are committed, ms (and always on stop); default 1000. */
  commitIntervalMs?: number;
  /** Pause before re-creating the fetch stream after a Kafka error, or retrying a failed apply, ms; default 1000. */
  retryDelayMs?: number;
  /** Bound of `stop()`, ms: chunk in hand, commit, leave the group; default 5000. */
  stopTimeoutMs?: number;
  /** Kafka client id; default `reclab-streaming`. */
  clientId?: string;
}

/** Counters of {@link EventConsumer} (monotonic unless noted). */
export interface EventConsumerStats {
  /** Whether the consumer is running (started and not stopped). */
  running: boolean;
  /** Valid events applied to Redis. */
  processed: number;
  /** Messages dropped as invalid (RECLAB_ERR_EVENT_INVALID: bad JSON or schema). */
  invalid: number;
  /** Events skipped because their `event_id` was already applied (redelivery). */
  duplicates: number;
  /** Events whose timestamps were too old for the 1 h counters/trending (still applied to lists/sessions). */
  late: number;
  /** Chunks of messages applied. */
  batches: number;
  /** Failed apply attempts (Redis errors); the chunk is applied again after `retryDelayMs`. */
  errors: number;
  /** Fetch streams lost to Kafka errors (outage, rebalance failure) and re-created. */
  streamErrors: number;
  /** Offset commits that failed (the messages are redelivered and deduplicated). */
  commitErrors: number;
  /** Messages behind the partitions' end offsets (gauge; end offsets re-read every `trendingRefreshMs`). */
  lag: number;
  /** Trending merges done / failed. */
  trendingRefreshes: number;
  trendingErrors: number;
  /** Clock time of the last applied chunk, ms since epoch (0 = none yet). */
  lastAppliedMs: number;
}

/** View-count hashes live 2 h after their last write: the 1 h window needs the previous hour too. */
const VIEW_COUNT_TTL_S = 2 * 3600;
/** Most bytes one fetch returns (over all partitions, and per partition). */
const FETCH_MAX_BYTES = 1024 * 1024; // 1 MiB
/** Most messages the fetch stream buffers ahead of the chunk being applied. */
const FETCH_BUFFER_MESSAGES = 1024;

/**
 * The streaming-features consumer (ARCHITECTURE.md "Streaming features"; seed 000 §2.3 real-time
 * and near-real-time tiers). Reads topic `events` in a consumer group (@platformatic/kafka, one
 * fetch stream, offsets committed by hand) and applies chunks of ≤ `chunkSize` messages — what the
 * stream holds when the previous chunk is done — in two pipelined round trips to Redis:
 *
 * 1. claim: `SET rt:ev:<event_id> 1 NX EX dedupeTtlS` per event — already-claimed ids are skipped;
 * 2. apply (aggregated within the chunk, one command per distinct key/field):
 *    - `watch`: `LPUSH rt:rw:<user> v…` + `LTRIM 0 N-1` + `EXPIRE` (last N watched);
 *      `HINCRBY rt:vc:<video>:<hour> <minute> k` + `EXPIRE 2h` (per-minute view buckets);
 *      `ZINCRBY rt:tr:{g}:<minute> k <video>` and `rt:tr:{r<i>}:<minute>` + `EXPIRE` (trending input);
 *    - every type: `HINCRBY rt:sess:<user> <type> k`, `HSETNX … start <ms>`, `EXPIRE sessionTtlS`.
 *
 * Commit guarantee (at-least-once): an offset is committed only after its chunk was applied, every
 * `commitIntervalMs` and on stop. If the apply fails the claims are released (DEL, best effort) and
 * the same chunk is applied again after `retryDelayMs`, until it succeeds or the consumer stops
 * (then it is redelivered to the next member from the last commit). If Kafka fails, the fetch stream
 * is re-created after `retryDelayMs` from the last committed offsets. The dedupe marks make any
 * redelivery within `dedupeTtlS` effectively once; a chunk that failed half-way may double-count
 * some counters.
 *
 * Every `trendingRefreshMs` a timer merges the last `trendingWindowMinutes` per-minute sets into
 * `rt:tr:{g}` and `rt:tr:{r<i>}` (ZUNIONSTORE with weights 2^(-age/halfLife), normalised; then
 * trimmed to `trendingMaxSize`), in one MULTI per set. Keys of one set share a hash tag, so the
 * merge works on Redis Cluster. Event time decides buckets (a replay after an outage does not fake
 * a burst); timestamps ahead of the clock count as now; events older than a window skip it.
 *
 * Bounds: one fetch ≤ 1 MiB, ≤ `FETCH_BUFFER_MESSAGES` messages buffered in the stream, one chunk
 * (so one pair of pipelines) at a time, at most one trending merge, and `stop()` ≤ `stopTimeoutMs`.
 */
export class EventConsumer {
  readonly #redis: Redis;
  readonly #clock: Clock;
  readonly #consumer: Consumer;
  readonly #o: Required<Omit<EventConsumerOptions, 'brokers' | 'clientId'>>;
  readonly #weights: number[];
  /** Per partition: the offset after the last applied message, and the partition's end offset. */
  readonly #applied = new Map<number, bigint>();
  readonly #endOffsets = new Map<number, bigint>();
  /** Per partition, the last applied message whose offset is not committed yet. */
  readonly #toCommit = new Map<number, Message<Buffer, Buffer, Buffer, Buffer>>();
  #stats: Omit<EventConsumerStats, 'lag' | 'running'> = {
    processed: 0,
    invalid: 0,
    duplicates: 0,
    late: 0,
    batches: 0,
    errors: 0,
    streamErrors: 0,
    commitErrors: 0,
    trendingRefreshes: 0,
    trendingErrors: 0,
    lastAppliedMs: 0,
  };
  #running = false;
  #loop: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #cancelRefresh: (() => void) | undefined;
  #refreshing: Promise<void> | undefined;
  #lastCommitAt = 0;
  /** Wakes the loop when it waits for messages or a retry delay (`stop` uses it). */
  #wake: (() => void) | undefined;
  /** Called on the fetch stream's events while the loop waits for messages. */
  #notify: (() => void) | undefined;

  constructor(opts: EventConsumerOptions, redis: Redis, clock: Clock) {
    this.#redis = redis;
    this.#clock = clock;
    this.#o = {
      topic: opts.topic ?? 'events',
      groupId: opts.groupId ?? 'reclab-streaming',
      fromBeginning: opts.fromBeginning ?? false,
      recentN: opts.recentN ?? 50,
      recentTtlS: opts.recentTtlS ?? 30 * 86_400,
      sessionTtlS: opts.sessionTtlS ?? 1800,
      dedupeTtlS: opts.dedupeTtlS ?? 600,
      chunkSize: opts.chunkSize ?? 500,
      trendingWindowMinutes: opts.trendingWindowMinutes ?? 10,
      trendingHalfLifeMinutes: opts.trendingHalfLifeMinutes ?? 3,
      trendingRefreshMs: opts.trendingRefreshMs ?? 5000,
      trendingMaxSize: opts.trendingMaxSize ?? 1000,
      maxWaitTimeMs: opts.maxWaitTimeMs ?? 500,
      commitIntervalMs: opts.commitIntervalMs ?? 1000,
      retryDelayMs: opts.retryDelayMs ?? 1000,
      stopTimeoutMs: opts.stopTimeoutMs ?? 5000,
    };
    this.#weights = trendingWeights(this.#o.trendingWindowMinutes, this.#o.trendingHalfLifeMinutes);
    this.#consumer = new Consumer({
      clientId: opts.clientId ?? 'reclab-streaming',
      groupId: this.#o.groupId,
      bootstrapBrokers: opts.brokers,
      autocommit: false,
      maxWaitTime: this.#o.maxWaitTimeMs,
      maxBytes: FETCH_MAX_BYTES,
      maxBytesPerPartition: FETCH_MAX_BYTES,
      highWaterMark: FETCH_BUFFER_MESSAGES,
      sessionTimeout: 30_000,
      heartbeatInterval: 3000,
      autocreateTopics: true,
      connectTimeout: 1000,
      requestTimeout: 5000,
      retries: 3,
      retryDelay: 500,
    });
  }

  /**
   * Joins the group and starts consuming; resolves once this member has its partitions (the first
   * fetch stream exists), or after `joinTimeoutMs` (default 30 000) with the join still going on in
   * the background (Kafka may be starting). Starts the trending merge timer. Never rejects.
   */
  async start(joinTimeoutMs = 30_000): Promise<void> {
    if (this.#running || this.#stopping) return;
    this.#running = true;
    let joined = (): void => {};
    const join = new Promise<void>((resolve) => {
      joined = resolve;
    });
    this.#loop = this.#run(joined);
    this.#scheduleRefresh();
    await this.#bounded(join, joinTimeoutMs);
  }

  /**
   * Stops fetching, lets the chunk in hand finish, commits what was applied, leaves the group and
   * closes the connections, and stops the trending timer (an in-flight merge is awaited); every step
   * is bounded so the whole takes at most about `stopTimeoutMs`, Kafka or Redis down included (what
   * was not committed is redelivered to the group's next member). Idempotent; an instance is not
   * restartable (make a new one). Does not close the Redis client (the caller owns it).
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      const budget = this.#o.stopTimeoutMs;
      this.#running = false;
      this.#cancelRefresh?.();
      this.#wake?.();
      await this.#bounded(this.#loop ?? Promise.resolve(), budget * 0.4);
      await this.#bounded(this.#commit(), budget * 0.2);
      const closed = await this.#bounded(
        forceClose(this.#consumer).then(
          () => true,
          () => false,
        ),
        budget * 0.3,
      );
      if (closed !== true) {
        // Leaving the group failed (Kafka down): close without it, so no retry timer or socket
        // outlives the consumer; the broker expires the member after its session timeout.
        this.#consumer.memberId = null;
        void forceClose(this.#consumer).catch(() => {});
      }
      await this.#bounded(this.#refreshing ?? Promise.resolve(), budget * 0.1);
    })();
    return this.#stopping;
  }

  stats(): EventConsumerStats {
    let lag = 0;
    for (const [partition, end] of this.#endOffsets) {
      const next = this.#applied.get(partition) ?? end;
      if (end > next) lag += Number(end - next);
    }
    return { running: this.#running, lag, ...this.#stats };
  }

  /**
   * Runs one trending merge now (the timer calls it every `trendingRefreshMs`); exposed for tests
   * and for an admin "refresh" hook.
   */
  async refreshTrending(): Promise<void> {
    const nowMin = epochMinute(this.#clock.now());
    const merge = (dest: string, minuteKey: (m: number) => string) => {
      const sources = this.#weights.map((_, age) => minuteKey(nowMin - age));
      return this.#redis
        .multi()
        .zunionstore(
          dest,
          sources.length,
          ...sources,
          'WEIGHTS',
          ...this.#weights.map(String),
          'AGGREGATE',
          'SUM',
        )
        .zremrangebyrank(dest, 0, -(this.#o.trendingMaxSize + 1))
        .exec();
    };
    const jobs = [merge(keys.trendingGlobal, keys.trendingGlobalMinute)];
    for (let r = 0; r < NUM_REGIONS; r++)
      jobs.push(merge(keys.trendingRegion(r), (m) => keys.trendingRegionMinute(r, m)));
    const results = await Promise.all(jobs);
    for (const res of results) {
      if (res === null) throw new Error('trending merge transaction aborted');
      for (const [err] of res) if (err) throw err;
    }
  }

  #scheduleRefresh(): void {
    if (!this.#running) return;
    this.#cancelRefresh = this.#clock.setTimer(this.#o.trendingRefreshMs, () => {
      if (!this.#running) return;
      void this.#refreshEndOffsets();
      this.#refreshing = this.refreshTrending()
        .then(() => {
          this.#stats.trendingRefreshes++;
        })
        .catch(() => {
          this.#stats.trendingErrors++;
        })
        .finally(() => {
          this.#refreshing = undefined;
          this.#scheduleRefresh();
        });
    });
  }

  /** The consume loop: a fetch stream, re-created after Kafka errors, until `stop`. */
  async #run(joined: () => void): Promise<void> {
    while (this.#running) {
      let stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>;
      try {
        stream = await this.#consumer.consume({
          topics: [this.#o.topic],
          mode: MessagesStreamModes.COMMITTED,
          fallbackMode: this.#o.fromBeginning
            ? MessagesStreamFallbackModes.EARLIEST
            : MessagesStreamFallbackModes.LATEST,
          autocommit: false,
        });
      } catch {
        this.#stats.streamErrors++;
        await this.#sleep(this.#o.retryDelayMs);
        continue;
      }
      joined();
      void this.#refreshEndOffsets();
      // Without a listener an 'error' event would crash the process; the loop sees it as the end.
      stream.on('error', () => {});
      const failed = await this.#drain(stream);
      if (failed) this.#stats.streamErrors++;
      await this.#commit();
      if (!stream.destroyed)
        await this.#bounded(
          stream.close().catch(() => {}),
          1000,
        );
      if (failed && this.#running) await this.#sleep(this.#o.retryDelayMs);
    }
  }

  /**
   * Applies chunks from `stream` until it ends or the consumer stops.
   * @returns true when the stream ended with a Kafka error (the caller re-creates it)
   */
  async #drain(stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>): Promise<boolean> {
    let error = false;
    const onError = (): void => {
      error = true;
      this.#notify?.();
    };
    const onEvent = (): void => this.#notify?.();
    stream.on('error', onError);
    stream.on('readable', onEvent);
    stream.on('end', onEvent);
    stream.on('close', onEvent);
    try {
      for (;;) {
        const chunk = await this.#nextChunk(stream);
        if (chunk === undefined) return error;
        if (!(await this.#applyUntilDone(chunk))) return false; // stopped with the chunk unapplied
        for (const m of chunk) {
          this.#toCommit.set(m.partition, m);
          this.#applied.set(m.partition, m.offset + 1n);
        }
        if (this.#clock.now() - this.#lastCommitAt >= this.#o.commitIntervalMs) await this.#commit();
      }
    } finally {
      stream.off('error', onError);
      stream.off('end', onEvent);
      stream.off('close', onEvent);
      // The 'readable' listener stays: the stream is closed next, and must not look unconsumed first.
    }
  }

  /**
   * Up to `chunkSize` messages the stream holds now; waits for the first; undefined once the stream
   * ended or on stop. The stream's listeners stay attached for its whole life (see #drain): removing
   * the last 'readable' listener would make Node call the stream unconsumed, and the client's fetch
   * loop would stop for good.
   */
  #nextChunk(
    stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>,
  ): Promise<Message<Buffer, Buffer, Buffer, Buffer>[] | undefined> {
    return new Promise((resolve) => {
      const finish = (chunk: Message<Buffer, Buffer, Buffer, Buffer>[] | undefined): void => {
        this.#notify = undefined;
        this.#wake = undefined;
        resolve(chunk);
      };
      const tryRead = (): void => {
        if (!this.#running || stream.destroyed || stream.readableEnded) {
          finish(undefined);
          return;
        }
        const chunk: Message<Buffer, Buffer, Buffer, Buffer>[] = [];
        for (let m = stream.read(); m !== null; m = chunk.length < this.#o.chunkSize ? stream.read() : null) {
          chunk.push(m as Message<Buffer, Buffer, Buffer, Buffer>);
        }
        if (chunk.length > 0) finish(chunk);
      };
      this.#notify = tryRead;
      this.#wake = () => finish(undefined);
      tryRead();
    });
  }

  /**
   * Decodes and applies one chunk, retrying after `retryDelayMs` while Redis fails.
   * @returns false when the consumer stopped before the chunk was applied
   */
  async #applyUntilDone(chunk: Message<Buffer, Buffer, Buffer, Buffer>[]): Promise<boolean> {
    this.#stats.batches++;
    const events: StreamEvent[] = [];
    let invalid = 0;
    for (const m of chunk) {
      const r = decodeEvent(m.value ?? null);
      if (r.ok) events.push(r.event);
      else invalid++;
    }
    for (;;) {
      try {
        await this.#apply(events);
        this.#stats.invalid += invalid;
        return true;
      } catch {
        this.#stats.errors++;
        if (!this.#running) return false;
        await this.#sleep(this.#o.retryDelayMs);
        if (!this.#running) return false;
      }
    }
  }

  /** Commits the offsets after the last applied message of each partition (failures are counted). */
  async #commit(): Promise<void> {
    this.#lastCommitAt = this.#clock.now();
    const pending = [...this.#toCommit.values()];
    this.#toCommit.clear();
    await Promise.all(
      pending.map(async (m) => {
        try {
          await m.commit();
        } catch {
          this.#stats.commitErrors++;
        }
      }),
    );
  }

  /** Re-reads the partitions' end offsets for `stats().lag` (best effort). */
  async #refreshEndOffsets(): Promise<void> {
    try {
      const offsets = await this.#consumer.listOffsets({ topics: [this.#o.topic] });
      (offsets.get(this.#o.topic) ?? []).forEach((end, partition) => {
        this.#endOffsets.set(partition, end);
      });
    } catch {
      // Kafka unavailable: the gauge keeps its last value.
    }
  }

  /** Waits `ms` on the clock; `stop` ends the wait early. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const cancel = this.#clock.setTimer(ms, () => {
        this.#wake = undefined;
        resolve();
      });
      this.#wake = () => {
        cancel();
        this.#wake = undefined;
        resolve();
      };
    });
  }

  /** `work`'s value, or undefined once `ms` passed first; never rejects (a rejection reads as undefined). */
  #bounded<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
    return new Promise((resolve) => {
      const cancel = this.#clock.setTimer(ms, () => resolve(undefined));
      work.then(
        (v) => {
          cancel();
          resolve(v);
        },
        () => {
          cancel();
          resolve(undefined);
        },
      );
    });
  }

  /** Claims event ids, then applies the fresh events in one pipeline (see the class docstring). */
  async #apply(events: StreamEvent[]): Promise<void> {
    if (events.length === 0) return;
    const claimKeys = events.map((e) => keys.eventSeen(e.event_id));
    const claim = this.#redis.pipeline();
    for (const k of claimKeys) claim.set(k, '1', 'EX', this.#o.dedupeTtlS, 'NX');
    const claimed = (await claim.exec()) ?? [];
    const fresh: StreamEvent[] = [];
    const freshKeys: string[] = [];
    for (let i = 0; i < events.length; i++) {
      const [err, res] = claimed[i] ?? [new Error('no reply'), null];
      if (err) throw err;
      if (res === 'OK') {
        fresh.push(events[i]);
        freshKeys.push(claimKeys[i]);
      } else {
        this.#stats.duplicates++;
      }
    }
    if (fresh.length === 0) return;
    try {
      await this.#write(fresh);
    } catch (err) {
      await this.#redis.del(...freshKeys).catch(() => {}); // let the redelivery apply them
      throw err;
    }
    this.#stats.processed += fresh.length;
    this.#stats.lastAppliedMs = this.#clock.now();
  }

  async #write(events: StreamEvent[]): Promise<void> {
    const now = this.#clock.now();
    const nowMin = epochMinute(now);
    const oldestCountMin = nowMin - 60; // the 1 h window reads minutes nowMin-60..nowMin
    const oldestTrendMin = nowMin - this.#o.trendingWindowMinutes + 1;
    const watches = new Map<string, string[]>(); // user → videos, oldest first
    const sessions = new Map<string, { counts: Map<string, number>; start: number }>();
    const buckets = new Map<string, Map<number, number>>(); // view-count key → minute → n
    const trend = new Map<string, Map<string, number>>(); // trending minute key → video → n
    const add = <K>(m: Map<K, number>, k: K, n = 1) => m.set(k, (m.get(k) ?? 0) + n);

    for (const e of events) {
      const ts = Math.min(e.timestamp_ms, now); // a client clock ahead of ours counts as now
      const s = getOr(sessions, e.user_id, () => ({ counts: new Map<string, number>(), start: ts }));
      add(s.counts, e.type);
      s.start = Math.min(s.start, ts);
      if (e.type !== 'watch') continue;
      getOr(watches, e.user_id, () => []).push(e.video_id);
      const minute = epochMinute(ts);
      if (minute < oldestCountMin) {
        this.#stats.late++;
        continue;
      }
      const vcKey = keys.viewCounts(e.video_id, hourOfMinute(minute));
      add(
        getOr(buckets, vcKey, () => new Map<number, number>()),
        minute,
      );
      if (minute < oldestTrendMin) continue;
      const tkeys = [keys.trendingGlobalMinute(minute)];
      const r = regionIndexOf(e.region);
      if (r !== undefined) tkeys.push(keys.trendingRegionMinute(r, minute));
      for (const tk of tkeys) {
        add(
          getOr(trend, tk, () => new Map<string, number>()),
          e.video_id,
        );
      }
    }

    const p = this.#redis.pipeline();
    for (const [user, videos] of watches) {
      const k = keys.recentWatches(user);
      p.lpush(k, ...videos); // the last pushed ends up at the head: newest first
      p.ltrim(k, 0, this.#o.recentN - 1);
      p.expire(k, this.#o.recentTtlS);
    }
    for (const [user, s] of sessions) {
      const k = keys.session(user);
      for (const [type, n] of s.counts) p.hincrby(k, type, n);
      p.hsetnx(k, 'start', String(Math.round(s.start)));
      p.expire(k, this.#o.sessionTtlS);
    }
    for (const [k, b] of buckets) {
      for (const [minute, n] of b) p.hincrby(k, String(minute), n);
      p.expire(k, VIEW_COUNT_TTL_S);
    }
    const trendTtlS = Math.ceil((this.#o.trendingWindowMinutes * MINUTE_MS + HOUR_MS / 60) / 1000);
    for (const [k, t] of trend) {
      for (const [video, n] of t) p.zincrby(k, n, video);
      p.expire(k, trendTtlS);
    }
    const res = (await p.exec()) ?? [];
    for (const [err] of res) if (err) throw err;
  }
}

/** The value at `key`, created with `make` and stored first when absent. */
function getOr<K, V>(m: Map<K, V>, key: K, make: () => V): V {
  let v = m.get(key);
  if (v === undefined) {
    v = make();
    m.set(key, v);
  }
  return v;
}
