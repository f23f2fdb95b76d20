import { NUM_CATEGORIES } from '../../core/features/schema.ts';
import type { RandomStream } from '../../core/ports/random.ts';
import { seededRandom } from '../../core/random/seeded-random.ts';
import { type Progress, type ProgressFactory, silentProgress } from '../progress.ts';
import { SimError } from '../sim-error.ts';
import { aliasTable } from '../util/alias-table.ts';
import { normalizeRow } from '../util/vector.ts';
import { drawArrivalTimes } from './arrivals.ts';
import { REGION_LANGUAGE_WEIGHTS } from './languages.ts';
import * as P from './priors.ts';
import {
  DEFAULT_LATENT_DIM,
  DEFAULT_NOW_S,
  DEFAULT_VIDEOS_PER_CREATOR,
  type ResolvedWorldConfig,
  UPLOAD_WINDOW_S,
  type World,
  type WorldConfig,
} from './world.ts';

const DAY_S = 86_400;
/** Entities per progress tick: large enough that reporting costs nothing, small enough to move the bar. */
const CHUNK = 1 << 16;

/** How `generateWorld` reports; the world itself does not depend on it. */
export interface GenerateWorldOptions {
  /** One stage each: `world.users`, `world.creators`, `world.videos`, `world.subscriptions`. Default: silent. */
  progress?: ProgressFactory;
}

/**
 * Builds a world deterministically from `cfg.seed`. Each part draws from its own named stream
 * (`world.categories`, `world.users`, `world.creators`, `world.videos`, `world.subscriptions`,
 * `world.names`, and for the attributes added later `world.userLanguages`,
 * `world.creatorLanguages`, `world.clickbait`, `world.arrivals.users`, `world.arrivals.videos`), so
 * changing how one part is drawn does not change the others: adding the later attributes left every
 * earlier array byte-identical.
 *
 * Cost is linear and single-threaded: about 4.5 s on an idle core and 330 MiB peak RSS for 1M
 * users × 1M videos at `latentDim` 16 (bench/world-generate.ts); the arrays take ≈ 75 B per user,
 * 90 B per video and 4 B per subscription (≈ 6.4 per user). Entities are written chunk by chunk into
 * preallocated typed arrays; nothing per entity lives on the JS heap.
 *
 * Model: users have a region, a language from the region's mix, 1–3 taste categories (latent =
 * weighted category centroids + noise); creators have a home category, region, language and a
 * heavy-tailed follower count; a video's latent mixes its category centroid, its creator's latent
 * and noise; popularity is log-normal and correlated with quality and followers; clickbait is a
 * creator habit, mildly anti-correlated with quality; users follow creators of the categories their
 * latent prefers. With `arrivalWindowS > 0`, the last users/videos become arrivals (`arrivals.ts`).
 *
 * @throws SimError `RECLAB_ERR_WORLD_CONFIG_INVALID` when a size is not a positive integer, the
 *   latent dimension is below 2, `nowS` is not a valid Unix time after the upload window, or the
 *   arrival window or shares are out of range.
 */
