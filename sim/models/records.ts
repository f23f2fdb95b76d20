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

/**
 * User records (core/features/schema.ts `USER_RECORD`) as the feature store would hold them after
 * the `history` period: region, device, tenure in days at the world's nowS, number of clicks
 * (watches) in the history, and the share of those watches per category (all 0 for a user with no
 * history: the cold-start case).
 *
 * @returns `Float32Array` of length `users × USER_RECORD_LEN` (row i = user i)
 */
export function userRecords(world: World, history: LogSlice): Float32Array {
  const { users, nowS } = world.config;
  const out = new Float32Array(users * USER_RECORD_LEN);
  const { log, startSession, endSession } = history;
  for (let i = startSession * log.k; i < endSession * log.k; i++) {
    if (!log.clicked[i]) continue;
    const o = log.user[i] * USER_RECORD_LEN;
    out[o + USER_RECORD.watchCount] += 1;
    out[o + USER_RECORD.catShare + world.videoCategory[log.video[i]]] += 1;
  }
  for (let u = 0; u < users; u++) {
    const o = u * USER_RECORD_LEN;
    out[o + USER_RECORD.region] = world.userRegion[u];
    out[o + USER_RECORD.device] = world.userDevice[u];
    out[o + USER_RECORD.tenureDays] = Math.max(0, (nowS - world.userSignupS[u]) / 86_400);
    const watches = out[o + USER_RECORD.watchCount];
    if (watches > 0) for (let c = 0; c < NUM_CATEGORIES; c++) out[o + USER_RECORD.catShare + c] /= watches;
  }
  return out;
}

/**
 * Video records (core/features/schema.ts `VIDEO_RECORD`): creator, category, duration (s), upload
 * time (Unix s), `logViews = ln(1 + views₀ + clicks in history)` with views₀ from the popularity
 * prior (`PRIOR_VIEWS_PER_USER`), and `logCreatorFollowers = ln(1 + followers)`.
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
  for (let v = 0; v < videos; v++) {
    const o = v * VIDEO_RECORD_LEN;
    const c = world.videoCreator[v];
    out[o + VIDEO_RECORD.creator] = c;
    out[o + VIDEO_RECORD.category] = world.videoCategory[v];
    out[o + VIDEO_RECORD.durationS] = world.videoDurationS[v];
    out[o + VIDEO_RECORD.uploadTsS] = world.videoUploadTsS[v];
    out[o + VIDEO_RECORD.logViews] = Math.log1p(views[v]);
    out[o + VIDEO_RECORD.logCreatorFollowers] = Math.log1p(world.creatorFollowers[c]);
  }
  return out;
}
