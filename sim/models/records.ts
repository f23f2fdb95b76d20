import {
  NUM_CATEGORIES,
  USER_RECORD,
  USER_RECORD_LEN,
  VIDEO_RECORD,
  VIDEO_RECORD_LEN,
} from '../../core/features/schema.ts';
import type { World } from '../world/world.ts';
import type { LogSlice } from './simulate-logs.ts';

/**
 * Lifetime views a video had before the logged window, per unit of popularity share and per user:
 * views₀ = share × users × PRIOR_VIEWS_PER_USER. Stands in for the platform's view counter.
 */
export const PRIOR_VIEWS_PER_USER = 50;

/** Prior strength of a user's per-category click-through, in position-weighted impressions. */
const USER_CATEGORY_PRIOR_EXPOSURE = 10;
/** Prior strength of a user's per-category watched share, in clicks. */
const USER_CATEGORY_PRIOR_CLICKS = 2;

/**
 * User records (core/features/schema.ts `USER_RECORD`) as the feature store would hold them after
 * the `history` period: region, device, tenure in days at the world's nowS, number of clicks
 * (watches) in the history, the share of those watches per category (all 0 for a user with no
 * history: the cold-start case), and per category:
 * - `catClickLift = ln(r_uc / r_c)`, with `r_uc = (clicks_uc + A·r_c) / (exposure_uc + A)` the user's
 *   click-through on the category's impressions (exposure = Σ position propensity,
 *   `positionPropensities`), shrunk towards the platform's rate in the category `r_c`
 *   (A = `USER_CATEGORY_PRIOR_EXPOSURE`);
 * - `catWatchLift = ln(s_uc / s_c)`, the same for the mean watched share per click (prior
 *   `USER_CATEGORY_PRIOR_CLICKS` clicks);
 * - `subCatShare`: the share of the user's follows (`world.subscription*`) whose creator's home
 *   category is the category.
 *
 * @returns `Float32Array` of length `users × USER_RECORD_LEN` (row i = user i)
 */
export function userRecords(world: World, history: LogSlice): Float32Array {
  const { users, nowS } = world.config;
  const out = new Float32Array(users * USER_RECORD_LEN);
  const { log, startSession, endSession } = history;
  const prop = positionPropensities(history);
  // Per user and category: position-weighted exposure, clicks, watched share.
  const exposure = new Float64Array(users * NUM_CATEGORIES);
  const clicks = new Float64Array(users * NUM_CATEGORIES);
  const share = new Float64Array(users * NUM_CATEGORIES);
  const catExposure = new Float64Array(NUM_CATEGORIES);
  const catClicks = new Float64Array(NUM_CATEGORIES);
  const catShare = new Float64Array(NUM_CATEGORIES);
  for (let i = startSession * log.k; i < endSession * log.k; i++) {
    const v = log.video[i];
    const c = world.videoCategory[v];
    const uc = log.user[i] * NUM_CATEGORIES + c;
    const e = prop[Math.min(PROPENSITY_POSITIONS - 1, log.position[i])];
    exposure[uc] += e;
    catExposure[c] += e;
    if (!log.clicked[i]) continue;
    const o = log.user[i] * USER_RECORD_LEN;
    out[o + USER_RECORD.watchCount] += 1;
    out[o + USER_RECORD.catShare + c] += 1;
    const d = world.videoDurationS[v];
    const s = d > 0 ? Math.min(1, log.watchTimeS[i] / d) : 0;
    clicks[uc] += 1;
    share[uc] += s;
    catClicks[c] += 1;
    catShare[c] += s;
  }
  const catRate = Float64Array.from(catClicks, (n, c) => (n > 0 ? n / catExposure[c] : 0));
  const catMeanShare = Float64Array.from(catClicks, (n, c) => (n > 0 ? catShare[c] / n : 0));
  const { subscriptionOffsets, subscriptionCreators, creatorCategory } = world;
  for (let u = 0; u < users; u++) {
    const o = u * USER_RECORD_LEN;
    out[o + USER_RECORD.region] = world.userRegion[u];
    out[o + USER_RECORD.device] = world.userDevice[u];
    out[o + USER_RECORD.tenureDays] = Math.max(0, (nowS - world.userSignupS[u]) / 86_400);
    const watches = out[o + USER_RECORD.watchCount];
    if (watches > 0) for (let c = 0; c < NUM_CATEGORIES; c++) out[o + USER_RECORD.catShare + c] /= watches;
    for (let c = 0; c < NUM_CATEGORIES; c++) {
      const uc = u * NUM_CATEGORIES + c;
      if (catRate[c] > 0) {
        const A = USER_CATEGORY_PRIOR_EXPOSURE;
        const r = (clicks[uc] + A * catRate[c]) / (exposure[uc] + A);
        out[o + USER_RECORD.catClickLift + c] = Math.log(r / catRate[c]);
      }
      if (catMeanShare[c] > 0) {
        const B = USER_CATEGORY_PRIOR_CLICKS;
        const s = (share[uc] + B * catMeanShare[c]) / (clicks[uc] + B);
        out[o + USER_RECORD.catWatchLift + c] = Math.log(Math.max(1e-3, s) / catMeanShare[c]);
      }
    }
    const from = subscriptionOffsets[u];
    const to = subscriptionOffsets[u + 1];
    for (let j = from; j < to; j++)
      out[o + USER_RECORD.subCatShare + creatorCategory[subscriptionCreators[j]]] += 1 / (to - from);
  }
  return out;
}

