/**
 * Position bias: the probability that a user examines the item at 0-based `rank`,
 * `1 / log2(rank + 2)` (1 at the top, 0.29 at rank 9) — the DCG discount used as an examination
 * model, after the position-based click model (Craswell et al., "An experimental comparison of click
 * position-bias models", WSDM 2008; Joachims et al., "Unbiased learning-to-rank with biased
 * feedback", WSDM 2017).
 */
export function examinationProbability(rank: number): number {
  return 1 / Math.log2(rank + 2);
}
