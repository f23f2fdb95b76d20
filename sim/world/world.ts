/**
 * The synthetic world: users, creators, videos and subscriptions as flat typed arrays (no object per
 * entity, so a million users cost tens of megabytes, not a gigabyte of heap).
 *
 * Every array is indexed by the entity's index; ids as strings (`u_17`, `v_42`) come from `ids.ts`.
 * Matrices are row-major: row `i` of `userLatent` is `userLatent.subarray(i * latentDim, (i+1) * latentDim)`.
 */

/** Fixed reference "now" of a world, Unix seconds (2026-01-01T00:00:00Z): keeps worlds deterministic. */
export const DEFAULT_NOW_S = 1_767_225_600;
/** Default width of the latent preference / content vectors. */
export const DEFAULT_LATENT_DIM = 16;
/** Default videos per creator when `creators` is not given. */
export const DEFAULT_VIDEOS_PER_CREATOR = 20;
/** Videos are uploaded uniformly over this window before `nowS` (30 days, in seconds). */
export const UPLOAD_WINDOW_S = 30 * 86_400;

/** What to build. Sizes are counts; `nowS` is Unix seconds. */
export interface WorldConfig {
  /** Run seed; every random draw derives from it through named streams. */
  seed: number;
  /** Number of users (≥ 1). */
  users: number;
  /** Number of videos (≥ 1). */
  videos: number;
  /** Number of creators (≥ 1); default `ceil(videos / 20)`. */
  creators?: number;
  /** Latent dimension (≥ 2); default 16. */
  latentDim?: number;
  /** Reference "now", Unix seconds; default `DEFAULT_NOW_S`. */
  nowS?: number;
}

/** `WorldConfig` with every default filled in (frozen). */
export interface ResolvedWorldConfig {
  readonly seed: number;
  readonly users: number;
  readonly videos: number;
  readonly creators: number;
  readonly latentDim: number;
  readonly nowS: number;
}

export interface World {
  readonly config: ResolvedWorldConfig;
  /** Seed for the lazily generated display names (derived from stream `world.names`). */
  readonly namesSeed: number;

  /** Category centroids in latent space: `Float32Array` of length `NUM_CATEGORIES × latentDim`, unit rows. */
  readonly categoryCentroids: Float32Array;

  /** Region index per user (`REGIONS`), skewed distribution: `Uint8Array(users)`. */
  readonly userRegion: Uint8Array;
  /** Device index per user (`DEVICES`): `Uint8Array(users)`. */
  readonly userDevice: Uint8Array;
  /** Signup time per user, Unix seconds (≤ nowS): `Uint32Array(users)`. */
  readonly userSignupS: Uint32Array;
  /** Relative session rate per user (log-normal, mean ≈ 1): `Float32Array(users)`. */
  readonly userActivity: Float32Array;
  /** Latent taste per user, unit rows: `Float32Array(users × latentDim)`. */
  readonly userLatent: Float32Array;

  /** Home category per creator: `Uint8Array(creators)`. */
  readonly creatorCategory: Uint8Array;
  /** Home region per creator: `Uint8Array(creators)`. */
  readonly creatorRegion: Uint8Array;
  /** Follower count per creator (heavy-tailed, log-normal): `Uint32Array(creators)`. */
  readonly creatorFollowers: Uint32Array;
  /** Latent style per creator, unit rows: `Float32Array(creators × latentDim)`. */
  readonly creatorLatent: Float32Array;

  /** Creator index per video: `Uint32Array(videos)`. */
  readonly videoCreator: Uint32Array;
  /** Category index per video (mostly the creator's home category): `Uint8Array(videos)`. */
  readonly videoCategory: Uint8Array;
  /** Home region per video (its creator's region): `Uint8Array(videos)`. */
  readonly videoRegion: Uint8Array;
  /** Duration in seconds (log-normal, median ≈ 4 min): `Float32Array(videos)`. */
  readonly videoDurationS: Float32Array;
  /** Upload time, Unix seconds, within `UPLOAD_WINDOW_S` before nowS: `Uint32Array(videos)`. */
  readonly videoUploadTsS: Uint32Array;
  /** Production quality in [0, 1]: `Float32Array(videos)`. */
  readonly videoQuality: Float32Array;
  /** Popularity prior: share of all views (heavy-tailed, sums to 1): `Float32Array(videos)`. */
  readonly videoPopularity: Float32Array;
  /** Latent content vector, unit rows: `Float32Array(videos × latentDim)`. */
  readonly videoLatent: Float32Array;

  /** Subscriptions (CSR): user i follows `subscriptionCreators[subscriptionOffsets[i] … subscriptionOffsets[i+1])`. `Uint32Array(users + 1)`. */
  readonly subscriptionOffsets: Uint32Array;
  /** Creator indices, grouped by user: `Uint32Array(total subscriptions)`. */
  readonly subscriptionCreators: Uint32Array;
}
