/**
 * Offline evaluation metrics for the trained models.
 */

/**
 * Area under the ROC curve from scores and binary labels, by the rank-sum (Mann–Whitney U)
 * identity; tied scores share their average rank. Returns NaN when either class is empty.
 * O(n log n).
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let positives = 0;
  let rankSumPositives = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const avgRank = (i + j) / 2 + 1; // 1-based
    for (let t = i; t <= j; t++) {
      if (labels[order[t]]) {
        positives++;
        rankSumPositives += avgRank;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSumPositives - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Root mean squared error between predictions and targets (same units as the inputs). NaN when empty. */
export function rmse(predicted: ArrayLike<number>, actual: ArrayLike<number>): number {
  const n = predicted.length;
  if (n === 0) return Number.NaN;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const e = predicted[i] - actual[i];
    s += e * e;
  }
  return Math.sqrt(s / n);
}

/**
 * Rank (0-based) of `target` among `count` candidates scored by `score`: the number of candidates
 * scoring strictly higher, plus the lower-indexed ones scoring equal (so ties do not flatter).
 * "Hit at k" ⇔ rank < k. O(count).
 */
export function rankOf(count: number, target: number, score: (i: number) => number): number {
  const s = score(target);
  let rank = 0;
  for (let i = 0; i < count; i++) {
    const x = score(i);
    if (x > s || (x === s && i < target)) rank++;
  }
  return rank;
}

/** Ranks (0-based, ties share their average rank) of `values`: `Float64Array(n)`. */
function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const ranks = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && values[order[j + 1]] === values[order[i]]) j++;
    for (let t = i; t <= j; t++) ranks[order[t]] = (i + j) / 2;
    i = j + 1;
  }
  return ranks;
}

/**
 * Spearman's rank correlation of `a` and `b` (same length): Pearson's correlation of their average
 * ranks, in [−1, 1]. NaN with fewer than two values or when either side is constant. O(n log n).
 */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (n < 2 || b.length !== n) return Number.NaN;
  const ra = averageRanks(a);
  const rb = averageRanks(b);
  const mean = (n - 1) / 2; // the mean of 0-based average ranks
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (ra[i] - mean) * (rb[i] - mean);
    saa += (ra[i] - mean) ** 2;
    sbb += (rb[i] - mean) ** 2;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : Number.NaN;
}
