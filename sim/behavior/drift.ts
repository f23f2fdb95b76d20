/**
 * Interest drift within a session: watching moves the user's effective preference toward what
 * they watched, so later lists of the same session are judged by the drifted state (the
 * "user state transition" of RecSim's user model — Ie et al. 2019, §3 — here a step toward the
 * consumed document's latent, as in RecSim's interest-evolution environment).
 *
 *   pref ← normalise((1 − s)·pref + s·latent_v),  s = driftStep × completion
 *
 * `completion` is the share of video v watched (0–1), so a half-watched video moves the
 * preference half as far. Both vectors are unit length, so the affinity scale is unchanged.
 *
 * @param pref the session's preference, `latentDim` wide, unit length; updated in place
 * @param videoLatent the world's `videoLatent` (`Float32Array(videos × latentDim)`)
 * @param v video index whose latent pulls the preference
 * @param step s in [0, 1]
 */
export function driftPreference(
  pref: Float64Array,
  videoLatent: Float32Array,
  v: number,
  step: number,
): void {
  if (!(step > 0)) return;
  const d = pref.length;
  const o = v * d;
  let norm = 0;
  for (let k = 0; k < d; k++) {
    const x = (1 - step) * pref[k] + step * videoLatent[o + k];
    pref[k] = x;
    norm += x * x;
  }
  if (norm === 0) return; // pref was exactly −latent_v at step 0.5: keep the zero, nothing to prefer
  const inv = 1 / Math.sqrt(norm);
  for (let k = 0; k < d; k++) pref[k] *= inv;
}
