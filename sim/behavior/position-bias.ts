/**
 * Position bias: the probability that a user examines the item at 0-based `rank`,
 * `(1 / log2(rank + 2))^η` — 1 at the top, 0.29 at rank 9 for η = 1 (the DCG discount used as an
 * examination model). Examination is independent of the item (the examination hypothesis of the
 * position-based click model: Craswell et al., "An experimental comparison of click position-bias
 * models", WSDM 2008); η is the severity knob of Joachims et al., "Unbiased learning-to-rank with
 * biased feedback", WSDM 2017 (η = 0: no bias). Eye tracking (Joachims et al., SIGIR 2005) shows
 * the same steep decay over the first ranks.
 *
 * @param rank 0-based position in the list
 * @param exponent η ≥ 0 (`BehaviorParams.examinationExponent`); default 1
 * @returns probability in (0, 1]
 */
export function examinationProbability(rank: number, exponent = 1): number {
  const e = 1 / Math.log2(rank + 2);
  return exponent === 1 ? e : e ** exponent;
}
