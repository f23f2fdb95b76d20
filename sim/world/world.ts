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
  /**
   * Seconds after `nowS` over which cold-start users and videos arrive (see `arrivals.ts`);
   * default 0: no arrivals, every entity exists at `nowS`.
   */
  arrivalWindowS?: number;
  /**
   * Share of the users that arrive in the window, in [0, 1); default
   * `min(0.5, NEW_USER_SHARE_PER_DAY × window in days)`. Ignored (0) without a window.
   */
  arrivingUserShare?: number;
  /**
   * Share of the videos uploaded in the window, in [0, 1); default
   * `window / (UPLOAD_WINDOW_S + window)` (the past upload rate), at most 0.5. Ignored (0) without a window.
   */
  arrivingVideoShare?: number;
}

/** `WorldConfig` with every default filled in (frozen). */
export interface ResolvedWorldConfig {
  readonly seed: number;
  readonly users: number;
  readonly videos: number;
  readonly creators: number;
  readonly latentDim: number;
  readonly nowS: number;
  /** Seconds after `nowS` in which arrivals happen (0: none). */
  readonly arrivalWindowS: number;
  /** Share of users arriving after `nowS` (0 without a window). */
  readonly arrivingUserShare: number;
  /** Share of videos uploaded after `nowS` (0 without a window). */
  readonly arrivingVideoShare: number;
}

export interface World {
  readonly config: ResolvedWorldConfig;
  /** Seed for the lazily generated display names (derived from stream `world.names`). */
  readonly namesSeed: number;
  /** Users that exist at `nowS`: indices `[0, initialUsers)`; the rest arrive later (`arrivals.ts`). */
  readonly initialUsers: number;
  /** Videos uploaded by `nowS`: indices `[0, initialVideos)`; the rest are uploaded later. */
  readonly initialVideos: number;

  /** Category centroids in latent space: `Float32Array` of length `NUM_CATEGORIES × latentDim`, unit rows. */
  readonly categoryCentroids: Float32Array;

  /** Region index per user (`REGIONS`), skewed distribution: `Uint8Array(users)`. */
  readonly userRegion: Uint8Array;
  /** Device index per user (`DEVICES`): `Uint8Array(users)`. */
  readonly userDevice: Uint8Array;
  /**
   * Signup time per user, Unix seconds: `Uint32Array(users)`; ≤ nowS for initial users, in
   * `(nowS, nowS + arrivalWindowS]` and non-decreasing for arrivals. Cohorts: `signupCohort`.
   */
  readonly userSignupS: Uint32Array;
  /** Relative session rate per user (log-normal, mean ≈ 1): `Float32Array(users)`. */
  readonly userActivity: Float32Array;
  /** Language per user (`LANGUAGES`), drawn from the region's mix (`REGION_LANGUAGE_WEIGHTS`): `Uint8Array(users)`. */
  readonly userLanguage: Uint8Array;
  /** Latent taste per user, unit rows: `Float32Array(users × latentDim)`. */
  readonly userLatent: Float32Array;

  /** Home category per creator: `Uint8Array(creators)`. */
  readonly creatorCategory: Uint8Array;
  /** Home region per creator: `Uint8Array(creators)`. */
  readonly creatorRegion: Uint8Array;
  /** Follower count per creator (heavy-tailed, log-normal); size tier: `creatorTier`. `Uint32Array(creators)`. */
  readonly creatorFollowers: Uint32Array;
  /** Language per creator (`LANGUAGES`, from the region's mix); a video's is its creator's: `Uint8Array(creators)`. */
  readonly creatorLanguage: Uint8Array;
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
  /**
   * Upload time, Unix seconds: `Uint32Array(videos)`; within `UPLOAD_WINDOW_S` before nowS for
   * initial videos, in `(nowS, nowS + arrivalWindowS]` and non-decreasing for arrivals.
   */
  readonly videoUploadTsS: Uint32Array;
  /** Production quality in [0, 1]: `Float32Array(videos)`. */
  readonly videoQuality: Float32Array;
  /**
   * Clickbait-ness in [0, 1] (mostly low, a tail of high; a creator habit, mildly anti-correlated
   * with quality; priors `CLICKBAIT_*`): `Float32Array(videos)`.
   */
  readonly videoClickbait: Float32Array;
  /** Popularity prior: share of all views (heavy-tailed, sums to 1): `Float32Array(videos)`. */
  readonly videoPopularity: Float32Array;
  /** Latent content vector, unit rows: `Float32Array(videos × latentDim)`. */
  readonly videoLatent: Float32Array;

  /**
   * Subscriptions (CSR) as of nowS: user i follows `subscriptionCreators[subscriptionOffsets[i] … subscriptionOffsets[i+1])`;
   * arriving users follow nobody yet. `Uint32Array(users + 1)`.
   */
  readonly subscriptionOffsets: Uint32Array;
  /** Creator indices, grouped by user: `Uint32Array(total subscriptions)`. */
  readonly subscriptionCreators: Uint32Array;
}
