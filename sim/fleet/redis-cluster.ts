import type { EventScheduler } from '../engine/scheduler.ts';
import type { Sampler } from './distributions.ts';
import { FifoServer } from './fifo-server.ts';
import { HEALTHY, type Health } from './health.ts';

/** Redis Cluster's hash-slot count. */
const SLOTS = 16_384;

/** Stands for the loader's marker key in the slot mix (any fixed value: one fixed shard). */
const MARKER_KEY_HASH = 0x6d61726b; // 'mark'

/** Error a call to a down shard reports (ioredis with the offline queue off fails at once). */
export const REDIS_DOWN = new Error('connection refused');

/**
 * A reply: `err` for a failed call; otherwise `missingKeys`, how many of the keys asked for the
 * shard no longer holds (a shard restarted empty answers every read with nothing).
 */
export type RedisReply = (err: Error | undefined, missingKeys?: number) => void;

/**
 * Redis shards, each a single-threaded FIFO server with a per-command and per-key service time,
 * reached over a network round trip. Keys route by hash slot: slot = hash(key) mod 16384, and the
 * slots split into equal contiguous ranges, one per shard (Redis Cluster's layout). A user key's
 * slot comes from its user index through a 32-bit integer mix standing in for CRC16: only which
 * shard a key lands on matters here, and that is uniform either way.
 *
 * A multi-key read of candidates' records (MGET) is split per shard, as a cluster client must;
 * the candidates' keys are spread evenly over the shards (the video ids are not modelled).
 *
 * Data is one bit per shard: `empty[i]` once shard i restarted without its data (fault
 * `restart_empty`); its reads then answer on time with every key missing. The loader's marker key
 * (`loadMarker`, which tells a new user from lost data) lives on `markerShard`.
 */
export class RedisCluster {
  readonly shards: FifoServer[];
  readonly health: Health[];
  /** Shard i lost its data (restarted empty; nothing reloads it during a run). */
  readonly empty: boolean[];
  /** The shard holding the loader's marker key (a fixed key: one fixed slot). */
  readonly markerShard: number;
  readonly #scheduler: EventScheduler;
  readonly #rtt: Sampler;
  readonly #command: Sampler;
  readonly #perKeyUs: number;
  /** Uniform [0, 1) draws for latency jitter (read only while a shard has jitter). */
  readonly #uniform: (() => number) | undefined;

  constructor(
    scheduler: EventScheduler,
    shards: number,
    samplers: { rtt: Sampler; command: Sampler; uniform?: () => number },
    perKeyUs: number,
  ) {
    this.#uniform = samplers.uniform;
    this.#scheduler = scheduler;
    this.shards = Array.from({ length: shards }, () => new FifoServer());
    this.health = Array.from({ length: shards }, () => ({ ...HEALTHY }));
    this.empty = Array.from({ length: shards }, () => false);
    this.markerShard = this.shardOfUser(MARKER_KEY_HASH);
    this.#rtt = samplers.rtt;
    this.#command = samplers.command;
    this.#perKeyUs = perKeyUs;
  }

  /** The shard that holds user `userIdx`'s keys (any 32-bit integer standing for a key). */
  shardOfUser(userIdx: number): number {
    let h = Math.imul(userIdx ^ (userIdx >>> 16), 0x45d9f3b);
    h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
    const slot = ((h ^ (h >>> 16)) >>> 0) % SLOTS;
    return Math.floor((slot * this.shards.length) / SLOTS);
  }

  /**
   * One command of `keys` keys to `shard`; `done(err, missingKeys)` at the moment the reply reaches
   * the replica (never, for a hung shard). Whether the keys are there is decided when the shard is
   * sent the command.
   */
  command(shard: number, keys: number, done: RedisReply): void {
    const s = this.#scheduler;
    const h = this.health[shard];
    const rtt = this.#rtt() + this.#extraUs(h);
    if (h.state === 'down') {
      s.post(s.nowUs + rtt, () => done(REDIS_DOWN));
      return;
    }
    if (h.state === 'hang') return;
    const service = (this.#command() + this.#perKeyUs * keys) * h.slowFactor;
    const end = this.shards[shard].submit(s.nowUs + rtt / 2, service);
    if (this.empty[shard]) s.post(end + rtt / 2, () => done(undefined, keys));
    else s.post(end + rtt / 2, () => done(undefined));
  }

  /**
   * A read of `keys` keys spread evenly over the shards, one command per shard; `done` once every
   * part has answered. Each part's reply time is known when it is sent (FIFO shards), so the
   * whole read costs one scheduler event, at the last reply: what keeps a 24-shard MGET as cheap to
   * simulate as a one-shard one. A down shard fails the read after its round trip; a hung one
   * never answers; an empty one's keys come back missing.
   */
  spreadRead(keys: number, done: RedisReply): void {
    const s = this.#scheduler;
    const now = s.nowUs;
    const parts = Math.min(this.shards.length, keys);
    const base = Math.floor(keys / parts);
    const extra = keys - base * parts;
    let lastUs = now;
    let failAtUs = Number.POSITIVE_INFINITY;
    let missing = 0;
    for (let i = 0; i < parts; i++) {
      const h = this.health[i];
      if (h.state === 'hang') return;
      const rtt = this.#rtt() + this.#extraUs(h);
      if (h.state === 'down') {
        if (now + rtt < failAtUs) failAtUs = now + rtt;
        continue;
      }
      const partKeys = base + (i < extra ? 1 : 0);
      if (this.empty[i]) missing += partKeys;
      const service = (this.#command() + this.#perKeyUs * partKeys) * h.slowFactor;
      const replyUs = this.shards[i].submit(now + rtt / 2, service) + rtt / 2;
      if (replyUs > lastUs) lastUs = replyUs;
    }
    if (failAtUs !== Number.POSITIVE_INFINITY) s.post(failAtUs, () => done(REDIS_DOWN));
    else if (missing > 0) s.post(lastUs, () => done(undefined, missing));
    else s.post(lastUs, () => done(undefined));
  }

  /** Added round-trip time of a shard in `h`: its latency ± uniform jitter, never below 0. */
  #extraUs(h: Health): number {
    if (!h.jitterUs || !this.#uniform) return h.extraLatencyUs;
    return Math.max(0, h.extraLatencyUs + (2 * this.#uniform() - 1) * h.jitterUs);
  }

  /** Applies `health` to `count` shards, the first ones (a fault on part of the cluster). */
  setHealth(count: number, health: Health): void {
    for (let i = 0; i < Math.min(count, this.health.length); i++) this.health[i] = { ...health };
  }

  /** Empties the first `count` shards (a restart without the data; it stays lost). */
  loseData(count: number): void {
    for (let i = 0; i < Math.min(count, this.empty.length); i++) this.empty[i] = true;
  }
}
