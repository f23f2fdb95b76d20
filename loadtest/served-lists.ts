/**
 * The lists the core served during a run, kept compactly so that scoring them against ground truth
 * (≈ 450 µs a list: the oracle's ideal DCG for each new user, reference lists) happens after the
 * measured phase instead of on the runner's CPU while the core is under load (issue 10).
 *
 * Memory: typed-array chunks of `CHUNK_LISTS` lists, allocated as they fill: 4 bytes per video slot
 * (`maxItems` slots per list) plus 6 bytes per list; at most `capacityLists` lists. Lists past the
 * cap are not kept and are counted in `overflow` (the run reports them; their quality is not
 * scored). Phase and rung names are interned (at most 255 of each).
 */

/** Lists per chunk: 4 096 × 100 slots × 4 bytes = 1.6 MB at the API's largest page. */
export const CHUNK_LISTS = 4096;
/** Default cap: 1M lists (≈ 30 minutes at 500 QPS). */
export const DEFAULT_CAPACITY_LISTS = 1 << 20;
/** Names interned per kind (a byte each). */
const NAMES_MAX = 255;

interface Chunk {
  users: Int32Array;
  phase: Uint8Array;
  rung: Uint8Array;
  length: Uint8Array;
  videos: Int32Array;
}

/** One recorded list, as `forEach` hands it out (the `videos` view is reused: copy to keep it). */
export interface RecordedList {
  phase: string;
  user: number;
  rung: string;
  videos: Int32Array;
}

export class ServedListLog {
  readonly #maxItems: number;
  readonly #capacity: number;
  readonly #chunks: Chunk[] = [];
  readonly #phases: string[] = [];
  readonly #rungs: string[] = [];
  #size = 0;
  #overflow = 0;

  /**
   * @param maxItems video slots per list (the longest page recorded in full; longer ones are cut)
   * @param capacityLists lists kept at most
   * @throws RangeError when `maxItems` is not in 1..255 or `capacityLists` is not a positive integer
   */
  constructor(maxItems: number, capacityLists = DEFAULT_CAPACITY_LISTS) {
    if (!(Number.isInteger(maxItems) && maxItems >= 1 && maxItems <= 255))
      throw new RangeError(`maxItems must be an integer in 1..255, got ${maxItems}`);
    if (!(Number.isInteger(capacityLists) && capacityLists >= 1))
      throw new RangeError(`capacityLists must be a positive integer, got ${capacityLists}`);
    this.#maxItems = maxItems;
    this.#capacity = capacityLists;
  }

  /** Lists kept. */
  get size(): number {
    return this.#size;
  }

  /** Lists refused because the log was full (or a phase/rung name past the 255th). */
  get overflow(): number {
    return this.#overflow;
  }

  /** Bytes held by the chunks. */
  get bytes(): number {
    return this.#chunks.length * CHUNK_LISTS * (6 + 4 * this.#maxItems);
  }

  /**
   * Keeps one list: `videos[0 … n − 1]` (at most `maxItems`). Returns false, and counts it in
   * `overflow`, when the log is full. O(n), no allocation except a new chunk every CHUNK_LISTS lists.
   */
  record(phase: string, user: number, rung: string, videos: ArrayLike<number>, n = videos.length): boolean {
    const phaseIdx = intern(this.#phases, phase);
    const rungIdx = intern(this.#rungs, rung);
    if (this.#size >= this.#capacity || phaseIdx < 0 || rungIdx < 0) {
      this.#overflow++;
      return false;
    }
    const c = this.#size % CHUNK_LISTS;
    if (c === 0) this.#chunks.push(this.#newChunk());
    const chunk = this.#chunks[this.#chunks.length - 1];
    const len = Math.min(n, this.#maxItems);
    chunk.users[c] = user;
    chunk.phase[c] = phaseIdx;
    chunk.rung[c] = rungIdx;
    chunk.length[c] = len;
    const base = c * this.#maxItems;
    for (let i = 0; i < len; i++) chunk.videos[base + i] = videos[i];
    this.#size++;
    return true;
  }

  /** Calls `fn` for every kept list in recording order. */
  forEach(fn: (list: RecordedList) => void): void {
    for (let i = 0; i < this.#size; i++) {
      const chunk = this.#chunks[Math.floor(i / CHUNK_LISTS)];
      const c = i % CHUNK_LISTS;
      const base = c * this.#maxItems;
      fn({
        phase: this.#phases[chunk.phase[c]],
        user: chunk.users[c],
        rung: this.#rungs[chunk.rung[c]],
        videos: chunk.videos.subarray(base, base + chunk.length[c]),
      });
    }
  }

  /** Drops every kept list (the counters and names stay). */
  clear(): void {
    this.#chunks.length = 0;
    this.#size = 0;
  }

  #newChunk(): Chunk {
    return {
      users: new Int32Array(CHUNK_LISTS),
      phase: new Uint8Array(CHUNK_LISTS),
      rung: new Uint8Array(CHUNK_LISTS),
      length: new Uint8Array(CHUNK_LISTS),
      videos: new Int32Array(CHUNK_LISTS * this.#maxItems),
    };
  }
}

/** Index of `name` in `names`, added when new; −1 when the table is full. */
function intern(names: string[], name: string): number {
  const i = names.indexOf(name);
  if (i >= 0) return i;
  if (names.length >= NAMES_MAX) return -1;
  names.push(name);
  return names.length - 1;
}
