import { NUM_CATEGORIES, NUM_DEVICES, NUM_REGIONS } from '../../core/features/schema.ts';

/**
 * Shape parameters of the world's distributions. Plain data so a reader sees the world's
 * assumptions in one place; changing any of them changes every world hash.
 */

/** Share of users per region, in `REGIONS` order (na, latam, eu, africa, mena, south_asia, east_asia, oceania). */
export const REGION_WEIGHTS: readonly number[] = [0.22, 0.12, 0.2, 0.06, 0.06, 0.16, 0.14, 0.04];
/** Share of users per device, in `DEVICES` order (mobile, desktop, tv). */
export const DEVICE_WEIGHTS: readonly number[] = [0.65, 0.25, 0.1];
/** Relative size of each category (taste and supply), in `CATEGORIES` order. */
export const CATEGORY_WEIGHTS: readonly number[] = [
  0.14, 0.12, 0.07, 0.08, 0.09, 0.06, 0.04, 0.06, 0.04, 0.05, 0.07, 0.05, 0.03, 0.03, 0.04, 0.03,
];

/** Tenure: log-normal, median 400 days, sigma 1.2; capped at 15 years. */
export const TENURE_DAYS_MEDIAN = 400;
export const TENURE_DAYS_SIGMA = 1.2;
export const TENURE_DAYS_MAX = 15 * 365;
/** User activity (relative session rate): log-normal sigma (mean normalised to ≈ 1). */
export const USER_ACTIVITY_SIGMA = 1.0;
/** Weights of a user's 1–3 taste categories in their latent vector, and the noise scale. */
export const USER_TASTE_WEIGHTS: readonly number[] = [1, 0.55, 0.35];
export const USER_LATENT_NOISE = 0.6;

/** Creator followers: log-normal, median e^6 ≈ 400, sigma 2 (heavy tail: a few creators with millions). */
export const CREATOR_FOLLOWERS_LOG_MEDIAN = 6;
export const CREATOR_FOLLOWERS_SIGMA = 2;
export const CREATOR_LATENT_NOISE = 0.5;

/** A video is in its creator's home category with this probability, else any category. */
export const VIDEO_HOME_CATEGORY_PROBABILITY = 0.85;
/** Video latent = normalise(a·centroid + b·creator + c·noise). */
export const VIDEO_LATENT_MIX = { centroid: 0.9, creator: 0.4, noise: 0.4 } as const;
/** Duration: log-normal, median 240 s, sigma 0.9, clamped to [10 s, 4 h]. */
export const DURATION_S_MEDIAN = 240;
export const DURATION_SIGMA = 0.9;
export const DURATION_S_MIN = 10;
export const DURATION_S_MAX = 4 * 3600;
/** Quality = sigmoid(QUALITY_SIGMA · z). */
export const QUALITY_SIGMA = 1.2;
/**
 * Popularity prior: log-weight = quality z + 0.3 · ln(creator followers) + 1.6 · noise, then
 * normalised to shares. Total log-sigma ≈ 2, so the top 1% of videos hold roughly a third of views.
 */
export const POPULARITY_QUALITY_WEIGHT = 1.0;
export const POPULARITY_FOLLOWERS_WEIGHT = 0.3;
export const POPULARITY_NOISE_SIGMA = 1.6;
/** Creators are picked for a video with weight followers^this. */
export const CREATOR_UPLOAD_EXPONENT = 0.5;

/** Subscriptions per user: log-normal, median 5, sigma 0.8, at most 200 (and at most the creator count). */
export const SUBSCRIPTIONS_MEDIAN = 5;
export const SUBSCRIPTIONS_SIGMA = 0.8;
export const SUBSCRIPTIONS_MAX = 200;
/** A subscription ignores taste (follows a big creator anywhere) with this probability. */
export const SUBSCRIPTION_RANDOM_PROBABILITY = 0.15;
/** Sharpness of the taste → category choice for subscriptions: p(category) ∝ exp(this · dot). */
export const SUBSCRIPTION_TASTE_SHARPNESS = 6;

/** A video is this many times more popular in its home region (regional popularity sets). */
export const REGION_HOME_BOOST = 4;
/**
 * Reach of a video outside its language: in region r, popularity is scaled by
 * `LANGUAGE_REACH_FLOOR + (1 − LANGUAGE_REACH_FLOOR) · share of r speaking the video's language`, so
 * content in a language nobody in r speaks keeps a quarter of its reach (music, visual formats).
 */
export const LANGUAGE_REACH_FLOOR = 0.25;

/**
 * Clickbait-ness in [0, 1] = sigmoid(mean + sigma · z) with
 * z = QUALITY_CORRELATION · z_quality + CREATOR_LOADING · z_creator + rest · z_video (unit variance):
 * a habit of the creator, mildly anti-correlated with quality. Median ≈ 0.10; about 4.5% of videos
 * score above 0.5 and 0.3% above 0.8 (mostly low, a tail of high).
 */
export const CLICKBAIT_LOGIT_MEAN = -2.2;
export const CLICKBAIT_LOGIT_SIGMA = 1.3;
export const CLICKBAIT_QUALITY_CORRELATION = -0.3;
export const CLICKBAIT_CREATOR_LOADING = 0.6;

/**
 * Default arrival rates when `arrivalWindowS > 0` and no share is given. Videos keep being uploaded
 * at the rate of the past `UPLOAD_WINDOW_S` (share = window / (UPLOAD_WINDOW_S + window)). Users
 * sign up at 0.05% of the user base per day: the average daily signup share over the last 30 days
 * under the tenure prior (P(tenure < 30 d) ≈ 1.5%).
 */
export const NEW_USER_SHARE_PER_DAY = 0.0005;
/** Upper bound of a default arrival share (an explicit share may go up to, not including, 1). */
export const ARRIVING_SHARE_DEFAULT_MAX = 0.5;

if (REGION_WEIGHTS.length !== NUM_REGIONS || DEVICE_WEIGHTS.length !== NUM_DEVICES) {
  throw new Error('priors.ts: region/device weights do not match core/features/schema.ts');
}
if (CATEGORY_WEIGHTS.length !== NUM_CATEGORIES) {
  throw new Error('priors.ts: category weights do not match core/features/schema.ts');
}
