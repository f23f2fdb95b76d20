import type { Clock } from '../ports/clock.ts';
import type { FeatureStore } from '../ports/feature-store.ts';

/** Bounds of the in-process L1 cache. `maxEntries` 0 or `ttlMs` 0 disables it (`withL1Cache`). */
export interface L1CacheOptions {
  /** Video records held at most (entries; least recently used evicted first). */
  maxEntries: number;
  /** How long a cached record is served after it was read from the store, ms. */
  ttlMs: number;
  /**
   * How long "no record for this video" is remembered, ms (default `min(ttlMs, 1000)`, never more
   * than `ttlMs`); 0 = unknown ids are asked of the store every time.
   */
  negativeTtlMs?: number;
}

/** Default of `L1CacheOptions.negativeTtlMs`, ms. */
export const L1_NEGATIVE_TTL_MS = 1000;

/**
 * Where lookups are counted: prom-client's `Counter<'cache' | 'result'>` fits
 * (`reclab_feature_cache_requests_total`, core/observability/metrics.ts).
 */
export interface CacheLookupCounter {
  inc(labels: { cache: string; result: 'hit' | 'miss' }, value: number): void;
}

/** Cumulative counts of one cache since it was made. */
export interface L1CacheStats {
  /** Ids served from the cache (remembered-unknown ids included). */
  hits: number;
  /** Ids asked of the inner store. */
  misses: number;
  /** Entries held now (expired ones not yet evicted included). */
  size: number;
}

/** Stands for "the store has no record of this video" (an entry is never `undefined`). */
const MISSING = Symbol('missing');
type Entry = Float32Array | typeof MISSING;

/**
 * The in-process L1 cache in front of the feature store (ARCHITECTURE.md request flow step 6; seed
 * 002 §3.2, "Multi-level Caching Strategy": a cache level per tier, with a TTL, hit/miss counters).
 * A `FeatureStore` decorator over an LRU bounded by entries and TTL (`RecordLru`, lru-cache's
 * semantics for what it uses); time comes from `clock`, so a manual or virtual clock drives expiry.
 *
 * What it caches, and why:
 * - **Video records** (`getVideos`): shared by every request (~300 per request, heavy-tailed
 *   popularity), written by the batch loader and by uploads, not by the streaming consumer (which
 *   keeps its counters under `rt:*`, docs/streaming.md). A record is served for at most `ttlMs`
 *   after it was read, so a batch update reaches the core within `ttlMs`. Only the ids that miss are
 *   asked of the inner store, in ONE `getVideos` call (one MGET), distinct ids once.
 * - **Unknown videos** are remembered for `negativeTtlMs` (default 1 s): a trending or popularity set
 *   naming a video without a record would otherwise cost every request a round trip; the short TTL
 *   bounds how late a record written after such a miss is seen (e.g. a `POST /v1/videos/fresh`
 *   retried within 1 s of a `missing` answer still finds it missing).
 * - **Failures are not cached**: when the inner store throws, nothing is stored and the error is the
 *   caller's (the pipeline's breaker and the `default_features` rung decide).
 * - **User records are not cached** (`getUser` passes through), nor popularity (`topPopular`; the
 *   PopularityCache already holds it): a user record is read once per request and reused by
 *   nobody else (a user's requests spread over replicas), a cached "unknown" would delay a new
 *   user's profile, and a Redis outage must still show at the user read (the `popularity` rung).
 *   Recent watches (the already-watched filter) are read by `RealtimeFeatures`, never through here.
 *
 * Returned records are the cached instances, shared between requests: callers must not write to
 * them (the pipeline only reads). Concurrent misses of the same id are not coalesced: each request
 * asks for its own misses (bounded by the request's candidate count).
 */
export class L1FeatureCache implements FeatureStore {
  readonly #inner: FeatureStore;
  readonly #videos: RecordLru;
  readonly #ttlMs: number;
  readonly #negativeTtlMs: number;
  readonly #counter: CacheLookupCounter | undefined;
  readonly #clock: Clock;
  readonly #origin: number;
  /** The cache's time (ms since creation, from 1), read from `#clock` once per call (`#tick`). */
  #now = 1;
  #hits = 0;
  #misses = 0;

  /**
   * @param inner the store behind the cache (Redis in the core)
   * @param clock time source of the TTLs
   * @throws RangeError when `maxEntries` or `ttlMs` is not a positive integer (disable with
   *   `withL1Cache` instead)
   */
  constructor(inner: FeatureStore, clock: Clock, opts: L1CacheOptions, counter?: CacheLookupCounter) {
    if (!(Number.isInteger(opts.maxEntries) && opts.maxEntries > 0)) {
      throw new RangeError(`L1 cache maxEntries must be a positive integer, got ${opts.maxEntries}`);
    }
    if (!(Number.isInteger(opts.ttlMs) && opts.ttlMs > 0)) {
      throw new RangeError(`L1 cache ttlMs must be a positive integer, got ${opts.ttlMs}`);
    }
    this.#inner = inner;
    this.#ttlMs = opts.ttlMs;
    this.#negativeTtlMs = Math.min(opts.ttlMs, Math.max(0, opts.negativeTtlMs ?? L1_NEGATIVE_TTL_MS));
    this.#counter = counter;
    this.#clock = clock;
    // Time counts from 1 at creation, so a virtual clock starting at 0 still expires entries. The
    // clock is read once per `getVideos` step (`#tick`), not once per id: freshness is judged at the
    // time of the call (a ~300-id lookup takes tens of µs), at one clock read instead of 300.
    this.#origin = clock.now();
    this.#videos = new RecordLru(opts.maxEntries);
  }

