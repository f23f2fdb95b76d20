/**
 * Multinomial-logit choice with a no-click option, as in RecSim's `MultinomialLogitChoiceModel`
 * (Ie et al., "RecSim: A Configurable Simulation Platform for Recommender Systems", 2019):
 * among the examined items, item i is chosen with probability
 * `exp(β·aᵢ) / (exp(β·a₀) + Σⱼ exp(β·aⱼ))`, where `a₀` is the utility of not clicking.
 *
 * @param utilities affinity per item, in list order
 * @param examined 1 when the item at that position was examined, else 0 (same length)
 * @param beta inverse temperature β (> 0)
 * @param noClickUtility a₀
 * @param u01 a uniform draw in [0, 1)
 * @returns the chosen position, or −1 for no click
 */
export function chooseMultinomialLogit(
  utilities: ArrayLike<number>,
  examined: ArrayLike<number>,
  beta: number,
  noClickUtility: number,
  u01: number,
): number {
  // Subtract the maximum before exponentiating so large β·a never overflows.
  let max = noClickUtility;
  for (let i = 0; i < utilities.length; i++) if (examined[i] && utilities[i] > max) max = utilities[i];
  let total = Math.exp(beta * (noClickUtility - max));
  for (let i = 0; i < utilities.length; i++) if (examined[i]) total += Math.exp(beta * (utilities[i] - max));
  let x = u01 * total - Math.exp(beta * (noClickUtility - max));
  if (x < 0) return -1;
  let last = -1;
  for (let i = 0; i < utilities.length; i++) {
    if (!examined[i]) continue;
    last = i;
    x -= Math.exp(beta * (utilities[i] - max));
    if (x < 0) return i;
  }
  return last; // rounding left a sliver: the last examined item
}
