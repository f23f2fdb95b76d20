/**
 * Indices of the `k` largest scores, best first, in O(n log k) with a binary min-heap (no sort of
 * all `n` entries: 1M videos → top 1000 in a few milliseconds). Ties break towards the lower index,
 * so the result is deterministic. Entries for which `score` returns a non-finite value are skipped.
 *
 * @param n number of candidates (indices `0 … n-1`)
 * @param k how many to keep (`min(k, n)` are returned)
 * @param score score of candidate `i`
 * @returns `Uint32Array` of length `min(k, finite candidates)`, indices by descending score
 */
export function topK(n: number, k: number, score: (i: number) => number): Uint32Array {
  const cap = Math.max(0, Math.min(k, n));
  const heapIdx = new Uint32Array(cap);
  const heapScore = new Float64Array(cap);
  let size = 0;
  // "a is worse than b": lower score, or equal score and higher index.
  const worse = (sa: number, ia: number, sb: number, ib: number) => sa < sb || (sa === sb && ia > ib);

  const siftUp = (pos: number) => {
    while (pos > 0) {
      const parent = (pos - 1) >> 1;
      if (!worse(heapScore[pos], heapIdx[pos], heapScore[parent], heapIdx[parent])) break;
      swap(pos, parent);
      pos = parent;
    }
  };
  const siftDown = (pos: number) => {
    for (;;) {
      const l = 2 * pos + 1;
      const r = l + 1;
      let m = pos;
      if (l < size && worse(heapScore[l], heapIdx[l], heapScore[m], heapIdx[m])) m = l;
      if (r < size && worse(heapScore[r], heapIdx[r], heapScore[m], heapIdx[m])) m = r;
      if (m === pos) return;
      swap(pos, m);
      pos = m;
    }
  };
  const swap = (a: number, b: number) => {
    const ti = heapIdx[a];
    heapIdx[a] = heapIdx[b];
    heapIdx[b] = ti;
    const ts = heapScore[a];
    heapScore[a] = heapScore[b];
    heapScore[b] = ts;
  };

  if (cap === 0) return heapIdx;
  for (let i = 0; i < n; i++) {
    const s = score(i);
    if (!Number.isFinite(s)) continue;
    if (size < cap) {
      heapIdx[size] = i;
      heapScore[size] = s;
      siftUp(size++);
    } else if (worse(heapScore[0], heapIdx[0], s, i)) {
      heapIdx[0] = i;
      heapScore[0] = s;
      siftDown(0);
    }
  }
  // Pop worst-first into the tail of the output.
  const out = new Uint32Array(size);
  for (let o = size - 1; o >= 0; o--) {
    out[o] = heapIdx[0];
    size--;
    if (size > 0) {
      heapIdx[0] = heapIdx[size];
      heapScore[0] = heapScore[size];
      siftDown(0);
    }
  }
  return out;
}
