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
 * Two refinements keep the same picks (and the same `admit` calls) at about half the cost on the
 * pipeline's own lists (400 lists captured from bench/pipeline-overhead.ts: 208 → 108 µs a select,
 * 1,556 → 1,025 products; docs/performance.md): a stale top's update stops as soon as its value
 * falls below the next best bound (it stays an upper bound, covering more picks), and the products
 * are taken four at a time (four independent sums, each in the same order as one alone, so the
 * same bits: one sum waits on every addition's latency, four overlap).
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
  const { maxSim, seen, value, heap, dots } = scratch;
  const pickRow = scratch.pickRow; // row offset (× dim) of each pick, in pick order
  const first = row[order[0]];
  pickRow[0] = first;
  let picks = 1;
  let size = 0;
  const penalty = 1 - lambda;
  // Caught up against the first pick (the only one so far), four candidates at a time; a NaN
  // product leaves −∞, as `max` does.
  for (let i = 0; i < n; i++) if (picked[i] === 0) heap[size++] = i;
  let h = 0;
  for (; h + 4 <= size; h += 4) {
    dot4(embeddings, first, row[heap[h]], row[heap[h + 1]], row[heap[h + 2]], row[heap[h + 3]], dim, dots);
    for (let q = 0; q < 4; q++) {
      const i = heap[h + q];
      const dot = dots[q];
      const m = dot > Number.NEGATIVE_INFINITY ? dot : Number.NEGATIVE_INFINITY;
      maxSim[i] = m;
      value[i] = lambda * rel[i] - penalty * m;
      seen[i] = 1;
    }
  }
  for (; h < size; h++) {
    const i = heap[h];
    const dot = dotAt(embeddings, row[i], first, dim);
    const m = dot > Number.NEGATIVE_INFINITY ? dot : Number.NEGATIVE_INFINITY;
    maxSim[i] = m;
    value[i] = lambda * rel[i] - penalty * m;
    seen[i] = 1;
  }
  heapify(heap, size, value);
  // A stale top's update may stop early, once its value has fallen below the best other bound
  // (`above(value, next, top)`): it goes down the heap still an upper bound, covering a longer
  // prefix of the picks, and is caught up from there if it comes back to the top. That needs the
  // value to fall monotonically as maxSim grows, with no NaN (penalty > 0 and finite λ·relevance);
  // otherwise every update runs to the end, as before.
  const earlyStop = penalty > 0 && relFinite(lambda, rel, n);
  while (picks < take && size > 0) {
    const top = heap[0];
    let p = seen[top];
    if (p < picks) {
      // Stale: its value can only have fallen; bring it up to date (or far enough) and sift down.
      // The products come four picks at a time (independent sums: the same bits as one by one).
      let next = -1;
      if (earlyStop && size > 1) next = size > 2 && above(value, heap[2], heap[1]) ? heap[2] : heap[1];
      const a = row[top];
      const base = lambda * rel[top];
      let m = maxSim[top];
      while (p < picks) {
        if (p + 4 <= picks) {
          dot4(embeddings, a, pickRow[p], pickRow[p + 1], pickRow[p + 2], pickRow[p + 3], dim, dots);
          for (let q = 0; q < 4; q++) if (dots[q] > m) m = dots[q];
          p += 4;
        } else {
          const dot = dotAt(embeddings, a, pickRow[p], dim);
          if (dot > m) m = dot;
          p++;
        }
        value[top] = base - penalty * m;
        if (next >= 0 && above(value, next, top)) break;
      }
      maxSim[top] = m;
      seen[top] = p;
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
  /** `dot4`'s four results. */
  dots = new Float64Array(4);

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
 * Four inner products at once: row `a` against rows `b0`…`b3` of `e`, into `out[0..4)`. Each sum
 * runs over d in the same order as `dotAt`'s (so the same bits); the four independent sums let the
 * CPU overlap their additions, where one sum waits on each addition's latency.
 */
function dot4(
  e: Float32Array,
  a: number,
  b0: number,
  b1: number,
  b2: number,
  b3: number,
  dim: number,
  out: Float64Array,
): void {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let d = 0; d < dim; d++) {
    const x = e[a + d];
    s0 += x * e[b0 + d];
    s1 += x * e[b1 + d];
    s2 += x * e[b2 + d];
    s3 += x * e[b3 + d];
  }
  out[0] = s0;
  out[1] = s1;
  out[2] = s2;
  out[3] = s3;
}

/** True when λ and every `rel[0 .. n)` are finite (so no MMR value is NaN). */
function relFinite(lambda: number, rel: Float64Array, n: number): boolean {
  if (!Number.isFinite(lambda)) return false;
  for (let i = 0; i < n; i++) if (!Number.isFinite(rel[i])) return false;
  return true;
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
