/**
 * A phase's answers by rung as shares, largest first: the one definition behind the live progress
 * line, `reclab sim`'s rung sequence, bench/sim-fidelity.ts and the tests that compare rung mixes.
 *
 * @param rungCounts 2xx responses per rung (`PhaseResult.rungCounts`)
 * @returns `[rung, share]` pairs, share in [0, 1], rungs with no answer left out, largest share
 *   first (ties by name); `[]` when nothing was served
 */
export function rungMix(rungCounts: Readonly<Record<string, number>>): [rung: string, share: number][] {
  const served = Object.values(rungCounts).reduce((a, b) => a + b, 0);
  if (served === 0) return [];
  return Object.entries(rungCounts)
    .filter(([, n]) => n > 0)
    .map(([r, n]): [string, number] => [r, n / served])
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}
