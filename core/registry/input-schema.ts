import {
  CATEGORIES,
  DEVICES,
  RANKER_INPUT_DIM,
  REGIONS,
  USER_FEATURE_DIM,
  VIDEO_FEATURE_DIM,
} from '../features/schema.ts';

/**
 * The models' input columns by name and position, derived from core/features/schema.ts
 * (`userModelInput`, `videoModelInput`, `rankerInput`). A model card records them so that a
 * version trained against one feature layout is never served against another unnoticed.
 * The lengths equal USER_FEATURE_DIM, VIDEO_FEATURE_DIM and RANKER_INPUT_DIM (checked below and by
 * test/unit/registry-model-card.test.ts): a change to the encoders must change these lists too.
 */
export interface ModelInputSchema {
  /** User tower: input `features`, `Float32Array` of `USER_FEATURE_DIM`, one row per user. */
  userTower: { input: string; names: string[] };
  /** Item tower: input `features`, `Float32Array` of `VIDEO_FEATURE_DIM`, one row per video. */
  itemTower: { input: string; names: string[] };
  /**
   * Ranker: input `features`, rows of `RANKER_INPUT_DIM` = user columns, video columns, affinity
   * (the core columns, all the light ranker reads), then the main ranker's extended columns.
   */
  ranker: { input: string; names: string[] };
  /** Width of both towers' output (L2-normalised embedding). */
  embDim: number;
}

/** Names of the user tower's input columns, in order (`userModelInput`). */
export function userFeatureNames(): string[] {
  return [
    ...REGIONS.map((r) => `region=${r}`),
    ...DEVICES.map((d) => `device=${d}`),
    'log1p(tenure_days)/8',
    'log1p(watch_count)/8',
    ...CATEGORIES.map((c) => `cat_share=${c}`),
  ];
}

/** Names of the item tower's input columns, in order (`videoModelInput`). */
export function videoFeatureNames(): string[] {
  return [
    ...CATEGORIES.map((c) => `category=${c}`),
    'log1p(duration_s)/8',
    'log1p(age_h)/10',
    'log_views/16',
    'log_creator_followers/16',
  ];
}

/** Names of the ranker's input columns, in order (`rankerInput`). */
export function rankerFeatureNames(): string[] {
  return [
    ...userFeatureNames().map((n) => `user.${n}`),
    ...videoFeatureNames().map((n) => `video.${n}`),
    'two_tower_affinity',
    'same_region',
    'video.ctr_logit/4',
    'video.watch_share',
    'video.like_rate',
    'user.cat_click_lift[video.category]',
    'user.cat_watch_lift[video.category]',
    'user.sub_cat_share[video.category]',
  ];
}

/**
 * The input schema of the current feature code, for a model card.
 * @throws Error when the names and the schema's widths disagree (a bug in this file)
 */
export function currentInputSchema(embDim: number): ModelInputSchema {
  const schema = {
    userTower: { input: 'features', names: userFeatureNames() },
    itemTower: { input: 'features', names: videoFeatureNames() },
    ranker: { input: 'features', names: rankerFeatureNames() },
    embDim,
  };
  const widths = [
    [schema.userTower.names.length, USER_FEATURE_DIM],
    [schema.itemTower.names.length, VIDEO_FEATURE_DIM],
    [schema.ranker.names.length, RANKER_INPUT_DIM],
  ];
  if (widths.some(([a, b]) => a !== b))
    throw new Error(`input schema names ≠ widths: ${JSON.stringify(widths)}`);
  return schema;
}
