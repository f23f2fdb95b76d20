import { createHash } from 'node:crypto';

/**
 * Task weights that combine the multi-task ranker's heads into one score (seed 000 §7 of the
 * request walk-through: "P(click), E[watch_time], P(like), P(finish), P(dislike) → weighted
 * combination → single score"):
 *
 *   score = P(click) × E[watch_s | click] × max(0, 1 + like·P(like) + finish·P(finish) − dislike·P(dislike))
 *
 * Expected watch time (Covington et al. 2016) is the base; the satisfaction heads scale it. All
 * weights 0 (the default) is the pure expected-watch-time score. Heads a ranker lacks (the light
 * ranker has only click and watch time) count as 0.
 */
export interface RankingWeights {
  like: number;
  finish: number;
  dislike: number;
}

export const DEFAULT_RANKING_WEIGHTS: Readonly<RankingWeights> = Object.freeze({
  like: 0,
  finish: 0,
  dislike: 0,
});

/** What a variant may change for the requests assigned to it. Unset fields keep the core's default. */
export interface VariantParams {
  /** Registry version whose models serve this variant (loaded at start, next to the active one). */
  modelVersion?: string;
  /** Task weights of the ranking score; unset weights stay 0. */
  rankingWeights?: Partial<RankingWeights>;
}

export interface VariantConfig {
  name: string;
  /** Traffic share; shares of one experiment are normalised. > 0. */
  share: number;
  params?: VariantParams;
}

/** One experiment; its id is its hashing layer, so two experiments assign independently. */
export interface ExperimentConfig {
  id: string;
  variants: readonly VariantConfig[];
}

/** The variant a request got in one experiment. */
export interface Assignment {
  id: string;
  variant: string;
}

/** All of a request's assignments and the parameters they resolve to. */
export interface Assignments {
  /** One entry per experiment (layer), in configuration order. */
  experiments: Assignment[];
  /** The registry version a variant pinned, if any (the first layer that pins one wins). */
  modelVersion?: string;
  /** The ranking weights after every layer's overrides (later layers override earlier ones). */
  rankingWeights: RankingWeights;
}

/**
 * Sticky, hash-based A/B assignment in one experiment (seed 000 §2.1: Hash(user_id + experiment_id)
 * → bucket). The same user always gets the same variant; the experiment id salts the hash so
 * assignments in different experiments (layers) are independent (Tang et al. 2010, "Overlapping
 * Experiment Infrastructure", Google).
 */
export function assignVariant(userId: string, exp: ExperimentConfig): string {
  const digest = createHash('sha256').update(`${exp.id}:${userId}`).digest();
  const u = digest.readUInt32BE(0) / 2 ** 32;
  const total = exp.variants.reduce((s, v) => s + v.share, 0);
  let acc = 0;
  for (const v of exp.variants) {
    acc += v.share / total;
    if (u < acc) return v.name;
  }
  return exp.variants[exp.variants.length - 1].name;
}

/**
 * Assigns `userId` in every experiment (layered: one variant per layer) and resolves what the
 * variants select: a model version, and ranking weights (starting from `baseWeights`, the core's
 * configured ones).
 */
export function assignExperiments(
  userId: string,
  experiments: readonly ExperimentConfig[],
  baseWeights: RankingWeights = DEFAULT_RANKING_WEIGHTS,
): Assignments {
  const out: Assignments = { experiments: [], rankingWeights: { ...baseWeights } };
  for (const exp of experiments) {
    const name = assignVariant(userId, exp);
    out.experiments.push({ id: exp.id, variant: name });
    const params = exp.variants.find((v) => v.name === name)?.params;
    if (params?.modelVersion && out.modelVersion === undefined) out.modelVersion = params.modelVersion;
    if (params?.rankingWeights) Object.assign(out.rankingWeights, params.rankingWeights);
  }
  return out;
}

/** The registry versions any variant pins (the core loads each at start). */
export function pinnedModelVersions(experiments: readonly ExperimentConfig[]): string[] {
  const versions = new Set<string>();
  for (const exp of experiments)
    for (const v of exp.variants) if (v.params?.modelVersion) versions.add(v.params.modelVersion);
  return [...versions];
}
