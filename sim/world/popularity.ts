import { regionLanguageShare, videoLanguage } from './languages.ts';
import { LANGUAGE_REACH_FLOOR, REGION_HOME_BOOST } from './priors.ts';
import type { World } from './world.ts';

/**
 * Popularity of video `v` within region `r` (relative, same scale as `videoPopularity`, not
 * normalised per region): the global share, times `REGION_HOME_BOOST` (4) when `r` is the video's
 * home region, times the video's reach in `r`'s languages,
 * `LANGUAGE_REACH_FLOOR + (1 − LANGUAGE_REACH_FLOOR) · share of r speaking the video's language`
 * (between 0.25 and 1). So regional charts differ: local hits lead, and a Spanish video travels to
 * Latin America and North America but hardly to East Asia.
 */
export function regionalPopularity(world: World, v: number, r: number): number {
  const reach =
    LANGUAGE_REACH_FLOOR + (1 - LANGUAGE_REACH_FLOOR) * regionLanguageShare(r, videoLanguage(world, v));
  return world.videoPopularity[v] * (world.videoRegion[v] === r ? REGION_HOME_BOOST : 1) * reach;
}
