/**
 * The population stability index (PSI) and the binning it needs: pure functions, no I/O.
 *
 * PSI compares the proportions `a` of a served (actual) sample with the proportions `e` of the
 * training (expected) sample over the same bins:
 *
 *     PSI = Σ_i (a_i − e_i) · ln(a_i / e_i)
 *
 * (Siddiqi, "Credit Risk Scorecards", 2006, ch. 8; the symmetrised Kullback–Leibler divergence of
 * the two binned distributions). The usual reading, and seed 003 §9's: below 0.1 stable, 0.1–0.25
 * worth a look (warn), above 0.25 a shift to act on (retrain or roll back).
 */

/** Proportions below this count as this (an empty bin would make `ln(a/e)` infinite). */
export const PSI_EPSILON = 1e-4;

/** Seed 003 §9's thresholds. */
export const PSI_WARN = 0.1;
export const PSI_ACT = 0.25;

/**
 * Index of the bin `x` falls in for interior cut points `edges` (ascending): bin 0 is
 * `(-∞, edges[0])`, bin i is `[edges[i-1], edges[i])`, the last is `[edges[k-2], ∞)`; so there are
 * `edges.length + 1` bins. NaN falls in bin 0. Binary search: O(log k).
 */
export function binOf(x: number, edges: readonly number[]): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x >= edges[mid]) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Counts per bin of `values` (`edges.length + 1` bins, `binOf`). */
export function binCounts(values: ArrayLike<number>, edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (let i = 0; i < values.length; i++) counts[binOf(values[i], edges)]++;
  return counts;
}

/**
 * Interior cut points that split `values` into `bins` bins of about equal counts (the empirical
 * quantiles at 1/bins … (bins−1)/bins), duplicates removed: a feature with few distinct values
 * (a one-hot, a small count) gets fewer bins, each holding whole values.
 * @throws Error when `values` is empty or `bins` < 2
 */
export function quantileEdges(values: ArrayLike<number>, bins: number): number[] {
  if (values.length === 0) throw new Error('quantileEdges: no values');
  if (!(Number.isInteger(bins) && bins >= 2)) throw new Error(`quantileEdges: bins ${bins} < 2`);
  const sorted = Float64Array.from(values).sort();
  const edges: number[] = [];
  for (let j = 1; j < bins; j++) {
    const x = sorted[Math.floor((j * sorted.length) / bins)];
    // An edge at the minimum would leave bin 0 empty; equal edges would make empty bins.
    if (x > sorted[0] && (edges.length === 0 || x > edges[edges.length - 1])) edges.push(x);
  }
  return edges;
}

/** Counts → proportions (all 0 for no counts). */
export function proportions(counts: readonly number[]): number[] {
  const n = counts.reduce((s, c) => s + c, 0);
  return counts.map((c) => (n > 0 ? c / n : 0));
}

/**
 * PSI of the `actual` proportions against the `expected` ones (same bins), each proportion floored
 * at `epsilon` first. Always ≥ 0; 0 for identical proportions.
 * @throws Error when the two have different lengths
 */
