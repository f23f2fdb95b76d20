import { sha256FirstWord } from './sha256-word.ts';

/**
 * Task weights that combine the multi-task ranker's heads into one score (seed 000 §7 of the
 * request walk-through: "P(click), E[watch_time], P(like), P(finish), P(dislike) → weighted
 * combination → single score"), a multiplicative fusion of the heads with a watch baseline:
 *
 *   value = E[watch_s | click]^watchTime
 *           × max(0, 1 + like·P(like) + finish·P(finish) − dislike·P(dislike))
 *           × max(0, 1 − clickbait·cb),   cb = P(click) × (1 − min(1, E[watch_s | click] / duration_s))
 *   score = P(click)^click × (value − watchBaseline^watchTime)
 *
 * `click = watchTime = 1` with the others 0 is the expected watch time of an impression (Covington
 * et al. 2016); `cb` is seed 001's clickbait signal (high CTR, low watch time; `clickbaitEstimate`).
 * Heads a ranker lacks (the light ranker has only click and watch time) count as 0.
 *
 * `watchBaseline` θ makes the score list-aware. Users click at most one item of a list (the
 * single-choice model of docs/behavior-model.md), so an attractive item whose watch time is below
 * what the rest of the list already earns takes the click from a better item and lowers the list:
 * its marginal value is about `P(click) × (watch − θ)` with θ the list's value per click — the
 * revenue-ordered assortments of choice-based revenue management (Talluri & van Ryzin, Management
 * Science 50(1), 2004). With θ > 0 such items score below 0 and a sharper click head pushes them
 * down instead of up. θ = 0 is the plain product. Scores below 0 are shifted per request
 * (`combineScores`). MMR normalises the scores per request (core/pipeline/mmr.ts, `RelevanceScale`);
 * the tuned weights are chosen on pages re-ranked that way (sim/models/score-weights.ts).
 */
export interface ScoreWeights {
  /** Exponent of P(click). */
  click: number;
  /** Exponent of E[watch_s | click]. */
  watchTime: number;
  like: number;
  finish: number;
  dislike: number;
  /** Penalty on the clickbait estimate, in [0, 1]. */
  clickbait: number;
  /** θ, seconds: the watch time per click below which an item lowers the list (≥ 0; 0 = off). */
  watchBaseline: number;
}

/** The score's weight names, in the order the model card and `RECLAB_RANKING_WEIGHTS` list them. */
export const SCORE_WEIGHT_NAMES = [
  'click',
  'watchTime',
  'like',
  'finish',
  'dislike',
  'clickbait',
  'watchBaseline',
] as const;

/**
 * The weights used when neither the configuration nor the model (its card's tuned weights, carried
 * by `Ranker.scoreWeights`) sets them: the plain expected watch time.
 */
export const DEFAULT_SCORE_WEIGHTS: Readonly<ScoreWeights> = Object.freeze({
  click: 1,
  watchTime: 1,
  like: 0,
  finish: 0,
  dislike: 0,
  clickbait: 0,
  watchBaseline: 0,
});

/**
 * Weights as configured (`RECLAB_RANKING_WEIGHTS`, an A/B variant's `ranking_weights`): each one
 * optional. An unset weight is the serving model's own (`Ranker.scoreWeights`: the weights tuned on
 * validation data and written in its model card), else `DEFAULT_SCORE_WEIGHTS`.
 */
export type RankingWeights = Partial<ScoreWeights>;

/** No overrides: every weight comes from the model, else the defaults. */
export const DEFAULT_RANKING_WEIGHTS: Readonly<RankingWeights> = Object.freeze({});

/**
 * The weights one ranking uses: `DEFAULT_SCORE_WEIGHTS`, overridden by the model's tuned weights,
 * overridden by the configured ones (precedence: variant > RECLAB_RANKING_WEIGHTS > model card >
 * default). Undefined or non-finite entries are skipped at every level.
 */
export function resolveScoreWeights(
  configured: Readonly<RankingWeights> | undefined,
  model: Readonly<Partial<ScoreWeights>> | undefined,
): ScoreWeights {
  const out: ScoreWeights = { ...DEFAULT_SCORE_WEIGHTS };
  for (const layer of [model, configured]) {
    if (!layer) continue;
    for (const name of SCORE_WEIGHT_NAMES) {
      const v = layer[name];
      if (typeof v === 'number' && Number.isFinite(v)) out[name] = v;
    }
  }
  return out;
}

/** What a variant may change for the requests assigned to it. Unset fields keep the core's default. */
export interface VariantParams {
  /** Registry version whose models serve this variant (loaded at start, next to the active one). */
  modelVersion?: string;
  /** Task weights of the ranking score; unset weights keep the layer below's (`resolveScoreWeights`). */
  rankingWeights?: RankingWeights;
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
  /**
   * The configured ranking weights after every layer's overrides (later layers override earlier
   * ones); weights still unset come from the serving model at ranking time.
   */
  rankingWeights: RankingWeights;
}

/**
 * Sticky, hash-based A/B assignment in one experiment (seed 000 §2.1: Hash(user_id + experiment_id)
 * → bucket). The same user always gets the same variant; the experiment id salts the hash so
 * assignments in different experiments (layers) are independent (Tang et al. 2010, "Overlapping
 * Experiment Infrastructure", Google).
 */
export function assignVariant(userId: string, exp: ExperimentConfig): string {
  // The SHA-256 digest's first 32 bits, computed in JavaScript (the same value as node:crypto's:
  // sha256-word.ts says why).
  const u = sha256FirstWord(`${exp.id}:${userId}`) / 2 ** 32;
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
 * configured ones; unset weights stay unset, for the model's own).
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
    if (params?.rankingWeights) {
      for (const [name, v] of Object.entries(params.rankingWeights))
        if (v !== undefined) out.rankingWeights[name as keyof RankingWeights] = v;
    }
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
