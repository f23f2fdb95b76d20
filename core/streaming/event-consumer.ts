import type { Redis } from 'ioredis';
import { type Consumer, type EachBatchPayload, Kafka, logLevel } from 'kafkajs';
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
  /** Most messages applied per Redis pipeline; a Kafka batch is cut into such chunks; default 500. */
  chunkSize?: number;
  /** Partitions processed concurrently = most Redis pipelines in flight; default 2. */
  maxInFlightPipelines?: number;
  /** Trending window (minutes merged), default 10; half-life of the merge weights (minutes), default 3. */
  trendingWindowMinutes?: number;
  trendingHalfLifeMinutes?: number;
  /** Period of the trending merge (ZUNIONSTORE of the per-minute sets), ms; default 5000. */
  trendingRefreshMs?: number;
  /** Members kept in each merged trending set; default 1000. */
  trendingMaxSize?: number;
  /** Longest wait of a fetch when the topic is idle, ms (bounds stop latency); default 500. */
  maxWaitTimeMs?: number;
  /** kafkajs client id; default `reclab-streaming`. */
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
  /** Kafka batches handled. */
  batches: number;
  /** Failed batch attempts (Redis errors); kafkajs re-delivers from the last resolved offset. */
  errors: number;
  /** Messages behind the high watermark, summed over partitions, as of each partition's last batch (gauge). */
  lag: number;
  /** Trending merges done / failed. */
  trendingRefreshes: number;
  trendingErrors: number;
  /** Clock time of the last applied chunk, ms since epoch (0 = none yet). */
  lastAppliedMs: number;
}

/** View-count hashes live 2 h after their last write: the 1 h window needs the previous hour too. */
const VIEW_COUNT_TTL_S = 2 * 3600;

/**
 * The streaming-features consumer (ARCHITECTURE.md "Streaming features"; seed 000 §2.3 real-time
 * and near-real-time tiers). Reads topic `events` in a consumer group with kafkajs `eachBatch`,
 * and per chunk of ≤ `chunkSize` messages does two pipelined round trips to Redis:
 *
 * 1. claim: `SET rt:ev:<event_id> 1 NX EX dedupeTtlS` per event — already-claimed ids are skipped;
 * 2. apply (aggregated within the chunk, one command per distinct key/field):
 *    - `watch`: `LPUSH rt:rw:<user> v…` + `LTRIM 0 N-1` + `EXPIRE` (last N watched);
 *      `HINCRBY rt:vc:<video>:<hour> <minute> k` + `EXPIRE 2h` (per-minute view buckets);
 *      `ZINCRBY rt:tr:{g}:<minute> k <video>` and `rt:tr:{r<i>}:<minute>` + `EXPIRE` (trending input);
 *    - every type: `HINCRBY rt:sess:<user> <type> k`, `HSETNX … start <ms>`, `EXPIRE sessionTtlS`.
 *
 * then resolves the chunk's last offset, heartbeats and commits if due. If the apply fails the
 * claims are released (DEL, best effort) and the error goes to kafkajs, which re-delivers from the
 * last resolved offset: delivery is at-least-once, the dedupe marks make it effectively once for
 * redeliveries within `dedupeTtlS`; a chunk that failed half-way may double-count some counters.
 *
 * Every `trendingRefreshMs` a timer merges the last `trendingWindowMinutes` per-minute sets into
 * `rt:tr:{g}` and `rt:tr:{r<i>}` (ZUNIONSTORE with weights 2^(-age/halfLife), normalised; then
 * trimmed to `trendingMaxSize`), in one MULTI per set. Keys of one set share a hash tag, so the
 * merge works on Redis Cluster. Event time decides buckets (a replay after an outage does not fake
 * a burst); timestamps ahead of the clock count as now; events older than a window skip it.
 *
 * Bounds: fetch size (kafkajs maxBytesPerPartition, 1 MB), ≤ `chunkSize` messages per pipeline,
 * ≤ `maxInFlightPipelines` partitions (so pipelines) at once, plus at most one trending merge.
 */