export function psi(expected: readonly number[], actual: readonly number[], epsilon = PSI_EPSILON): number {
  if (expected.length !== actual.length) {
    throw new Error(`psi: ${expected.length} expected bins vs ${actual.length} actual`);
  }
  let sum = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(epsilon, expected[i]);
    const a = Math.max(epsilon, actual[i]);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

/** Cells of a BinnedWindow's lookup table between its lowest and highest edge. */
const LOOKUP_CELLS = 1024;

/**
 * The last `size` values of one feature, kept as bin indices with running counts per bin: adding a
 * value is O(1) (O(log k) where edges crowd), reading the proportions O(k), memory one byte per
 * value. The hot path (`addStrided`, one call per feature and request) works on typed arrays held
 * in locals and allocates nothing. Bins come from a table precomputed over LOOKUP_CELLS equal cells
 * between the lowest and the highest edge: a cell without an edge has one bin, a cell with one edge
 * needs one comparison, a cell with more falls back to `binOf`'s binary search; the bins are
 * exactly `binOf`'s (cells are monotone in the value, so every edge of a lower cell is below it).
 */
export class BinnedWindow {
  readonly edges: readonly number[];
  readonly size: number;
  readonly #edges: Float64Array;
  readonly #ring: Uint8Array;
  readonly #counts: Int32Array;
  /** The table: absent when the edges are fewer than 2, not strictly ascending or not finite. */
  readonly #lut:
    | { lo: number; hi: number; scale: number; base: Int16Array; edgeAt: Float64Array }
    | undefined;
  #next = 0;
  #filled = 0;

  /** @throws Error for more than 256 bins or a size < 1 */
  constructor(edges: readonly number[], size: number) {
    if (edges.length + 1 > 256) throw new Error(`BinnedWindow: ${edges.length + 1} bins > 256`);
    if (!(Number.isInteger(size) && size >= 1)) throw new Error(`BinnedWindow: size ${size}`);
    this.edges = edges;
    this.size = size;
    this.#edges = Float64Array.from(edges);
    this.#ring = new Uint8Array(size);
    this.#counts = new Int32Array(edges.length + 1);
    this.#lut = lookupTable(this.#edges);
  }

  add(x: number): void {
    const bin = binOf(x, this.edges);
    if (this.#filled === this.size) this.#counts[this.#ring[this.#next]]--;
    else this.#filled++;
    this.#ring[this.#next] = bin;
    this.#counts[bin]++;
    if (++this.#next === this.size) this.#next = 0;
  }

  /**
   * Adds `n` values `values[start + i * stride]` (i = 0 … n−1), e.g. one column of a row-major
   * matrix; the same bins as `binOf`.
   */
  addStrided(values: ArrayLike<number>, start: number, stride: number, n: number): void {
    const edges = this.#edges;
    const k = edges.length;
    const ring = this.#ring;
    const counts = this.#counts;
    const size = this.size;
    const lut = this.#lut;
    let next = this.#next;
    let filled = this.#filled;
    for (let i = 0, at = start; i < n; i++, at += stride) {
      const x = values[at];
      let bin = -1;
      if (lut !== undefined) {
        if (!(x >= lut.lo))
          bin = 0; // below the lowest edge, or NaN
        else if (x >= lut.hi) bin = k;
        else {
          const c = Math.min(LOOKUP_CELLS - 1, Math.floor((x - lut.lo) * lut.scale));
          const b = lut.base[c];
          if (b >= 0) bin = x >= lut.edgeAt[c] ? b + 1 : b;
        }
      }
      if (bin < 0) {
        let lo = 0;
        let hi = k;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (x >= edges[mid]) lo = mid + 1;
          else hi = mid;
        }
        bin = lo;
      }
      if (filled === size) counts[ring[next]]--;
      else filled++;
      ring[next] = bin;
      counts[bin]++;
      if (++next === size) next = 0;
    }
    this.#next = next;
    this.#filled = filled;
  }

  /** Values in the window (≤ `size`). */
  get samples(): number {
    return this.#filled;
  }

  proportions(): number[] {
    return proportions(Array.from(this.#counts));
  }
}

/**
 * BinnedWindow's table for `edges` (k ≥ 2, strictly ascending, finite): for a value in
 * [edges[0], edges[k−1]), cell `c = min(CELLS − 1, floor((x − lo) · scale))`; `base[c]` is the bin
 * of the cell's values below its own edge (1 + the interior edges of lower cells), `edgeAt[c]` that
 * edge (+∞ when the cell has none); `base[c]` is −1 when the cell holds two or more edges.
 */
function lookupTable(edges: Float64Array) {
  const k = edges.length;
  if (k < 2) return undefined;
  for (let j = 0; j < k; j++) {
    if (!Number.isFinite(edges[j]) || (j > 0 && !(edges[j] > edges[j - 1]))) return undefined;
  }
  const lo = edges[0];
  const hi = edges[k - 1];
  const scale = LOOKUP_CELLS / (hi - lo);
  if (!Number.isFinite(scale)) return undefined;
  const cellOf = (x: number) => Math.min(LOOKUP_CELLS - 1, Math.floor((x - lo) * scale));
  const inCell = new Int16Array(LOOKUP_CELLS);
  const edgeAt = new Float64Array(LOOKUP_CELLS).fill(Number.POSITIVE_INFINITY);
  for (let j = 1; j < k - 1; j++) {
    const c = cellOf(edges[j]);
    inCell[c]++;
    edgeAt[c] = edges[j];
  }
  const base = new Int16Array(LOOKUP_CELLS);
  let below = 1;
  for (let c = 0; c < LOOKUP_CELLS; c++) {
    base[c] = inCell[c] > 1 ? -1 : below;
    below += inCell[c];
  }
  return { lo, hi, scale, base, edgeAt };
}
