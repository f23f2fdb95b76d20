export { AFFINITY_QUALITY_WEIGHT, AFFINITY_SAME_REGION_BONUS, affinity } from './affinity.ts';
export { generateWorld, resolveConfig } from './generate-world.ts';
export { creatorId, parseUserId, parseVideoId, userId, videoId } from './ids.ts';
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
export { WORLD_FORMAT_VERSION, worldHash } from './world-hash.ts';