/** Prior strength of the creator-level engagement estimates, in position-weighted impressions (CTR) or clicks. */
const CREATOR_PRIOR_EXPOSURE = 50;
const CREATOR_PRIOR_CLICKS = 10;
/** Prior strength of the video-level estimates, shrunk towards the creator's. */
const VIDEO_PRIOR_EXPOSURE = 20;
const VIDEO_PRIOR_CLICKS = 5;
/** Positions the click-through propensity is estimated for (later ones share the last). */
const PROPENSITY_POSITIONS = 16;

/**
 * Empirical position propensities of a log slice: the click rate at each logged position divided by
 * the rate at position 0 (Joachims et al., "Unbiased Learning-to-Rank with Biased Feedback", WSDM
 * 2017, estimated here from the logs' own click rates per slot, not from the world's examination
 * model). `Float64Array(PROPENSITY_POSITIONS)`, entry 0 = 1, each in (0, 1].
 */
export function positionPropensities(history: LogSlice): Float64Array {
  const { log, startSession, endSession } = history;
  const shown = new Float64Array(PROPENSITY_POSITIONS);
  const clicks = new Float64Array(PROPENSITY_POSITIONS);
  for (let i = startSession * log.k; i < endSession * log.k; i++) {
    const p = Math.min(PROPENSITY_POSITIONS - 1, log.position[i]);
    shown[p]++;
    clicks[p] += log.clicked[i];
  }
  const rate0 = clicks[0] / Math.max(1, shown[0]);
  return Float64Array.from(shown, (n, p) =>
    rate0 > 0 && n > 0 ? Math.min(1, Math.max(1e-3, clicks[p] / n / rate0)) : 1,
  );
}

/**
 * Engagement of every video in a history slice (the `ctrLogit`, `watchShare` and `likeRate` fields
 * of `VIDEO_RECORD`): position-debiased click-through rate (clicks ÷ Σ propensity of its logged
 * positions), mean watched share per click and likes per click, each shrunk towards its creator's
 * estimate, which is shrunk towards the slice's global one (empirical Bayes with fixed prior
 * strengths: `CREATOR_PRIOR_*`, `VIDEO_PRIOR_*`). A video or creator with no impressions gets the
 * level above it.
 * @returns three `Float32Array(videos)`: ctr log-odds, watched share in [0, 1], like rate in [0, 1]
 */
