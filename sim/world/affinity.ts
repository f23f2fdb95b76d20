import { dotRows } from '../util/vector.ts';
import type { World } from './world.ts';

/** Weight of `(quality − 0.5)` in the ground-truth affinity. */
export const AFFINITY_QUALITY_WEIGHT = 0.6;
/** Bonus when the video's home region is the user's region (language, locale). */
export const AFFINITY_SAME_REGION_BONUS = 0.1;

/**
 * Ground-truth affinity of user `u` for video `v`: `⟨userLatent_u, videoLatent_v⟩ +
 * 0.6 · (quality_v − 0.5) + 0.1 · [region_u = region_v]`. Both latents are unit vectors, so the
 * value lies in about [−1.4, 1.4]. Models never see it: they learn from logged clicks only.
 */
export function affinity(world: World, u: number, v: number): number {
  const d = world.config.latentDim;
  return (
    dotRows(world.userLatent, u, world.videoLatent, v, d) +
    AFFINITY_QUALITY_WEIGHT * (world.videoQuality[v] - 0.5) +
    (world.userRegion[u] === world.videoRegion[v] ? AFFINITY_SAME_REGION_BONUS : 0)
  );
}