export function generateWorld(cfg: WorldConfig, options: GenerateWorldOptions = {}): World {
  const config = resolveConfig(cfg);
  const progress = options.progress ?? silentProgress;
  const { seed, users, videos, creators, latentDim: d, nowS, arrivalWindowS } = config;
  const random = seededRandom(seed);
  const arrivingUsers = Math.min(users - 1, Math.round(config.arrivingUserShare * users));
  const arrivingVideos = Math.min(videos - 1, Math.round(config.arrivingVideoShare * videos));

  const categoryCentroids = new Float32Array(NUM_CATEGORIES * d);
  {
    const rng = random.stream('world.categories');
    for (let c = 0; c < NUM_CATEGORIES; c++) {
      for (let k = 0; k < d; k++) categoryCentroids[c * d + k] = rng.normal();
      normalizeRow(categoryCentroids, c, d);
    }
  }
  const categoryTable = aliasTable(P.CATEGORY_WEIGHTS);
  const languageTables = REGION_LANGUAGE_WEIGHTS.map((row) => aliasTable(row));

  // Users.
  const userRegion = new Uint8Array(users);
  const userDevice = new Uint8Array(users);
  const userSignupS = new Uint32Array(users);
  const userActivity = new Float32Array(users);
  const userLanguage = new Uint8Array(users);
  const userLatent = new Float32Array(users * d);
  {
    const rng = random.stream('world.users');
    const languageRng = random.stream('world.userLanguages');
    const regionTable = aliasTable(P.REGION_WEIGHTS);
    const deviceTable = aliasTable(P.DEVICE_WEIGHTS);
    const activityShift = -0.5 * P.USER_ACTIVITY_SIGMA * P.USER_ACTIVITY_SIGMA; // mean of exp(σz) is e^{σ²/2}
    const taste = new Int32Array(P.USER_TASTE_WEIGHTS.length);
    const noiseScale = P.USER_LATENT_NOISE / Math.sqrt(d);
    const p = progress('world.users', users);
    for (let from = 0; from < users; from += CHUNK) {
      const to = Math.min(users, from + CHUNK);
      for (let u = from; u < to; u++) {
        userRegion[u] = regionTable.sample(rng);
        userDevice[u] = deviceTable.sample(rng);
        const tenureDays = Math.min(
          P.TENURE_DAYS_MAX,
          Math.exp(Math.log(P.TENURE_DAYS_MEDIAN) + P.TENURE_DAYS_SIGMA * rng.normal()),
        );
        userSignupS[u] = Math.floor(nowS - tenureDays * DAY_S);
        userActivity[u] = Math.exp(activityShift + P.USER_ACTIVITY_SIGMA * rng.normal());
        const nTaste = 1 + rng.int(P.USER_TASTE_WEIGHTS.length);
        for (let t = 0; t < nTaste; t++) taste[t] = categoryTable.sample(rng);
        const o = u * d;
        for (let k = 0; k < d; k++) {
          let x = noiseScale * rng.normal();
          for (let t = 0; t < nTaste; t++) x += P.USER_TASTE_WEIGHTS[t] * categoryCentroids[taste[t] * d + k];
          userLatent[o + k] = x;
        }
        normalizeRow(userLatent, u, d);
        userLanguage[u] = languageTables[userRegion[u]].sample(languageRng);
      }
      p.tick(to - from);
    }
    p.stop();
    if (arrivingUsers > 0) {
      const times = drawArrivalTimes(
        random.stream('world.arrivals.users'),
        arrivingUsers,
        nowS,
        arrivalWindowS,
      );
      userSignupS.set(times, users - arrivingUsers);
    }
  }

  // Creators.
  const creatorCategory = new Uint8Array(creators);
  const creatorRegion = new Uint8Array(creators);
  const creatorFollowers = new Uint32Array(creators);
  const creatorLanguage = new Uint8Array(creators);
  const creatorLatent = new Float32Array(creators * d);
  {
    const rng = random.stream('world.creators');
    const languageRng = random.stream('world.creatorLanguages');
    const regionTable = aliasTable(P.REGION_WEIGHTS);
    const noiseScale = P.CREATOR_LATENT_NOISE / Math.sqrt(d);
    const p = progress('world.creators', creators);
    for (let from = 0; from < creators; from += CHUNK) {
      const to = Math.min(creators, from + CHUNK);
      for (let c = from; c < to; c++) {
        const cat = categoryTable.sample(rng);
        creatorCategory[c] = cat;
        creatorRegion[c] = regionTable.sample(rng);
        const f = Math.exp(P.CREATOR_FOLLOWERS_LOG_MEDIAN + P.CREATOR_FOLLOWERS_SIGMA * rng.normal());
        creatorFollowers[c] = Math.min(4_000_000_000, Math.max(1, Math.round(f)));
        const o = c * d;
        for (let k = 0; k < d; k++)
          creatorLatent[o + k] = categoryCentroids[cat * d + k] + noiseScale * rng.normal();
        normalizeRow(creatorLatent, c, d);
        creatorLanguage[c] = languageTables[creatorRegion[c]].sample(languageRng);
      }
      p.tick(to - from);
    }
    p.stop();
  }

  // Videos.
  const videoCreator = new Uint32Array(videos);
  const videoCategory = new Uint8Array(videos);
  const videoRegion = new Uint8Array(videos);
  const videoDurationS = new Float32Array(videos);
  const videoUploadTsS = new Uint32Array(videos);
  const videoQuality = new Float32Array(videos);
  const videoClickbait = new Float32Array(videos);
  const videoPopularity = new Float32Array(videos);
  const videoLatent = new Float32Array(videos * d);
  {
    const rng = random.stream('world.videos');
    const clickbaitRng = random.stream('world.clickbait');
    const creatorClickbaitZ = new Float64Array(creators);
    for (let c = 0; c < creators; c++) creatorClickbaitZ[c] = clickbaitRng.normal();
    const cbQ = P.CLICKBAIT_QUALITY_CORRELATION;
    const cbC = P.CLICKBAIT_CREATOR_LOADING;
    const cbV = Math.sqrt(1 - cbQ * cbQ - cbC * cbC);
    const uploadWeights = new Float64Array(creators);
    for (let c = 0; c < creators; c++) uploadWeights[c] = creatorFollowers[c] ** P.CREATOR_UPLOAD_EXPONENT;
    const creatorTable = aliasTable(uploadWeights);
    const logWeight = new Float64Array(videos);
    const { centroid: mixC, creator: mixCr, noise: mixN } = P.VIDEO_LATENT_MIX;
    const noiseScale = mixN / Math.sqrt(d);
    let maxLog = Number.NEGATIVE_INFINITY;
    const p = progress('world.videos', videos);
    for (let from = 0; from < videos; from += CHUNK) {
      const to = Math.min(videos, from + CHUNK);
      for (let v = from; v < to; v++) {
        const c = creatorTable.sample(rng);
        videoCreator[v] = c;
        videoRegion[v] = creatorRegion[c];
        const cat =
          rng.next() < P.VIDEO_HOME_CATEGORY_PROBABILITY ? creatorCategory[c] : categoryTable.sample(rng);
        videoCategory[v] = cat;
        const dur = Math.exp(Math.log(P.DURATION_S_MEDIAN) + P.DURATION_SIGMA * rng.normal());
        videoDurationS[v] = Math.round(Math.min(P.DURATION_S_MAX, Math.max(P.DURATION_S_MIN, dur)));
        videoUploadTsS[v] = nowS - Math.floor(rng.next() * UPLOAD_WINDOW_S);
        const zq = rng.normal();
        videoQuality[v] = 1 / (1 + Math.exp(-P.QUALITY_SIGMA * zq));
        const zcb = cbQ * zq + cbC * creatorClickbaitZ[c] + cbV * clickbaitRng.normal();
        videoClickbait[v] = 1 / (1 + Math.exp(-(P.CLICKBAIT_LOGIT_MEAN + P.CLICKBAIT_LOGIT_SIGMA * zcb)));
        const lw =
          P.POPULARITY_QUALITY_WEIGHT * zq +
          P.POPULARITY_FOLLOWERS_WEIGHT * Math.log(creatorFollowers[c]) +
          P.POPULARITY_NOISE_SIGMA * rng.normal();
        logWeight[v] = lw;
        if (lw > maxLog) maxLog = lw;
        const o = v * d;
        for (let k = 0; k < d; k++) {
          videoLatent[o + k] =
            mixC * categoryCentroids[cat * d + k] +
            mixCr * creatorLatent[c * d + k] +
            noiseScale * rng.normal();
        }
        normalizeRow(videoLatent, v, d);
      }
      p.tick(to - from);
    }
    p.stop();
    let total = 0;
    for (let v = 0; v < videos; v++) {
      logWeight[v] = Math.exp(logWeight[v] - maxLog);
      total += logWeight[v];
    }
    for (let v = 0; v < videos; v++) videoPopularity[v] = logWeight[v] / total;
    if (arrivingVideos > 0) {
      const times = drawArrivalTimes(
        random.stream('world.arrivals.videos'),
        arrivingVideos,
        nowS,
        arrivalWindowS,
      );
      videoUploadTsS.set(times, videos - arrivingVideos);
    }
  }

  const { subscriptionOffsets, subscriptionCreators } = drawSubscriptions(
    random.stream('world.subscriptions'),
    config,
    users - arrivingUsers,
    userLatent,
    categoryCentroids,
    creatorCategory,
    creatorFollowers,
    progress('world.subscriptions', users),
  );

  const namesSeed = random.stream('world.names').int(2 ** 31);

  return {
    config,
    namesSeed,
    initialUsers: users - arrivingUsers,
    initialVideos: videos - arrivingVideos,
    categoryCentroids,
    userRegion,
    userDevice,
    userSignupS,
    userActivity,
    userLanguage,
    userLatent,
    creatorCategory,
    creatorRegion,
    creatorFollowers,
    creatorLanguage,
    creatorLatent,
    videoCreator,
    videoCategory,
    videoRegion,
    videoDurationS,
    videoUploadTsS,
    videoQuality,
    videoClickbait,
    videoPopularity,
    videoLatent,
    subscriptionOffsets,
    subscriptionCreators,
  };
}

