/**
 * Fresh-uploads index merged with the main ANN index at query time (seed 000 §2.4 "New videos: added
 * to a small fresh index", §7 "Embedding Index Update": main index rebuilt every few hours, a small
 * fresh index for recent videos, "at query time, search both indices and merge results").
 *
 * The fresh index is exact (brute-force inner product over at most `capacity` vectors in one
 * `Float32Array`), so it needs no training, takes adds and removals one at a time, and never loses
 * recall. Its cost is linear in its size: about capacity × dim multiply-adds per query (measured
 * 0.2–0.4 ms in V8 at 10k × 32-d; linear in dim too), which is why it is bounded; the main index absorbs its videos at the next
 * rebuild, after which the caller `clear()`s it (or `remove`s what the new main index holds).
 *
 * Bound: when full, `add` evicts the oldest-added video (FIFO by add order; re-adding a video
 * refreshes its vector and its age). An evicted video is missing from two-tower retrieval until the
 * next main rebuild, so `stats().evicted > 0` means the rebuild is overdue; `needsRebuild` turns
 * true from `rebuildAt` videos on (default 80% of capacity) so a rebuild can be started before
 * anything is evicted.
 *
 * Only for inner-product indexes (`metric: 'ip'`, higher is closer), as the two-tower index is.
 *
 * Model swaps: embeddings of one version's item tower are not comparable with another's, so each
 * model set has its own fresh index. With `featureDim`, the index also keeps each video's item-tower
 * input (`videoModelInput` row, as announced), so `carryOverFresh` can re-embed the same videos with
 * another version's tower while that version warms up (core/registry/model-slots.ts).
 */

import { AnnIndexError } from '../adapters/faiss/faiss-index.ts';
import { ReclabError } from '../errors.ts';
import type { AnnSearcher } from './two-tower-source.ts';

/** Result of a search: catalogue video indices, best first, with their inner products. */
export interface ScoredIds {
  ids: Int32Array;
  scores: Float32Array;
}

export interface FreshIndexOptions {
  /** Vector width; must equal the main index's. */
  dim: number;
  /** Most videos held at once (≥ 1); the oldest is evicted beyond it. */
  capacity: number;
  /** Size from which `needsRebuild` is true (1 … capacity; default ⌈0.8 × capacity⌉). */
  rebuildAt?: number;
  /**
   * Width of the item-tower input kept per video (VIDEO_FEATURE_DIM), for re-embedding at a model
   * swap; unset: only vectors are kept. Memory: capacity × featureDim × 4 bytes.
   */
  featureDim?: number;
}

/** Held videos in add order (oldest first) with their kept item-tower inputs; see `entriesSince`. */
export interface FreshEntries {
  videos: Int32Array;
  /** `Float32Array(videos.length × featureDim)`, row i = input of `videos[i]`. */
  features: Float32Array;
  /** Add sequence number of the newest entry returned (pass it back to get only later adds). */
  lastSeq: number;
}

/** Counters of a fresh index. */
export interface FreshIndexStats {
  size: number;
  capacity: number;
  /** Videos added since creation (re-adds included). */
  added: number;
  /** Videos evicted because the index was full, since creation. */
  evicted: number;
}

/** Exact, bounded index of recently uploaded videos, keyed by catalogue video index. */
export class FreshIndex implements AnnSearcher {
  readonly dim: number;
  readonly capacity: number;
  readonly rebuildAt: number;
  /** Width of the kept item-tower inputs; 0 when none are kept. */
  readonly featureDim: number;
  readonly #vectors: Float32Array;
  readonly #features: Float32Array;
  /** 1 when the slot's features were given with its vector. */
  readonly #hasFeatures: Uint8Array;
  /** Video index per slot, -1 when free. */
  readonly #videoOf: Int32Array;
  /** Add sequence number per slot (age order for eviction). */
  readonly #seqOf: Float64Array;
  readonly #slotOf = new Map<number, number>();
  readonly #free: number[] = [];
  #seq = 0;
  #added = 0;
  #evicted = 0;