export function videoEngagement(
  world: World,
  history: LogSlice | undefined,
): { ctrLogit: Float32Array; watchShare: Float32Array; likeRate: Float32Array } {
  const { videos, creators } = world.config;
  const exposure = new Float64Array(videos);
  const clicks = new Float64Array(videos);
  const share = new Float64Array(videos);
  const likes = new Float64Array(videos);
  if (history) {
    const prop = positionPropensities(history);
    const { log, startSession, endSession } = history;
    for (let i = startSession * log.k; i < endSession * log.k; i++) {
      const v = log.video[i];
      exposure[v] += prop[Math.min(PROPENSITY_POSITIONS - 1, log.position[i])];
      if (!log.clicked[i]) continue;
      clicks[v] += 1;
      const d = world.videoDurationS[v];
      share[v] += d > 0 ? Math.min(1, log.watchTimeS[i] / d) : 0;
      likes[v] += log.liked[i];
    }
  }
  const sum = (a: Float64Array) => a.reduce((s, x) => s + x, 0);
  const totalClicks = sum(clicks);
  const globalCtr = totalClicks > 0 ? totalClicks / sum(exposure) : 0.05;
  const globalShare = totalClicks > 0 ? sum(share) / totalClicks : 0.5;
  const globalLike = totalClicks > 0 ? sum(likes) / totalClicks : 0.1;
  const cExposure = new Float64Array(creators);
  const cClicks = new Float64Array(creators);
  const cShare = new Float64Array(creators);
  const cLikes = new Float64Array(creators);
  for (let v = 0; v < videos; v++) {
    const c = world.videoCreator[v];
    cExposure[c] += exposure[v];
    cClicks[c] += clicks[v];
    cShare[c] += share[v];
    cLikes[c] += likes[v];
  }
  const ctrLogit = new Float32Array(videos);
  const watchShare = new Float32Array(videos);
  const likeRate = new Float32Array(videos);
  for (let v = 0; v < videos; v++) {
    const c = world.videoCreator[v];
    const creatorCtr =
      (cClicks[c] + CREATOR_PRIOR_EXPOSURE * globalCtr) / (cExposure[c] + CREATOR_PRIOR_EXPOSURE);
    const creatorShare =
      (cShare[c] + CREATOR_PRIOR_CLICKS * globalShare) / (cClicks[c] + CREATOR_PRIOR_CLICKS);
    const creatorLike = (cLikes[c] + CREATOR_PRIOR_CLICKS * globalLike) / (cClicks[c] + CREATOR_PRIOR_CLICKS);
    const ctr = Math.min(
      0.99,
      Math.max(1e-4, (clicks[v] + VIDEO_PRIOR_EXPOSURE * creatorCtr) / (exposure[v] + VIDEO_PRIOR_EXPOSURE)),
    );
    ctrLogit[v] = Math.log(ctr / (1 - ctr));
    watchShare[v] = (share[v] + VIDEO_PRIOR_CLICKS * creatorShare) / (clicks[v] + VIDEO_PRIOR_CLICKS);
    likeRate[v] = (likes[v] + VIDEO_PRIOR_CLICKS * creatorLike) / (clicks[v] + VIDEO_PRIOR_CLICKS);
  }
  return { ctrLogit, watchShare, likeRate };
}

/**
 * Video records (core/features/schema.ts `VIDEO_RECORD`): creator, category, duration (s), upload
 * time (Unix s), `logViews = ln(1 + views₀ + clicks in history)` with views₀ from the popularity
 * prior (`PRIOR_VIEWS_PER_USER`), `logCreatorFollowers = ln(1 + followers)`, the home region, and
 * the engagement in the history (`videoEngagement`; the global priors without a history).
 *
 * @returns `Float32Array` of length `videos × VIDEO_RECORD_LEN` (row i = video i)
 */
export function videoRecords(world: World, history?: LogSlice): Float32Array {
  const { videos, users } = world.config;
  const out = new Float32Array(videos * VIDEO_RECORD_LEN);
  const views = new Float64Array(videos);
  for (let v = 0; v < videos; v++)
    views[v] = Math.round(world.videoPopularity[v] * users * PRIOR_VIEWS_PER_USER);
  if (history) {
    const { log, startSession, endSession } = history;
    for (let i = startSession * log.k; i < endSession * log.k; i++)
      if (log.clicked[i]) views[log.video[i]] += 1;
  }
  const engagement = videoEngagement(world, history);
  for (let v = 0; v < videos; v++) {
    const o = v * VIDEO_RECORD_LEN;
    const c = world.videoCreator[v];
    out[o + VIDEO_RECORD.creator] = c;
    out[o + VIDEO_RECORD.category] = world.videoCategory[v];
    out[o + VIDEO_RECORD.durationS] = world.videoDurationS[v];
    out[o + VIDEO_RECORD.uploadTsS] = world.videoUploadTsS[v];
    out[o + VIDEO_RECORD.logViews] = Math.log1p(views[v]);
    out[o + VIDEO_RECORD.logCreatorFollowers] = Math.log1p(world.creatorFollowers[c]);
    out[o + VIDEO_RECORD.region] = world.videoRegion[v];
    out[o + VIDEO_RECORD.ctrLogit] = engagement.ctrLogit[v];
    out[o + VIDEO_RECORD.watchShare] = engagement.watchShare[v];
    out[o + VIDEO_RECORD.likeRate] = engagement.likeRate[v];
  }
  return out;
}
