/**
 * Exact click probabilities of the behaviour model's choice step, without sampling: each position i
 * is examined independently with probability eᵢ (position bias), then the user picks one examined
 * item or nothing by multinomial logit (RecSim's no-click option). With xⱼ = exp(β(uⱼ − a₀)):
 *
 *   P(click i) = eᵢ·xᵢ · E[ 1 / (1 + xᵢ + Σ_{j≠i, j examined} xⱼ) ]
 *
 * The expectation over the 2ⁿ examination subsets is computed with `1/c = ∫₀^∞ e^{−tc} dt` and the
 * independence of examinations:
 *
 *   P(click i) = eᵢ·xᵢ ∫₀^∞ e^{−t(1+xᵢ)} Π_{j≠i} (1 − eⱼ + eⱼ·e^{−t·xⱼ}) dt
 *
 * integrated after `t = e^τ` by the trapezoid rule (step 0.5 over τ ∈ [−ln(1 + Σx) − 14, 3]): the
 * integrand is smooth and decays at both ends, so the rule converges geometrically — error below
 * 1e-6 (relative), checked against subset enumeration in test/unit/behavior.test.ts. Cost O(n) per
 * node, about 40 nodes: ≈ 10 µs for n = 10 on the 2-core dev box, linear in n (enumeration would be
 * 2ⁿ). When every eᵢ is 0 or 1 (no position bias) the closed form `xᵢ / (1 + Σ xⱼ)` is used.
 *
 * @param utilities click utility per position (affinity scale), length n
 * @param examination examination probability per position, in [0, 1], length n
 * @param beta inverse temperature β > 0
 * @param noClickUtility a₀
 * @param out written with P(click at position i); length ≥ n
 * @returns `out`
 */
export function clickProbabilities(
  utilities: ArrayLike<number>,
  examination: ArrayLike<number>,
  beta: number,
  noClickUtility: number,
  out: Float64Array,
): Float64Array {
  const n = utilities.length;
  if (scratch.xs.length < n + 1) grow(n + 1);
  const { xs, ex, acc, prefix } = scratch;
  let sumX = 0;
  let binary = true;
  for (let j = 0; j < n; j++) {
    // Capped so that 1 + Σx stays finite; e^60 already makes the no-click option irrelevant.
    xs[j] = Math.exp(Math.min(MAX_LOG_ODDS, beta * (utilities[j] - noClickUtility)));
    const e = examination[j];
    if (e !== 0 && e !== 1) binary = false;
    sumX += xs[j];
  }
  if (binary) {
    let examinedX = 0;
    for (let j = 0; j < n; j++) if (examination[j] === 1) examinedX += xs[j];
    for (let i = 0; i < n; i++) out[i] = examination[i] === 1 ? xs[i] / (1 + examinedX) : 0;
    return out;
  }
  for (let i = 0; i < n; i++) acc[i] = 0;
  const tauLo = -Math.log1p(sumX) - TAIL_NATS;
  const nodes = Math.ceil((TAU_HI - tauLo) / STEP);
  for (let s = 0; s <= nodes; s++) {
    const t = Math.exp(tauLo + s * STEP);
    // prefix[j] = Π_{m<j} q_m, suffix built on the fly from the right.
    prefix[0] = 1;
    for (let j = 0; j < n; j++) {
      ex[j] = Math.exp(-t * xs[j]);
      const e = examination[j];
      prefix[j + 1] = prefix[j] * (1 - e + e * ex[j]);
    }
    const base = t * Math.exp(-t);
    let suffix = 1;
    for (let i = n - 1; i >= 0; i--) {
      acc[i] += base * ex[i] * prefix[i] * suffix;
      const e = examination[i];
      suffix *= 1 - e + e * ex[i];
    }
  }
  for (let i = 0; i < n; i++) out[i] = examination[i] * xs[i] * STEP * acc[i];
  return out;
}

const MAX_LOG_ODDS = 60;
const STEP = 0.5;
const TAU_HI = 3;
const TAIL_NATS = 14;

/** Reused work arrays (the function runs per scored list: no allocation in steady state). */
const scratch = {
  xs: new Float64Array(32),
  ex: new Float64Array(32),
  acc: new Float64Array(32),
  prefix: new Float64Array(33),
};

function grow(n: number): void {
  const size = Math.max(n, scratch.xs.length * 2);
  scratch.xs = new Float64Array(size);
  scratch.ex = new Float64Array(size);
  scratch.acc = new Float64Array(size);
  scratch.prefix = new Float64Array(size + 1);
}
