import type { RandomStream } from '../../core/ports/random.ts';

/**
 * Walker's alias method: O(n) build, O(1) draws from a discrete distribution with `n` outcomes.
 * Used for every weighted draw over users, creators and videos (millions of outcomes).
 *
 * Source: A. J. Walker, "An efficient method for generating discrete random variables with general
 * distributions", ACM TOMS 3(3), 1977 (Vose's numerically stable construction).
 */
export interface AliasTable {
  /** Number of outcomes. */
  readonly size: number;
  /** One draw in `[0, size)`. */
  sample(rng: RandomStream): number;
}

/**
 * Builds an alias table from non-negative weights (need not sum to 1). Outcomes with weight 0 are
 * never drawn. Throws `RangeError` when `weights` is empty, has a negative or non-finite entry, or
 * sums to 0.
 */
export function aliasTable(weights: ArrayLike<number>): AliasTable {
  const n = weights.length;
  if (n === 0) throw new RangeError('aliasTable: no weights');
  let total = 0;
  for (let i = 0; i < n; i++) {
    const w = weights[i];
    if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`aliasTable: weight ${i} is ${w}`);
    total += w;
  }
  if (total <= 0) throw new RangeError('aliasTable: weights sum to 0');

  const prob = new Float64Array(n);
  const alias = new Uint32Array(n);
  const scaled = new Float64Array(n);
  const small = new Uint32Array(n);
  const large = new Uint32Array(n);
  let ns = 0;
  let nl = 0;
  for (let i = 0; i < n; i++) {
    scaled[i] = (weights[i] * n) / total;
    if (scaled[i] < 1) small[ns++] = i;
    else large[nl++] = i;
  }
  while (ns > 0 && nl > 0) {
    const s = small[--ns];
    const l = large[--nl];
    prob[s] = scaled[s];
    alias[s] = l;
    scaled[l] = scaled[l] + scaled[s] - 1;
    if (scaled[l] < 1) small[ns++] = l;
    else large[nl++] = l;
  }
  while (nl > 0) prob[large[--nl]] = 1;
  while (ns > 0) prob[small[--ns]] = 1;

  return {
    size: n,
    sample(rng: RandomStream): number {
      const u = rng.next() * n;
      const i = Math.floor(u);
      return u - i < prob[i] ? i : alias[i];
    },
  };
}
