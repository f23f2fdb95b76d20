/**
 * Probability calibration: Platt scaling and the expected calibration error.
 *
 * Sources: J. Platt, "Probabilistic Outputs for Support Vector Machines and Comparisons to
 * Regularized Likelihood Methods", 1999 (sigmoid on the score, fit by maximum likelihood with
 * smoothed targets); C. Guo et al., "On Calibration of Modern Neural Networks", ICML 2017 (ECE);
 * seed 001 ("Multi-task Calibration").
 */

/** A Platt map `p = sigmoid(a·logit + b)`; identity is `{ a: 1, b: 0 }`. */
export interface Platt {
  readonly a: number;
  readonly b: number;
}

export const IDENTITY_PLATT: Platt = { a: 1, b: 0 };

/** Logistic sigmoid in float64. */
export const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/**
 * Fits `sigmoid(a·logit + b)` to binary labels by Newton's method on the log-likelihood, with
 * Platt's smoothed targets `(N₊ + 1)/(N₊ + 2)` and `1/(N₋ + 2)` (which keep a and b finite on
 * separable or tiny samples). Returns the identity map when either class is empty, and the constant
 * base rate (`a = 0`) when the fitted slope is not positive.
 *
 * @param logits uncalibrated logits, one per example
 * @param labels 0/1, same length
 * @param mask optional: only rows with `mask[i] ≠ 0` take part
 */
export function fitPlatt(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  mask?: ArrayLike<number>,
): Platt {
  const n = logits.length;
  let pos = 0;
  let neg = 0;
  for (let i = 0; i < n; i++) {
    if (mask && !mask[i]) continue;
    if (labels[i]) pos++;
    else neg++;
  }
  if (pos === 0 || neg === 0) return IDENTITY_PLATT;
  const hi = (pos + 1) / (pos + 2);
  const lo = 1 / (neg + 2);
  let a = 1;
  let b = 0;
  for (let iter = 0; iter < 50; iter++) {
    // Gradient and Hessian of the negative log-likelihood in (a, b).
    let ga = 0;
    let gb = 0;
    let haa = 1e-9;
    let hab = 0;
    let hbb = 1e-9;
    for (let i = 0; i < n; i++) {
      if (mask && !mask[i]) continue;
      const z = logits[i];
      const p = sigmoid(a * z + b);
      const t = labels[i] ? hi : lo;
      const d = p - t;
      const w = p * (1 - p);
      ga += d * z;
      gb += d;
      haa += w * z * z;
      hab += w * z;
      hbb += w;
    }
    const det = haa * hbb - hab * hab;
    if (!(Math.abs(det) > 1e-12)) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a -= da;
    b -= db;
    if (Math.abs(da) + Math.abs(db) < 1e-9) break;
  }
  if (!Number.isFinite(a) || !Number.isFinite(b)) return IDENTITY_PLATT;
  // Keep the map monotone: a non-positive slope means the logit carries no signal on this sample,
  // so predict the (smoothed) base rate instead of reversing the head's order.
  if (a <= 0) return { a: 0, b: Math.log((pos + 1) / (neg + 1)) };
  return { a, b };
}

/**
 * Expected calibration error (Guo et al. 2017): predictions are put in `bins` equal-width bins of
 * [0, 1]; ECE = Σ_bins (n_bin / n) · |mean label − mean prediction|. In [0, 1]; NaN when no row
 * takes part.
 *
 * @param probs predicted probabilities; `labels` 0/1; `mask` optional row filter
 */
export function expectedCalibrationError(
  probs: ArrayLike<number>,
  labels: ArrayLike<number>,
  bins = 15,
  mask?: ArrayLike<number>,
): number {
  const count = new Float64Array(bins);
  const sumP = new Float64Array(bins);
  const sumY = new Float64Array(bins);
  let n = 0;
  for (let i = 0; i < probs.length; i++) {
    if (mask && !mask[i]) continue;
    const p = probs[i];
    const bin = Math.min(bins - 1, Math.max(0, Math.floor(p * bins)));
    count[bin]++;
    sumP[bin] += p;
    sumY[bin] += labels[i] ? 1 : 0;
    n++;
  }
  if (n === 0) return Number.NaN;
  let ece = 0;
  for (let b = 0; b < bins; b++) if (count[b] > 0) ece += Math.abs(sumY[b] - sumP[b]) / n;
  return ece;
}
