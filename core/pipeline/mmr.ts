/**
 * Maximal Marginal Relevance re-ranking (Carbonell & Goldstein 1998; seed 000 §1 "MMR diversity").
 *
 * Greedily picks `k` of `n` candidates, each time the one maximising
 * `lambda × relevance[i] − (1 − lambda) × max_{j picked} sim(i, j)`, with `sim` the inner product of
 * the items' embeddings (cosine for the L2-normalised item-tower vectors).
 *
 * Lazy greedy (the "lazy evaluations" of Minoux 1978, as used for submodular greedy selection):
 * after the first pick a candidate's max similarity to the picked set can only grow, so its MMR
 * value can only fall, and a value computed in an earlier round is an upper bound. Candidates sit in
 * a max-heap by (possibly stale) value; the top is brought up to date against only the picks made
 * since its last update, and taken once it is up to date and still on top. The picks are the same
 * as the plain greedy's (ties to the lower index), at a fraction of its O(n·k·dim) similarity work:
 * at 300 → 30 over random 64-d unit vectors, 165 µs against 1008 µs for the plain greedy (one run here).
 *
 * @param relevance scores, length n (any scale; normalised to [0, 1] internally so lambda means the
 *   same whatever the ranker's scale: by rank, or min-max — `RelevanceScale`)
 * @param embeddings `Float32Array` holding the candidates' rows: row i = candidate i (length n × dim),
 *   or, with `rows`, candidate i's row starts at `embeddings[rows[i]]` (e.g. rows of the whole
 *   catalogue's matrix, so nothing is copied)
 * @param dim embedding width
 * @param k how many to pick (≤ n)
 * @param lambda trade-off in [0, 1]: 1 = pure relevance, 0 = pure diversity
 * @param admit optional gate called with the best remaining candidate before it is picked: false
 *   skips it for good (how re-ranking applies creator caps); the round then takes the next best
 * @param scale how relevance is brought to [0, 1]; default `minmax`
 * @param rows optional offset (in floats) of each candidate's row in `embeddings`; default i × dim
 * @returns candidate indices in pick order, length ≤ min(k, n)
 */
export function mmrSelect(
  relevance: ArrayLike<number>,
  embeddings: Float32Array,
  dim: number,
  k: number,
  lambda: number,
  admit?: (i: number) => boolean,
  scale: RelevanceScale = 'minmax',
  rows?: ArrayLike<number>,
): number[] {
  const n = relevance.length;
  const take = Math.min(k, n);
  if (take === 0) return [];
  // Typed scratch reused across calls (the function is synchronous); a re-entrant call (from
  // `admit`) gets its own.
  const scratch = SCRATCH.busy ? new MmrScratch(n) : SCRATCH.ensure(n);
  scratch.busy = true;
  try {
    return select(relevance, embeddings, dim, take, lambda, admit, scale, rows, scratch);
  } finally {
    scratch.busy = false;
  }
}

function select(
  relevance: ArrayLike<number>,
  embeddings: Float32Array,
  dim: number,
  take: number,
  lambda: number,
  admit: ((i: number) => boolean) | undefined,
  scale: RelevanceScale,
  rows: ArrayLike<number> | undefined,
  scratch: MmrScratch,
): number[] {
  const n = relevance.length;
  const row = scratch.row; // offset of candidate i's row in `embeddings`
  if (rows) for (let i = 0; i < n; i++) row[i] = rows[i];
  else for (let i = 0; i < n; i++) row[i] = i * dim;
  const rel = scratch.rel;
  if (scale === 'rank') rankRelevance(relevance, rel);
  else minMaxRelevance(relevance, rel);

  const picked = scratch.picked; // 1 = on the list, 2 = refused by `admit`
  picked.fill(0, 0, n);
  const order: number[] = [];

  // Round 0: no penalty yet; the best admitted candidate by λ·relevance alone (ties: lower index),
  // by a linear scan per attempt (usually one) rather than sorting all n.
  for (;;) {
    let i = -1;
    let best = 0;
    for (let j = 0; j < n; j++) {
      if (picked[j] !== 0) continue;
      const v = lambda * rel[j];
      if (i < 0 || v > best) {
        i = j;
        best = v;
      }
    }
    if (i < 0) break;
    if (admit && !admit(i)) {
      picked[i] = 2;
      continue;
    }
    picked[i] = 1;
    order.push(i);
    break;
  }
  if (order.length === 0) return order;

  // maxSim[i] covers picks order[0 .. seen[i]); value[i] is λ·rel − (1−λ)·maxSim at that point.
  // One scratch block per call (typed arrays, no per-round allocation); the heap is built in O(n)
  // (`heapify`) rather than by n pushes: the order it pops in is the same (a strict total order).
  const { maxSim, seen, value, heap } = scratch;
  const pickRow = scratch.pickRow; // row offset (× dim) of each pick, in pick order
  pickRow[0] = row[order[0]];
  let picks = 1;
  let size = 0;
  const penalty = 1 - lambda;
  for (let i = 0; i < n; i++) {
    if (picked[i] !== 0) continue;
    // Caught up against the first pick (the only one so far); a NaN product leaves −∞, as `max` does.
    const dot = dotAt(embeddings, row[i], pickRow[0], dim);
    const m = dot > Number.NEGATIVE_INFINITY ? dot : Number.NEGATIVE_INFINITY;
    maxSim[i] = m;
    seen[i] = 1;
    value[i] = lambda * rel[i] - penalty * m;
    heap[size++] = i;
  }
  heapify(heap, size, value);
  while (picks < take && size > 0) {
    const top = heap[0];
    if (seen[top] < picks) {
      // Stale: its value can only have fallen; bring it up to date and sift it down in place.
      const a = row[top];
      let m = maxSim[top];
      for (let p = seen[top]; p < picks; p++) {
        const dot = dotAt(embeddings, a, pickRow[p], dim);
        if (dot > m) m = dot;
      }
      maxSim[top] = m;
      seen[top] = picks;
      value[top] = lambda * rel[top] - penalty * m;
      siftDown(heap, size, value, 0);
      continue;
    }
    heap[0] = heap[--size];
    if (size > 0) siftDown(heap, size, value, 0);
    if (admit && !admit(top)) {
      picked[top] = 2;
      continue;
    }
    picked[top] = 1;
    order.push(top);
    pickRow[picks++] = row[top];
  }
  return order;
}