  /** @throws ReclabError RECLAB_ERR_CONFIG_INVALID for a non-integer or out-of-range dim, capacity or rebuildAt */
  constructor(opts: FreshIndexOptions) {
    const { dim, capacity } = opts;
    const rebuildAt = opts.rebuildAt ?? Math.ceil(0.8 * capacity);
    const featureDim = opts.featureDim ?? 0;
    if (
      !Number.isInteger(dim) ||
      dim < 1 ||
      !Number.isInteger(capacity) ||
      capacity < 1 ||
      !Number.isInteger(featureDim) ||
      featureDim < 0
    ) {
      throw new ReclabError(
        'RECLAB_ERR_CONFIG_INVALID',
        `fresh index needs integer dim ≥ 1, capacity ≥ 1 and featureDim ≥ 0, got dim ${dim}, capacity ${capacity}, featureDim ${featureDim}`,
      );
    }
    if (!Number.isInteger(rebuildAt) || rebuildAt < 1 || rebuildAt > capacity) {
      throw new ReclabError(
        'RECLAB_ERR_CONFIG_INVALID',
        `fresh index rebuildAt must be an integer in 1…${capacity}, got ${rebuildAt}`,
      );
    }
    this.dim = dim;
    this.capacity = capacity;
    this.rebuildAt = rebuildAt;
    this.featureDim = featureDim;
    this.#vectors = new Float32Array(capacity * dim);
    this.#features = new Float32Array(capacity * featureDim);
    this.#hasFeatures = new Uint8Array(capacity);
    this.#videoOf = new Int32Array(capacity).fill(-1);
    this.#seqOf = new Float64Array(capacity);
    for (let s = capacity - 1; s >= 0; s--) this.#free.push(s);
  }

  /** Videos held. */
  get size(): number {
    return this.#slotOf.size;
  }

  /** True from `rebuildAt` videos on: time to fold the fresh videos into the main index. */
  get needsRebuild(): boolean {
    return this.size >= this.rebuildAt;
  }

