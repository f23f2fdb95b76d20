export { AFFINITY_QUALITY_WEIGHT, AFFINITY_SAME_REGION_BONUS, affinity } from './affinity.ts';
export { arrivalsBetween, arrivedUsers, arrivedVideos, type IndexRange } from './arrivals.ts';
export { COHORT_WIDTH_S, signupCohort } from './cohorts.ts';
export {
  CREATOR_TIER_MIN_FOLLOWERS,
  CREATOR_TIERS,
  type CreatorTier,
  creatorTier,
  tierOfFollowers,
} from './creator-tiers.ts';
export { type GenerateWorldOptions, generateWorld, resolveConfig } from './generate-world.ts';
export { creatorId, parseUserId, parseVideoId, userId, userIndexOrMissing, videoId } from './ids.ts';
export {
  LANGUAGES,
  type Language,
  NUM_LANGUAGES,
  REGION_LANGUAGE_WEIGHTS,
  regionLanguageShare,
  videoLanguage,
} from './languages.ts';
export { creatorName, userName, videoTitle } from './names.ts';
export { regionalPopularity } from './popularity.ts';
export {
  DEFAULT_LATENT_DIM,
  DEFAULT_NOW_S,
  DEFAULT_VIDEOS_PER_CREATOR,
  type ResolvedWorldConfig,
  UPLOAD_WINDOW_S,
  type World,
  type WorldConfig,
} from './world.ts';
export { WORLD_FORMAT_VERSION, worldArrays, worldBytes, worldHash } from './world-hash.ts';