/** Fills defaults and validates; the result is frozen. */
export function resolveConfig(cfg: WorldConfig): ResolvedWorldConfig {
  const creators = cfg.creators ?? Math.max(1, Math.ceil(cfg.videos / DEFAULT_VIDEOS_PER_CREATOR));
  const latentDim = cfg.latentDim ?? DEFAULT_LATENT_DIM;
  const nowS = cfg.nowS ?? DEFAULT_NOW_S;
  const arrivalWindowS = cfg.arrivalWindowS ?? 0;
  const checks: [string, number, number, number][] = [
    ['users', cfg.users, 1, 2 ** 31],
    ['videos', cfg.videos, 1, 2 ** 31],
    ['creators', creators, 1, 2 ** 31],
    ['latentDim', latentDim, 2, 1024],
    ['nowS', nowS, UPLOAD_WINDOW_S + 20 * 365 * DAY_S, 2 ** 32 - 1],
    ['arrivalWindowS', arrivalWindowS, 0, 2 ** 32 - 1 - nowS],
  ];
  const problems = checks
    .filter(([, value, min, max]) => !Number.isInteger(value) || value < min || value > max)
    .map(([name, value, min, max]) => `${name}=${value} (want an integer in [${min}, ${max}])`);
  const windowDays = arrivalWindowS / DAY_S;
  const shares: [string, number | undefined, number][] = [
    [
      'arrivingUserShare',
      cfg.arrivingUserShare,
      Math.min(P.ARRIVING_SHARE_DEFAULT_MAX, P.NEW_USER_SHARE_PER_DAY * windowDays),
    ],
    [
      'arrivingVideoShare',
      cfg.arrivingVideoShare,
      Math.min(P.ARRIVING_SHARE_DEFAULT_MAX, arrivalWindowS / (UPLOAD_WINDOW_S + arrivalWindowS)),
    ],
  ];
  for (const [name, value] of shares) {
    if (value !== undefined && !(value >= 0 && value < 1)) problems.push(`${name}=${value} (want [0, 1))`);
  }
  if (!Number.isSafeInteger(cfg.seed)) problems.push(`seed=${cfg.seed} (want a safe integer)`);
  if (problems.length > 0) throw new SimError('RECLAB_ERR_WORLD_CONFIG_INVALID', problems.join('; '));
  const [userShare, videoShare] = shares.map(([, value, fallback]) =>
    arrivalWindowS === 0 ? 0 : (value ?? fallback),
  );
  return Object.freeze({
    seed: cfg.seed,
    users: cfg.users,
    videos: cfg.videos,
    creators,
    latentDim,
    nowS,
    arrivalWindowS,
    arrivingUserShare: userShare,
    arrivingVideoShare: videoShare,
  });
}