  stats(): FreshIndexStats {
    return { size: this.size, capacity: this.capacity, added: this.#added, evicted: this.#evicted };
  }

  /** The stored vector of `video` (a view, length `dim`), or undefined when it is not indexed. */
  vectorOf(video: number): Float32Array | undefined {
    const slot = this.#slotOf.get(video);
    return slot === undefined ? undefined : this.#vectors.subarray(slot * this.dim, (slot + 1) * this.dim);
  }

  has(video: number): boolean {
    return this.#slotOf.has(video);
  }

  /**
   * Adds (or replaces) the embedding of catalogue video `video` (`vector`: `Float32Array` of length
   * dim, the item tower's L2-normalised output). When full, first evicts the oldest-added video.
   * `features` (length `featureDim`: the item-tower input the vector was computed from) is kept
   * when the index keeps features, for re-embedding at a model swap; without it the video cannot be
   * carried over to another version.
   *
   * @returns the evicted video index, or -1 when nothing was evicted
   * @throws AnnIndexError `RECLAB_ERR_ANN_ARGUMENT_INVALID` (video not an integer ≥ 0),
   *   `RECLAB_ERR_ANN_DIM_MISMATCH` (vector length ≠ dim, or features given and length ≠ featureDim)
   */
  add(video: number, vector: Float32Array, features?: Float32Array): number {
    if (!Number.isInteger(video) || video < 0 || video > 0x7fffffff) {
      throw new AnnIndexError(
        'RECLAB_ERR_ANN_ARGUMENT_INVALID',
        `video index must be an integer ≥ 0, got ${video}`,
      );
    }
    if (vector.length !== this.dim) {
      throw new AnnIndexError(
        'RECLAB_ERR_ANN_DIM_MISMATCH',
        `fresh vector has ${vector.length} values, index dim is ${this.dim}`,
      );
    }
    if (features && this.featureDim > 0 && features.length !== this.featureDim) {
      throw new AnnIndexError(
        'RECLAB_ERR_ANN_DIM_MISMATCH',
        `fresh features have ${features.length} values, featureDim is ${this.featureDim}`,
      );
    }
    let evictedVideo = -1;
    let slot = this.#slotOf.get(video);
    if (slot === undefined) {
      if (this.#free.length === 0) {
        const oldest = this.#oldestSlot();
        evictedVideo = this.#videoOf[oldest]!;
        this.#release(oldest);
        this.#evicted++;
      }
      slot = this.#free.pop()!;
      this.#slotOf.set(video, slot);
      this.#videoOf[slot] = video;
    }
    this.#vectors.set(vector, slot * this.dim);
    const keep = features !== undefined && this.featureDim > 0;
    if (keep) this.#features.set(features, slot * this.featureDim);
    this.#hasFeatures[slot] = keep ? 1 : 0;
    this.#seqOf[slot] = this.#seq++;
    this.#added++;
    return evictedVideo;
  }

  /**
   * The held videos added after sequence number `afterSeq` (-1: all) that have kept features, oldest
   * first, with those features; `lastSeq` is the newest returned (or `afterSeq` when none). A video
   * re-added later appears again in a later call. Cost: one pass over the slots plus a sort of the
   * matches.
   */
  entriesSince(afterSeq = -1): FreshEntries {
    const slots: number[] = [];
    for (let slot = 0; slot < this.capacity; slot++) {
      if (this.#videoOf[slot]! >= 0 && this.#hasFeatures[slot] && this.#seqOf[slot]! > afterSeq)
        slots.push(slot);
    }
    slots.sort((a, b) => this.#seqOf[a]! - this.#seqOf[b]!);
    const fd = this.featureDim;
    const features = new Float32Array(slots.length * fd);
    slots.forEach((slot, i) => {
      features.set(this.#features.subarray(slot * fd, (slot + 1) * fd), i * fd);
    });
    return {
      videos: Int32Array.from(slots, (slot) => this.#videoOf[slot]!),
      features,
      lastSeq: slots.length > 0 ? this.#seqOf[slots[slots.length - 1]!]! : afterSeq,
    };
  }

  /** Removes `video` (e.g. now in the rebuilt main index, or taken down). @returns whether it was held */
  remove(video: number): boolean {
    const slot = this.#slotOf.get(video);
    if (slot === undefined) return false;
    this.#release(slot);
    return true;
  }

  /** Removes every video (after a main-index rebuild that includes them). */
  clear(): void {
    for (const slot of this.#slotOf.values()) this.#free.push(slot);
    this.#videoOf.fill(-1);
    this.#hasFeatures.fill(0);
    this.#slotOf.clear();
  }

  /**
   * The `k` held videos with the highest inner product with `query` (length dim), best first
   * (ties: lower video index first). Exact.
   *
   * @throws AnnIndexError `RECLAB_ERR_ANN_DIM_MISMATCH` (query length ≠ dim),
   *   `RECLAB_ERR_ANN_ARGUMENT_INVALID` (k not an integer ≥ 1)
   */
  search(query: Float32Array, k: number): ScoredIds {
    if (query.length !== this.dim) {
      throw new AnnIndexError(
        'RECLAB_ERR_ANN_DIM_MISMATCH',
        `query has ${query.length} values, fresh index dim is ${this.dim}`,
      );
    }
    if (!Number.isInteger(k) || k < 1) {
      throw new AnnIndexError('RECLAB_ERR_ANN_ARGUMENT_INVALID', `k must be an integer ≥ 1, got ${k}`);
    }
    const top = new TopK(Math.min(k, this.size));
    if (top.k === 0) return { ids: new Int32Array(0), scores: new Float32Array(0) };
    const d = this.dim;
    const vectors = this.#vectors;
    for (let slot = 0; slot < this.capacity; slot++) {
      const video = this.#videoOf[slot]!;
      if (video < 0) continue;
      let dot = 0;
      const base = slot * d;
      for (let j = 0; j < d; j++) dot += query[j]! * vectors[base + j]!;
      top.offer(video, dot);
    }
    return top.sorted();
  }

  #release(slot: number): void {
    this.#slotOf.delete(this.#videoOf[slot]!);
    this.#videoOf[slot] = -1;
    this.#hasFeatures[slot] = 0;
    this.#free.push(slot);
  }

  #oldestSlot(): number {
    let best = -1;
    for (let slot = 0; slot < this.capacity; slot++) {
      if (this.#videoOf[slot]! >= 0 && (best < 0 || this.#seqOf[slot]! < this.#seqOf[best]!)) best = slot;
    }
    return best;
  }
}

/** Embeds `n` item-tower input rows (`n × featureDim`) into `n × dim` L2-normalised vectors. */
export interface ItemEmbedder {
  encodeBatch(features: Float32Array, n: number): Promise<Float32Array>;
}

/** What `carryOverFresh` did. */
export interface FreshCarryOver {
  /** Videos re-embedded into the target (re-adds counted again). */
  videos: number;
  /** Passes over the source (the last found nothing new, unless `maxRounds` was reached). */
  rounds: number;
  /** Held videos of the source without kept features, which could not be carried. */
  skipped: number;
}

/**
 * Copies the fresh uploads of `from` into `into`, re-embedding each video's kept item-tower input
 * with `encoder` (the target version's item tower), oldest first, in batches of `batchRows`, yielding
 * to the event loop between batches (the active set keeps serving meanwhile). Videos announced to
 * `from` during the copy are picked up by further passes, until a pass finds nothing new or after
 * `maxRounds` passes; the last pass's check and the caller's swap then happen without an await in
 * between. Bounded by `into.capacity`: only the newest that many of a pass are embedded.
 * Seed 000 §7 (fresh index next to the main one; zero-downtime model swap).
 *
 * @throws AnnIndexError `RECLAB_ERR_ANN_DIM_MISMATCH` when the feature widths differ or the encoder's
 *   output is not `into.dim` wide; whatever `encoder` throws
 */
export async function carryOverFresh(
  from: FreshIndex,
  into: FreshIndex,
  encoder: ItemEmbedder,
  opts: { batchRows?: number; maxRounds?: number } = {},
): Promise<FreshCarryOver> {
  const batchRows = opts.batchRows ?? 256;
  const maxRounds = opts.maxRounds ?? 5;
  if (from.featureDim !== into.featureDim) {
    throw new AnnIndexError(
      'RECLAB_ERR_ANN_DIM_MISMATCH',
      `fresh featureDim ${from.featureDim} → ${into.featureDim}: cannot carry the fresh uploads over`,
    );
  }
  const fd = from.featureDim;
  const withFeatures = fd > 0 ? from.entriesSince(-1).videos.length : 0;
  const result: FreshCarryOver = { videos: 0, rounds: 0, skipped: from.size - withFeatures };
  if (fd === 0) return result;
  let after = -1;
  while (result.rounds < maxRounds) {
    const batch = from.entriesSince(after);
    result.rounds++;
    if (batch.videos.length === 0) break;
    after = batch.lastSeq;
    const first = Math.max(0, batch.videos.length - into.capacity);
    for (let start = first; start < batch.videos.length; start += batchRows) {
      const n = Math.min(batchRows, batch.videos.length - start);
      const input = batch.features.subarray(start * fd, (start + n) * fd);
      const emb = await encoder.encodeBatch(input, n);
      if (emb.length !== n * into.dim) {
        throw new AnnIndexError(
          'RECLAB_ERR_ANN_DIM_MISMATCH',
          `item tower returned ${emb.length} values for ${n} rows of dim ${into.dim}`,
        );
      }
      for (let i = 0; i < n; i++) {
        into.add(
          batch.videos[start + i]!,
          emb.subarray(i * into.dim, (i + 1) * into.dim),
          input.subarray(i * fd, (i + 1) * fd),
        );
      }
      result.videos += n;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  return result;
}

/**
 * Searches the main ANN index and the fresh index and merges their top-k by inner product (seed 000
 * §7), as the `AnnSearcher` of `TwoTowerSource`. Ids returned are catalogue video indices: the main
 * index's row ids go through `mainVideoOf` (default: row i is video i, as in item_embeddings.f32).
 * A video found by both (in the fresh index and already in a rebuilt main index) appears once, with
 * the higher score. Cost: one main search plus one fresh scan; both ask for k.
 */
export class MergedAnnSearcher implements AnnSearcher {
  readonly #main: AnnSearcher;
  readonly #fresh: AnnSearcher;
  readonly #mainVideoOf: ArrayLike<number> | undefined;

  constructor(main: AnnSearcher, fresh: AnnSearcher, mainVideoOf?: ArrayLike<number>) {
    this.#main = main;
    this.#fresh = fresh;
    this.#mainVideoOf = mainVideoOf;
  }

  /**
   * Top `k` videos of the union, best first; fewer when both indexes together hold fewer.
   * @throws what the underlying indexes throw (dimension or k errors)
   */
  search(query: Float32Array, k: number): ScoredIds {
    const main = this.#main.search(query, k);
    const fresh = this.#fresh.search(query, k);
    // Nothing fresh (the usual case between uploads): the main result is the answer, minus FAISS's
    // -1 padding, without the map, heap and sort (bench/pipeline-overhead.ts showed their cost).
    if (fresh.ids.length === 0 && !this.#mainVideoOf) {
      let n = 0;
      while (n < main.ids.length && main.ids[n]! >= 0) n++;
      return {
        ids:
          main.ids instanceof Int32Array
            ? main.ids.subarray(0, n)
            : Int32Array.from({ length: n }, (_, i) => main.ids[i]!),
        scores:
          main.scores instanceof Float32Array
            ? main.scores.subarray(0, n)
            : Float32Array.from({ length: n }, (_, i) => main.scores[i]!),
      };
    }
    const best = new Map<number, number>();
    const offer = (video: number, score: number) => {
      if (video < 0) return;
      const seen = best.get(video);
      if (seen === undefined || score > seen) best.set(video, score);
    };
    for (let i = 0; i < main.ids.length; i++) {
      const row = main.ids[i]!;
      if (row < 0) continue;
      offer(this.#mainVideoOf ? this.#mainVideoOf[row]! : row, main.scores[i]!);
    }
    for (let i = 0; i < fresh.ids.length; i++) offer(fresh.ids[i]!, fresh.scores[i]!);
    const top = new TopK(Math.min(k, best.size));
    for (const [video, score] of best) top.offer(video, score);
    return top.sorted();
  }
}

/** Keeps the k highest (score, then lowest id) pairs seen: a binary min-heap on the worst kept. */
class TopK {
  readonly k: number;
  readonly #ids: Int32Array;
  readonly #scores: Float64Array;
  #n = 0;

  constructor(k: number) {
    this.k = k;
    this.#ids = new Int32Array(k);
    this.#scores = new Float64Array(k);
  }

  offer(id: number, score: number): void {
    if (this.k === 0) return;
    if (this.#n < this.k) {
      let i = this.#n++;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!this.#worse(id, score, this.#ids[parent]!, this.#scores[parent]!)) break;
        this.#ids[i] = this.#ids[parent]!;
        this.#scores[i] = this.#scores[parent]!;
        i = parent;
      }
      this.#ids[i] = id;
      this.#scores[i] = score;
      return;
    }
    if (!this.#worse(this.#ids[0]!, this.#scores[0]!, id, score)) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.k) break;
      const r = l + 1;
      const c =
        r < this.k && this.#worse(this.#ids[r]!, this.#scores[r]!, this.#ids[l]!, this.#scores[l]!) ? r : l;
      if (!this.#worse(this.#ids[c]!, this.#scores[c]!, id, score)) break;
      this.#ids[i] = this.#ids[c]!;
      this.#scores[i] = this.#scores[c]!;
      i = c;
    }
    this.#ids[i] = id;
    this.#scores[i] = score;
  }

  /** The kept pairs, best first. */
  sorted(): ScoredIds {
    const order = Array.from({ length: this.#n }, (_, i) => i);
    order.sort((a, b) => this.#scores[b]! - this.#scores[a]! || this.#ids[a]! - this.#ids[b]!);
    return {
      ids: Int32Array.from(order, (i) => this.#ids[i]!),
      scores: Float32Array.from(order, (i) => this.#scores[i]!),
    };
  }

  /** Whether (idA, a) ranks below (idB, b): lower score, or equal score and higher id. */
  #worse(idA: number, a: number, idB: number, b: number): boolean {
    return a < b || (a === b && idA > idB);
  }
}
