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
 * @param embeddings `Float32Array` of length n × dim, row i = candidate i
 * @param dim embedding width
 * @param k how many to pick (≤ n)
 * @param lambda trade-off in [0, 1]: 1 = pure relevance, 0 = pure diversity
 * @param admit optional gate called with the best remaining candidate before it is picked: false
 *   skips it for good (how re-ranking applies creator caps); the round then takes the next best
 * @param scale how relevance is brought to [0, 1]; default `minmax`
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
): number[] {
  const n = relevance.length;
  const take = Math.min(k, n);
  if (take === 0) return [];
  const rel = scale === 'rank' ? rankRelevance(relevance) : minMaxRelevance(relevance);

  const picked = new Uint8Array(n); // 1 = on the list, 2 = refused by `admit`
  const order: number[] = [];

  // Round 0: no penalty yet; the best admitted candidate by λ·relevance alone (ties: lower index),
  // by a linear scan per attempt (usually one) rather than sorting all n.
  const first = new Float64Array(n);
  for (let i = 0; i < n; i++) first[i] = lambda * rel[i];
  for (;;) {
    let i = -1;
    for (let j = 0; j < n; j++) if (picked[j] === 0 && (i < 0 || first[j] > first[i])) i = j;
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
  const maxSim = new Float64Array(n).fill(Number.NEGATIVE_INFINITY);
  const seen = new Int32Array(n);
  const value = new Float64Array(n);
  const catchUp = (i: number) => {
    const a = i * dim;
    let m = maxSim[i];
    for (let p = seen[i]; p < order.length; p++) {
      const dot = dotAt(embeddings, a, order[p] * dim, dim);
      if (dot > m) m = dot;
    }
    maxSim[i] = m;
    seen[i] = order.length;
    value[i] = lambda * rel[i] - (1 - lambda) * m;
  };
  const heap = new IndexMaxHeap(value);
  for (let i = 0; i < n; i++) {
    if (picked[i]) continue;
    catchUp(i);
    heap.push(i);
  }
  while (order.length < take && heap.size > 0) {
    const top = heap.pop();
    if (seen[top] < order.length) {
      catchUp(top); // stale: its value can only have fallen; re-queue it
      heap.push(top);
      continue;
    }
    if (admit && !admit(top)) {
      picked[top] = 2;
      continue;
    }
    picked[top] = 1;
    order.push(top);
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

/** Rank-normalised relevance (`RelevanceScale` `rank`): O(n log n). */
function rankRelevance(relevance: ArrayLike<number>): Float64Array {
  const n = relevance.length;
  const rel = new Float64Array(n);
  if (n === 1) {
    rel[0] = 1;
    return rel;
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => relevance[b] - relevance[a]);
  let groupRank = 0;
  for (let r = 0; r < n; r++) {
    if (r > 0 && relevance[order[r]] !== relevance[order[r - 1]]) groupRank = r;
    rel[order[r]] = 1 - groupRank / (n - 1);
  }
  return rel;
}

/** Min-max-normalised relevance (`RelevanceScale` `minmax`); all equal → all 0. */
function minMaxRelevance(relevance: ArrayLike<number>): Float64Array {
  const n = relevance.length;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    if (relevance[i] < lo) lo = relevance[i];
    if (relevance[i] > hi) hi = relevance[i];
  }
  const span = hi - lo || 1;
  const rel = new Float64Array(n);
  for (let i = 0; i < n; i++) rel[i] = (relevance[i] - lo) / span;
  return rel;
}

/** Inner product of rows starting at offsets `a` and `b` of `e` (a top-level function: V8 optimises it once). */
function dotAt(e: Float32Array, a: number, b: number, dim: number): number {
  let dot = 0;
  for (let d = 0; d < dim; d++) dot += e[a + d] * e[b + d];
  return dot;
}

/**
 * A binary max-heap of candidate indices ordered by `key[i]` (higher first), ties to the lower index
 * — the plain greedy's tie rule. Keys are read at push/pop time: update a key only while its index
 * is out of the heap.
 */
class IndexMaxHeap {
  readonly #key: Float64Array;
  readonly #items: number[] = [];

  constructor(key: Float64Array) {
    this.#key = key;
  }

  get size(): number {
    return this.#items.length;
  }

  #above(a: number, b: number): boolean {
    const ka = this.#key[a];
    const kb = this.#key[b];
    return ka > kb || (ka === kb && a < b);
  }

  push(i: number): void {
    const h = this.#items;
    h.push(i);
    let c = h.length - 1;
    while (c > 0) {
      const p = (c - 1) >> 1;
      if (!this.#above(h[c], h[p])) break;
      const t = h[c];
      h[c] = h[p];
      h[p] = t;
      c = p;
    }
  }

  /** Removes and returns the top index; the heap must not be empty. */
  pop(): number {
    const h = this.#items;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let p = 0;
      for (;;) {
        const l = 2 * p + 1;
        const r = l + 1;
        let m = p;
        if (l < h.length && this.#above(h[l], h[m])) m = l;
        if (r < h.length && this.#above(h[r], h[m])) m = r;
        if (m === p) break;
        const t = h[p];
        h[p] = h[m];
        h[m] = t;
        p = m;
      }
    }
    return top;
  }
}