export class EventConsumer {
  readonly #redis: Redis;
  readonly #clock: Clock;
  readonly #consumer: Consumer;
  readonly #o: Required<Omit<EventConsumerOptions, 'brokers' | 'clientId'>>;
  readonly #weights: number[];
  readonly #lagByPartition = new Map<number, number>();
  #stats: Omit<EventConsumerStats, 'lag' | 'running'> = {
    processed: 0,
    invalid: 0,
    duplicates: 0,
    late: 0,
    batches: 0,
    errors: 0,
    trendingRefreshes: 0,
    trendingErrors: 0,
    lastAppliedMs: 0,
  };
  #running = false;
  #stopping: Promise<void> | undefined;
  #cancelRefresh: (() => void) | undefined;
  #refreshing: Promise<void> | undefined;
  #cancelJoinTimer: (() => void) | undefined;

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
      maxInFlightPipelines: opts.maxInFlightPipelines ?? 2,
      trendingWindowMinutes: opts.trendingWindowMinutes ?? 10,
      trendingHalfLifeMinutes: opts.trendingHalfLifeMinutes ?? 3,
      trendingRefreshMs: opts.trendingRefreshMs ?? 5000,
      trendingMaxSize: opts.trendingMaxSize ?? 1000,
      maxWaitTimeMs: opts.maxWaitTimeMs ?? 500,
    };
    this.#weights = trendingWeights(this.#o.trendingWindowMinutes, this.#o.trendingHalfLifeMinutes);
    const kafka = new Kafka({
      clientId: opts.clientId ?? 'reclab-streaming',
      brokers: opts.brokers,
      logLevel: logLevel.NOTHING,
      retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5000 },
    });
    this.#consumer = kafka.consumer({
      groupId: this.#o.groupId,
      maxWaitTimeInMs: this.#o.maxWaitTimeMs,
      sessionTimeout: 30_000,
      heartbeatInterval: 3000,
      allowAutoTopicCreation: true,
    });
  }

  /**
   * Connects, subscribes and starts consuming; resolves once this member has joined the group (so
   * partitions are assigned), or after `joinTimeoutMs` (default 30 000) with consumption still
   * starting in the background. Starts the trending merge timer.
   */
  async start(joinTimeoutMs = 30_000): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    const joined = new Promise<void>((resolve) => {
      const off = this.#consumer.on(this.#consumer.events.GROUP_JOIN, () => {
        off();
        resolve();
      });
      const cancel = this.#clock.setTimer(joinTimeoutMs, resolve);
      this.#cancelJoinTimer = cancel;
    });
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topics: [this.#o.topic], fromBeginning: this.#o.fromBeginning });
    await this.#consumer.run({
      eachBatchAutoResolve: false,
      autoCommitInterval: 1000,
      partitionsConsumedConcurrently: this.#o.maxInFlightPipelines,
      eachBatch: (payload) => this.#eachBatch(payload),
    });
    this.#scheduleRefresh();
    await joined;
    this.#cancelJoinTimer?.();
  }

  /**
   * Stops fetching, lets the batch in hand finish its chunk, commits resolved offsets, disconnects
   * from Kafka and stops the trending timer (an in-flight merge is awaited). Idempotent; an instance
   * is not restartable (make a new one). Does not close the Redis client (the caller owns it).
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#running = false;
      this.#cancelRefresh?.();
      // disconnect() = stop() (waits for the running eachBatch, commits resolved offsets) + leave group.
      await this.#consumer.disconnect();
      await this.#refreshing;
    })();
    return this.#stopping;
  }

  stats(): EventConsumerStats {
    let lag = 0;
    for (const l of this.#lagByPartition.values()) lag += l;
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

  async #eachBatch(p: EachBatchPayload): Promise<void> {
    const { batch } = p;
    this.#stats.batches++;
    const msgs = batch.messages;
    for (let i = 0; i < msgs.length; i += this.#o.chunkSize) {
      if (!p.isRunning() || p.isStale()) break;
      const chunk = msgs.slice(i, i + this.#o.chunkSize);
      const events: StreamEvent[] = [];
      for (const m of chunk) {
        const r = decodeEvent(m.value);
        if (r.ok) events.push(r.event);
        else this.#stats.invalid++;
      }
      try {
        await this.#apply(events);
      } catch (err) {
        this.#stats.errors++;
        throw err; // kafkajs retries the batch from the last resolved offset
      }
      const last = chunk[chunk.length - 1].offset;
      p.resolveOffset(last);
      const lag = Number(batch.highWatermark) - Number(last) - 1;
      this.#lagByPartition.set(batch.partition, Math.max(0, lag));
      await p.heartbeat();
      await p.commitOffsetsIfNecessary();
    }
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
