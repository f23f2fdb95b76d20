import { REGION_HOME_BOOST } from './priors.ts';
import type { World } from './world.ts';

/**
 * Popularity of video `v` within region `r` (relative, same scale as `videoPopularity`): the global
 * share, times `REGION_HOME_BOOST` (4) when `r` is the video's home region.
 */
export function regionalPopularity(world: World, v: number, r: number): number {
  return world.videoPopularity[v] * (world.videoRegion[v] === r ? REGION_HOME_BOOST : 1);
}