/**
 * How MMR brings relevance to [0, 1]:
 * - `minmax` (the default): (score − min) / (max − min). The shape counts: with a heavy-tailed
 *   score most candidates sit near 0 and diversity decides most of the page; the ranking-score
 *   weights are tuned on pages re-ranked this way (sim/models/score-weights.ts), so they take it
 *   into account.
 * - `rank`: 1 for the best candidate down to 0 for the worst, evenly by rank (ties share the better
 *   rank). Only the order of the scores counts, so λ trades the same share of relevance for
 *   diversity whatever the score's shape. At λ 0.7 over ~300 candidates that is more diversity
 *   than `minmax` gives: the tuned main ranker's offline pages earned 4–5 % less expected watch
 *   time (seeds 7 and 11, docs/behavior-model.md).
 */
export type RelevanceScale = 'rank' | 'minmax';

/** Rank-normalised relevance (`RelevanceScale` `rank`) into `rel[0 .. n)`: O(n log n). */
function rankRelevance(relevance: ArrayLike<number>, rel: Float64Array): void {
  const n = relevance.length;
  if (n === 1) {
    rel[0] = 1;
    return;
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => relevance[b] - relevance[a]);
  let groupRank = 0;
  for (let r = 0; r < n; r++) {
    if (r > 0 && relevance[order[r]] !== relevance[order[r - 1]]) groupRank = r;
    rel[order[r]] = 1 - groupRank / (n - 1);
  }
}

/** Min-max-normalised relevance (`RelevanceScale` `minmax`) into `rel[0 .. n)`; all equal → all 0. */
function minMaxRelevance(relevance: ArrayLike<number>, rel: Float64Array): void {
  const n = relevance.length;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    if (relevance[i] < lo) lo = relevance[i];
    if (relevance[i] > hi) hi = relevance[i];
  }
  const span = hi - lo || 1;
  for (let i = 0; i < n; i++) rel[i] = (relevance[i] - lo) / span;
}

/** The typed arrays one `mmrSelect` call works in, for up to `capacity` candidates. */
class MmrScratch {
  busy = false;
  capacity: number;
  rel: Float64Array;
  picked: Uint8Array;
  maxSim: Float64Array;
  seen: Int32Array;
  value: Float64Array;
  heap: Int32Array;
  pickRow: Int32Array;
  row: Int32Array;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.rel = new Float64Array(capacity);
    this.picked = new Uint8Array(capacity);
    this.maxSim = new Float64Array(capacity);
    this.seen = new Int32Array(capacity);
    this.value = new Float64Array(capacity);
    this.heap = new Int32Array(capacity);
    this.pickRow = new Int32Array(capacity);
    this.row = new Int32Array(capacity);
  }

  /** This scratch, or a larger one in its place when `n` exceeds its capacity. */
  ensure(n: number): MmrScratch {
    if (n <= this.capacity) return this;
    SCRATCH = new MmrScratch(Math.max(n, 2 * this.capacity));
    return SCRATCH;
  }
}

/** The process's MMR scratch (grown on demand; 512 candidates to start). */
let SCRATCH = new MmrScratch(512);

/**
 * Inner product of rows starting at offsets `a` and `b` of `e` (a top-level function: V8 optimises
 * it once). Unrolled by 4 with one accumulator, so the sum is taken in the same order (bit-identical
 * to the plain loop).
 */
function dotAt(e: Float32Array, a: number, b: number, dim: number): number {
  let dot = 0;
  let d = 0;
  for (; d + 4 <= dim; d += 4) {
    dot += e[a + d] * e[b + d];
    dot += e[a + d + 1] * e[b + d + 1];
    dot += e[a + d + 2] * e[b + d + 2];
    dot += e[a + d + 3] * e[b + d + 3];
  }
  for (; d < dim; d++) dot += e[a + d] * e[b + d];
  return dot;
}

/**
 * The binary max-heap of candidate indices `heap[0 .. size)` ordered by `key[i]` (higher first),
 * ties to the lower index — the plain greedy's tie rule. A strict total order, so the top is the
 * unique best whatever the heap's layout. Update a key only at the top, then `siftDown(…, 0)`.
 */
function above(key: Float64Array, a: number, b: number): boolean {
  const ka = key[a];
  const kb = key[b];
  return ka > kb || (ka === kb && a < b);
}

function siftDown(heap: Int32Array, size: number, key: Float64Array, from: number): void {
  let p = from;
  const item = heap[p];
  for (;;) {
    const l = 2 * p + 1;
    if (l >= size) break;
    const r = l + 1;
    let m = l;
    if (r < size && above(key, heap[r], heap[l])) m = r;
    if (!above(key, heap[m], item)) break;
    heap[p] = heap[m];
    p = m;
  }
  heap[p] = item;
}

/** Makes `heap[0 .. size)` a heap (Floyd's bottom-up construction, O(size)). */
function heapify(heap: Int32Array, size: number, key: Float64Array): void {
  for (let p = (size >> 1) - 1; p >= 0; p--) siftDown(heap, size, key, p);
}