/**
 * Users follow creators aligned with their taste: each subscription picks a category with
 * p ∝ exp(SUBSCRIPTION_TASTE_SHARPNESS · ⟨user, centroid⟩), then a creator of that category with
 * p ∝ followers; with `SUBSCRIPTION_RANDOM_PROBABILITY` it picks any creator ∝ followers instead.
 * Users from `initialUsers` on (arrivals) follow nobody; their draws come last in the stream, so
 * the initial users' subscriptions do not depend on the number of arrivals.
 */
function drawSubscriptions(
  rng: RandomStream,
  config: ResolvedWorldConfig,
  initialUsers: number,
  userLatent: Float32Array,
  categoryCentroids: Float32Array,
  creatorCategory: Uint8Array,
  creatorFollowers: Uint32Array,
  progress: Progress,
): { subscriptionOffsets: Uint32Array; subscriptionCreators: Uint32Array } {
  const { users, creators, latentDim: d } = config;
  const globalTable = aliasTable(creatorFollowers);
  const members: number[][] = Array.from({ length: NUM_CATEGORIES }, () => []);
  for (let c = 0; c < creators; c++) members[creatorCategory[c]].push(c);
  const perCategory = members.map((list) =>
    list.length === 0 ? undefined : { list, table: aliasTable(list.map((c) => creatorFollowers[c])) },
  );

  const counts = new Uint32Array(users);
  const maxPerUser = Math.min(P.SUBSCRIPTIONS_MAX, creators);
  let total = 0;
  for (let u = 0; u < users; u++) {
    const n = Math.floor(Math.exp(Math.log(P.SUBSCRIPTIONS_MEDIAN) + P.SUBSCRIPTIONS_SIGMA * rng.normal()));
    if (u >= initialUsers) continue;
    counts[u] = Math.min(maxPerUser, n);
    total += counts[u];
  }
  const subscriptionOffsets = new Uint32Array(users + 1);
  const subscriptionCreators = new Uint32Array(total);
  const catWeight = new Float64Array(NUM_CATEGORIES);
  let w = 0;
  for (let from = 0; from < users; from += CHUNK) {
    const to = Math.min(users, from + CHUNK);
    for (let u = from; u < to; u++) {
      subscriptionOffsets[u] = w;
      const start = w;
      if (counts[u] === 0) continue;
      let catTotal = 0;
      for (let c = 0; c < NUM_CATEGORIES; c++) {
        let dot = 0;
        for (let k = 0; k < d; k++) dot += userLatent[u * d + k] * categoryCentroids[c * d + k];
        catWeight[c] = perCategory[c] ? Math.exp(P.SUBSCRIPTION_TASTE_SHARPNESS * dot) : 0;
        catTotal += catWeight[c];
      }
      for (let s = 0; s < counts[u]; s++) {
        let chosen = -1;
        for (let attempt = 0; attempt < 32 && chosen < 0; attempt++) {
          let creator: number;
          if (catTotal === 0 || rng.next() < P.SUBSCRIPTION_RANDOM_PROBABILITY) {
            creator = globalTable.sample(rng);
          } else {
            let x = rng.next() * catTotal;
            let cat = 0;
            while (cat < NUM_CATEGORIES - 1 && x >= catWeight[cat]) x -= catWeight[cat++];
            while (!perCategory[cat]) cat = (cat + 1) % NUM_CATEGORIES;
            const pc = perCategory[cat]!;
            creator = pc.list[pc.table.sample(rng)];
          }
          let dup = false;
          for (let j = start; j < w; j++) if (subscriptionCreators[j] === creator) dup = true;
          if (!dup) chosen = creator;
        }
        if (chosen >= 0) subscriptionCreators[w++] = chosen;
      }
    }
    progress.tick(to - from);
  }
  progress.stop();
  subscriptionOffsets[users] = w;
  return {
    subscriptionOffsets,
    subscriptionCreators: w === total ? subscriptionCreators : subscriptionCreators.slice(0, w),
  };
}
