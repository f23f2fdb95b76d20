import type { World } from './world.ts';

/**
 * Creator size tiers by follower count, smallest first. Thresholds follow the influencer-marketing
 * convention (nano under 10K, micro 10K–100K, mid 100K–500K, macro 500K–1M, mega 1M and up; e.g.
 * Influencer Marketing Hub's tier definitions).
 */
export const CREATOR_TIERS = ['nano', 'micro', 'mid', 'macro', 'mega'] as const;
export type CreatorTier = (typeof CREATOR_TIERS)[number];

/** Lowest follower count of each tier, in `CREATOR_TIERS` order. */
export const CREATOR_TIER_MIN_FOLLOWERS: readonly number[] = [0, 10_000, 100_000, 500_000, 1_000_000];

/** Index into `CREATOR_TIERS` of a creator with `followers` followers. */
export function tierOfFollowers(followers: number): number {
  let t = 0;
  while (t + 1 < CREATOR_TIER_MIN_FOLLOWERS.length && followers >= CREATOR_TIER_MIN_FOLLOWERS[t + 1]) t++;
  return t;
}

/**
 * Size tier of creator `c` from `world.creatorFollowers`. With the default priors (log-normal,
 * median ≈ 400, σ = 2) about 94.5% of creators are nano, 5.2% micro, 0.27% mid, 0.015% macro and
 * 0.005% mega: a world needs tens of thousands of creators (about a million videos) to hold a few
 * mega creators.
 */
export function creatorTier(world: World, c: number): CreatorTier {
  return CREATOR_TIERS[tierOfFollowers(world.creatorFollowers[c])];
}