  getUser(userId: string): Promise<Float32Array | undefined> {
    return this.#inner.getUser(userId);
  }

  topPopular(regionIdx: number | undefined, n: number): Promise<{ video: number; score: number }[]> {
    return this.#inner.topPopular(regionIdx, n);
  }

  /** Passes through: the marker must show a data loss at once, never a cached "loaded". */
  loadMarker(): Promise<string | undefined> {
    return this.#inner.loadMarker();
  }

  /**
   * Video records for `videos`, from the cache where fresh, else from ONE `getVideos` call on the
   * inner store for the distinct missing ids (none when all hit).
   * @throws whatever the inner store throws for the misses (nothing is cached then)
   */
  async getVideos(videos: readonly number[]): Promise<(Float32Array | undefined)[]> {
    this.#tick();
    const out: (Float32Array | undefined)[] = new Array(videos.length);
    /** Distinct missing ids → the positions in `videos` that want them. */
    const missing = new Map<number, number[]>();
    for (let i = 0; i < videos.length; i++) {
      const v = videos[i];
      // Most calls miss nothing: no Map lookup until something is missing.
      const waiting = missing.size > 0 ? missing.get(v) : undefined;
      if (waiting) {
        waiting.push(i);
        continue;
      }
      const hit = this.#videos.get(v, this.#now);
      if (hit === undefined) missing.set(v, [i]);
      else out[i] = hit === MISSING ? undefined : hit;
    }
    const hits = videos.length - sumLengths(missing);
    this.#count(hits, missing.size);
    if (missing.size === 0) return out;
    const ids = [...missing.keys()];
    const records = await this.#inner.getVideos(ids);
    this.#tick(); // entries stored now start their TTL at the time the reply came
    for (let j = 0; j < ids.length; j++) {
      const rec = records[j];
      if (rec) this.#videos.set(ids[j], rec, this.#ttlMs, this.#now);
      else if (this.#negativeTtlMs > 0) this.#videos.set(ids[j], MISSING, this.#negativeTtlMs, this.#now);
      for (const i of missing.get(ids[j])!) out[i] = rec;
    }
    return out;
  }

  #tick(): void {
    this.#now = this.#clock.now() - this.#origin + 1;
  }

  stats(): L1CacheStats {
    return { hits: this.#hits, misses: this.#misses, size: this.#videos.size };
  }

  #count(hits: number, misses: number): void {
    this.#hits += hits;
    this.#misses += misses;
    if (!this.#counter) return;
    if (hits > 0) this.#counter.inc({ cache: 'video', result: 'hit' }, hits);
    if (misses > 0) this.#counter.inc({ cache: 'video', result: 'miss' }, misses);
  }
}

/**
 * A least-recently-used map from video index to entry with a TTL per entry, bounded by entry count:
 * the part of lru-cache 11 the L1 cache used (`max`, `ttl`, per-`set` ttl, `get`, `size`), with the
 * same rules: an entry is stale once `now − start > ttl` (a stale `get` deletes it and misses); `get`
 * and `set` make an entry the most recently used; `set` of a new key when full evicts the least
 * recently used (stale or not); `size` counts stale entries not yet removed. Slots are parallel
 * arrays and an intrusive doubly linked list, grown on demand up to `max`: a hit is one table lookup
 * and a few array writes (issue 10: lru-cache's `get` with a TTL and a `perf` clock cost ≈ 0.3 µs an
 * id, 300 ids a request). A key's slot is found in a typed table indexed by the key (video indices
 * are small integers; the table grows to the largest key seen, below 2^22), else in a Map.
 *
 * A slot's start, TTL and list links sit side by side in one typed array (`#meta`, `SLOT_FIELDS` a
 * slot) rather than in four arrays: the ~300 hits of a request land on slots spread over the whole
 * cache, whose arrays the request's FAISS search and inference have pushed out of the CPU's caches,
 * so each array read of a hit is a cache miss; side by side, a hit's own fields cost one.
 */
class RecordLru {
  readonly #max: number;
  /** Slot + 1 of each key below its length (0: absent). */
  #table = new Int32Array(0);
  /** Slots of the keys the table does not cover (negative, fractional or ≥ `TABLE_KEYS_MAX`). */
  readonly #slotOfOther = new Map<number, number>();
  #size = 0;
  readonly #keys: number[] = [];
  readonly #values: Entry[] = [];
  /**
   * Slot s's fields at `s × SLOT_FIELDS`: start and TTL (ms), the previous slot (towards the least
   * recently used; -1 at the head) and the next (towards the most recently used; -1 at the tail).
   * Grown with the slots, up to `max` of them.
   */
  #meta = new Float64Array(0);
  readonly #free: number[] = [];
  #head = -1;
  #tail = -1;

  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#size;
  }

  get(key: number, now: number): Entry | undefined {
    const slot = this.#slotOf(key);
    if (slot < 0) return undefined;
    const at = slot * SLOT_FIELDS;
    if (now - this.#meta[at + START] > this.#meta[at + TTL]) {
      this.#remove(slot);
      return undefined;
    }
    this.#toTail(slot);
    return this.#values[slot];
  }

  set(key: number, value: Entry, ttl: number, now: number): void {
    let slot = this.#slotOf(key);
    if (slot < 0) {
      if (this.#size >= this.#max) this.#remove(this.#head);
      slot = this.#free.pop() ?? this.#keys.length;
      this.#keys[slot] = key;
      if ((slot + 1) * SLOT_FIELDS > this.#meta.length) this.#growMeta(slot + 1);
      this.#setSlot(key, slot);
      this.#link(slot);
    } else this.#toTail(slot);
    this.#values[slot] = value;
    this.#meta[slot * SLOT_FIELDS + START] = now;
    this.#meta[slot * SLOT_FIELDS + TTL] = ttl;
  }

  /** `#meta` with room for at least `slots` slots (doubling, at most `max`). */
  #growMeta(slots: number): void {
    const capacity = Math.min(this.#max, Math.max(slots, 2 * (this.#meta.length / SLOT_FIELDS), 1024));
    const grown = new Float64Array(capacity * SLOT_FIELDS);
    grown.set(this.#meta);
    this.#meta = grown;
  }

  /** The slot holding `key`, or -1. */
  #slotOf(key: number): number {
    if (key >>> 0 === key && key < TABLE_KEYS_MAX)
      return key < this.#table.length ? this.#table[key] - 1 : -1;
    return this.#slotOfOther.get(key) ?? -1;
  }

  #setSlot(key: number, slot: number): void {
    this.#size++;
    if (key >>> 0 === key && key < TABLE_KEYS_MAX) {
      if (key >= this.#table.length) {
        const grown = new Int32Array(
          Math.min(TABLE_KEYS_MAX, Math.max(key + 1, 2 * this.#table.length, 1024)),
        );
        grown.set(this.#table);
        this.#table = grown;
      }
      this.#table[key] = slot + 1;
    } else this.#slotOfOther.set(key, slot);
  }

  #deleteSlot(key: number): void {
    this.#size--;
    if (key >>> 0 === key && key < TABLE_KEYS_MAX) this.#table[key] = 0;
    else this.#slotOfOther.delete(key);
  }

  #remove(slot: number): void {
    this.#unlink(slot);
    this.#deleteSlot(this.#keys[slot]);
    this.#values[slot] = MISSING; // drop the record's reference
    this.#free.push(slot);
  }

  #toTail(slot: number): void {
    if (slot === this.#tail) return;
    this.#unlink(slot);
    this.#link(slot);
  }

  /** Appends `slot` at the tail (most recently used). */
  #link(slot: number): void {
    const meta = this.#meta;
    meta[slot * SLOT_FIELDS + PREV] = this.#tail;
    meta[slot * SLOT_FIELDS + NEXT] = -1;
    if (this.#tail >= 0) meta[this.#tail * SLOT_FIELDS + NEXT] = slot;
    else this.#head = slot;
    this.#tail = slot;
  }

  #unlink(slot: number): void {
    const meta = this.#meta;
    const p = meta[slot * SLOT_FIELDS + PREV];
    const n = meta[slot * SLOT_FIELDS + NEXT];
    if (p >= 0) meta[p * SLOT_FIELDS + NEXT] = n;
    else this.#head = n;
    if (n >= 0) meta[n * SLOT_FIELDS + PREV] = p;
    else this.#tail = p;
  }
}

/** `RecordLru`'s fields of a slot in `#meta`, and their offsets. */
const SLOT_FIELDS = 4;
const START = 0;
const TTL = 1;
const PREV = 2;
const NEXT = 3;

/** Keys below this (and ≥ 0, integers) have their slot in `RecordLru`'s typed table. */
const TABLE_KEYS_MAX = 1 << 22;

function sumLengths(m: Map<number, number[]>): number {
  let n = 0;
  for (const positions of m.values()) n += positions.length;
  return n;
}

/**
 * `inner` behind an L1 cache, or `inner` itself when the cache is disabled (`maxEntries` 0 or
 * `ttlMs` 0: RECLAB_L1_CACHE_MAX_ENTRIES, RECLAB_L1_CACHE_TTL_MS).
 */
export function withL1Cache(
  inner: FeatureStore,
  clock: Clock,
  opts: L1CacheOptions,
  counter?: CacheLookupCounter,
): FeatureStore {
  if (opts.maxEntries <= 0 || opts.ttlMs <= 0) return inner;
  return new L1FeatureCache(inner, clock, opts, counter);
}
