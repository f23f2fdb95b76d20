import { z } from 'zod';
import { ReclabError } from '../errors.ts';
import type { ServerTimeouts } from '../http/server-timeouts.ts';
import { DEFAULT_SERVER_TIMEOUTS as HTTP } from '../http/server-timeouts.ts';
import { type ExperimentConfig, type RankingWeights, SCORE_WEIGHT_NAMES } from '../pipeline/experiments.ts';
import type { PipelineConfig } from '../pipeline/recommend.ts';
import { RANKER_TIER_VARIABLES } from '../ranker-tier/config.ts';
import type { BrownoutSettings } from '../resilience/brownout.ts';
import type { BulkheadOptions } from '../resilience/bulkhead.ts';
import { parseEnv } from './env.ts';

/**
 * The core's configuration, read from `RECLAB_*` environment variables (only core/main.ts reads
 * process.env; it passes the variables in). Units are in the names. Unknown `RECLAB_*` variables
 * are rejected (a typo must not silently fall back to a default), and every problem is reported at
 * once. The parsed config is frozen.
 */
const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
const num = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().min(min).max(max).default(def);

const envSchema = z
  .object({
    RECLAB_HOST: z.string().default('127.0.0.1'),
    RECLAB_PORT: int(8080), // 0 = ephemeral
    RECLAB_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    RECLAB_REDIS_URL: z.string().url(),
    RECLAB_REDIS_COMMAND_TIMEOUT_MS: int(1000, 1), // backstop below the stage deadlines' breakers
    RECLAB_REDIS_STARTUP_WAIT_MS: int(5000, 0), // how long start-up waits for Redis before serving degraded
    RECLAB_REDIS_AUTO_PIPELINING: z.enum(['on', 'off']).default('off'), // one socket write per event-loop turn
    RECLAB_KAFKA_BROKERS: z.string().min(1), // comma-separated host:port
    RECLAB_IMPRESSION_TOPIC: z.string().default('impressions'),
    RECLAB_IMPRESSION_BUFFER_MAX: int(100_000, 1), // impressions held while Kafka is slow
    RECLAB_ARTIFACTS_DIR: z.string().min(1).optional(), // one artifact directory, served as is
    RECLAB_MODEL_REGISTRY_DIR: z.string().min(1).optional(), // <dir>/<version>/ (reclab models train)
    RECLAB_MODEL_VERSION: z.string().min(1).optional(), // registry version served at start
    RECLAB_ADMIN_TOKEN: z.string().min(16).optional(), // bearer token for /admin/* and POST /v1/videos/fresh
    RECLAB_ADMIN_OPEN: z.enum(['loopback', 'always']).default('loopback'), // without a token: served on a loopback-bound core only, or (opt-out) always
    RECLAB_HTTP_REQUEST_TIMEOUT_MS: int(HTTP.requestTimeoutMs, 1), // whole request (headers + body); then 408
    RECLAB_HTTP_CONNECTION_TIMEOUT_MS: int(HTTP.connectionTimeoutMs, 1), // socket with no traffic is destroyed
    RECLAB_HTTP_KEEP_ALIVE_TIMEOUT_MS: int(HTTP.keepAliveTimeoutMs, 1), // idle keep-alive connection is closed
    RECLAB_ANN_FACTORY: z.string().default('auto'), // FAISS factory string; auto: Flat ≤ 50k items, else IVF
    RECLAB_ANN_EF_SEARCH: int(128, 1), // HNSW efSearch
    RECLAB_ANN_NPROBE: int(16, 1), // IVF nprobe
    RECLAB_ORT_THREADS: int(1, 1), // ONNX Runtime intra-op threads
    RECLAB_DEADLINE_USER_MS: num(10, 1), // seed 000 §3: user context fetch budget 10 ms
    RECLAB_DEADLINE_ENCODER_MS: num(10, 1),
    RECLAB_DEADLINE_RETRIEVAL_MS: num(30, 1), // seed 000 §2.2: 30 ms per retrieval source
    RECLAB_DEADLINE_ENRICHMENT_MS: num(40, 1), // seed 000 §3: 40 ms
    RECLAB_DEADLINE_RANKING_MS: num(50, 1), // seed 000 §3: 50 ms
    RECLAB_RETRIEVAL_TWO_TOWER_K: int(200, 1),
    RECLAB_RETRIEVAL_POPULARITY_K: int(100, 1),
    RECLAB_CANDIDATES_MAX: int(300, 1), // seed 000: ~300 candidates after merge
    RECLAB_MMR_LAMBDA: num(0.7, 0, 1),
    RECLAB_MMR_RELEVANCE: z.enum(['minmax', 'rank']).default('minmax'), // how MMR normalises scores (core/pipeline/mmr.ts)
    // Rate-based breakers (resilience4j semantics); why these values: docs/fallback.md "Circuit breakers".
    RECLAB_BREAKER_WINDOW_MS: int(5000, 1), // time-based sliding window
    RECLAB_BREAKER_WINDOW_BUCKETS: z.coerce.number().int().min(1).max(1000).default(10), // the window slides by WINDOW_MS / this
    RECLAB_BREAKER_MIN_CALLS: int(100, 1), // calls in the window before a rate is judged
    RECLAB_BREAKER_FAILURE_RATE_PCT: num(50, 1, 100), // errors, % of the window's calls, that open it
    RECLAB_BREAKER_SLOW_RATE_PCT: num(80, 1, 100), // deadline misses, % of the window's calls, that open it
    RECLAB_BREAKER_OPEN_MS: int(5000, 1), // seed 000 §6 uses 30 s; 5 s recovers faster in scenarios
    RECLAB_BREAKER_HALF_OPEN_CALLS: int(10, 1), // trial calls after the open wait, judged together
    RECLAB_POPULARITY_REFRESH_MS: int(5000, 100),
    RECLAB_EXPERIMENT_ID: z.string().default('exp_ranking_v1'),
    RECLAB_EXPERIMENT_VARIANTS: z.string().default('control:50,treatment:50'), // name:share,…
    RECLAB_EXPERIMENTS_JSON: z.string().min(1).optional(), // layered experiments with variant params; replaces the two above
    RECLAB_RANKING_WEIGHTS: z.string().default(''), // overrides of the ranking score's weights; unset = the model card's
    RECLAB_RANKING_CASCADE_TOP_N: int(0, 0), // seed 000 Q5: light ranker keeps top N for the main ranker; 0 = off
    RECLAB_RANKER_TIER_URL: z.string().url().optional(), // main ranker tier (core/ranker-tier); unset = in process
    RECLAB_RANKER_TIER_TIMEOUT_MS: int(1000, 1), // backstop of one call to the tier, below the breaker
    RECLAB_FAULT_INJECTION: z.enum(['on', 'off']).default('off'), // /admin/faults (scenarios, tests); off in production
    RECLAB_SHUTDOWN_TIMEOUT_MS: int(10_000, 1),
    RECLAB_RANDOM_SEED: int(0), // seed of the named random streams (exploration, impression ids)
    RECLAB_INSTANCE_ID: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,64}$/)
      .optional(), // names this process's impression-id stream; unset = a random one per start
    RECLAB_IMPRESSION_SPOOL_DIR: z.string().min(1).optional(), // disk spool while Kafka is down; unset = memory only
    RECLAB_IMPRESSION_SPOOL_MAX_BYTES: int(256 * 1024 * 1024, 1), // 256 MiB
    RECLAB_EVENTS_TOPIC: z.string().default('events'), // POST /v1/events → this topic
    RECLAB_EVENT_BUFFER_MAX: int(10_000, 1), // events held in memory while Kafka is slow; beyond: 503
    RECLAB_EVENT_SPOOL_DIR: z.string().min(1).optional(), // disk spool of events while Kafka is down; unset = memory only
    RECLAB_EVENT_SPOOL_MAX_BYTES: int(256 * 1024 * 1024, 1), // 256 MiB
    RECLAB_STREAMING_CONSUMER: z.enum(['on', 'off']).default('on'), // run the streaming-features consumer in process
    RECLAB_WATCHED_FILTER_N: int(50, 0), // recent watches the already-watched filter reads
    RECLAB_POLICY_REFRESH_MS: int(10_000, 100), // how often the policy block list (Redis set policy:blocked) is re-read
    RECLAB_POLICY_MAX_ENTRIES: int(100_000, 0), // most blocked videos held in process
    RECLAB_RERANK_CLICKBAIT_PENALTY: num(0, 0, 1), // extra to the ranking score's tuned `clickbait` weight
    RECLAB_RERANK_FRESHNESS_BOOST: num(0.2, 0),
    RECLAB_RERANK_FRESHNESS_HALF_LIFE_H: num(24, 0.01),
    RECLAB_RERANK_CREATOR_CAP: int(3, 1), // videos per creator per page
    RECLAB_RERANK_EXPLORATION_SHARE: num(0.1, 0, 0.5), // seed 000 Q7: 5–10%; Q8: 3 of 30
    RECLAB_RERANK_EXPLORATION_MAX_AGE_H: num(6, 0), // fresh enough to explore
    RECLAB_RERANK_EXPLORATION_MAX_LOG_VIEWS: num(5, 0), // under-exposed: ln(1 + views) at most this
    RECLAB_BULKHEAD_MAX_CONCURRENT: int(64, 1), // recommendation pipelines running at once
    RECLAB_BULKHEAD_MAX_QUEUE: int(256, 0), // waiting for a slot; beyond: the popularity cache (brownout), else 503
    RECLAB_SHED_TARGET_MS: num(50, 1), // CoDel target queueing time
    RECLAB_SHED_INTERVAL_MS: num(500, 1), // CoDel interval
    RECLAB_BROWNOUT: z.enum(['on', 'off']).default('on'), // cheaper rungs under load before any 503 (docs/fallback.md)
    RECLAB_BROWNOUT_DEADLINE_MS: num(200, 1), // past it even the popularity cache is late: 503 + Retry-After
    RECLAB_BROWNOUT_FULL_MAX_MS: num(100, 0), // expected time to answer up to which a request runs the full pipeline
    RECLAB_BROWNOUT_LIGHT_MAX_MS: num(140, 0), // … the light ranker instead of the main one
    RECLAB_BROWNOUT_LEAN_MAX_MS: num(170, 0), // … the light ranker on fewer candidates
    RECLAB_BROWNOUT_CPU_MS: z.string().default('full:2.5,light:1.5,lean:1,popularity:0.3'), // CPU per request by level
    RECLAB_BROWNOUT_LEAN_CANDIDATES: int(100, 1), // candidates at most at the lean level
    RECLAB_BROWNOUT_RETRY_AFTER_S: int(1, 1), // Retry-After of a shed request
    RECLAB_L1_CACHE_MAX_ENTRIES: int(100_000, 0), // in-process video-record cache; 0 disables
    RECLAB_L1_CACHE_TTL_MS: int(60_000, 0), // how long a cached video record is served; 0 disables
  })
  .strict();

export type CoreEnv = z.infer<typeof envSchema>;

/**
 * The same variables with the infrastructure's addresses optional: what the core's settings are
 * parsed with when no Redis or Kafka exists (the simulator, tests, benchmarks).
 */
const settingsEnvSchema = envSchema.partial({ RECLAB_REDIS_URL: true, RECLAB_KAFKA_BROKERS: true });

/** Every variable the core reads: what a launcher passes it (loadtest/lab-env.ts), and no other. */
export const CORE_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

/**
 * Every variable the core reads, and the ranker tier's (docs/configuration.md lists them; a test keeps
 * both in step).
 */
export const CONFIG_VARIABLES: readonly string[] = [
  ...CORE_VARIABLES,
  // The ranker tier's own process (core/ranker-tier/config.ts) is configured from the same page.
  ...RANKER_TIER_VARIABLES,
];
/** The ranker tier's variables may share the core's environment; the core ignores them. */
const TIER_ONLY = new Set(RANKER_TIER_VARIABLES);

export interface CoreConfig {
  host: string;
  port: number;
  logLevel: CoreEnv['RECLAB_LOG_LEVEL'];
  redis: { url: string; commandTimeoutMs: number; startupWaitMs: number; autoPipelining: boolean };
  kafka: { brokers: string[]; impressionTopic: string; bufferMax: number };
  /**
   * Where the first model set comes from: a registry version (`registryDir/version`) or one
   * artifact directory (`artifactsDir`, the pre-registry way), never both. With `registryDir` set,
   * `POST /admin/models/activate` can swap in any version of the registry.
   */
  models: { artifactsDir?: string; registryDir?: string; version?: string };
  /**
   * Bearer token that /admin/* and POST /v1/videos/fresh require. Without one they are served only
   * when `host` is loopback, or always with `adminOpen: 'always'` (core/http/admin-access.ts).
   */
  adminToken?: string;
  adminOpen: 'loopback' | 'always';
  /** HTTP server timeouts (core/http/server-timeouts.ts). */
  http: ServerTimeouts;
  ann: { factory: string; efSearch: number; nprobe: number };
  ortThreads: number;
  deadlines: PipelineConfig['deadlines'];
  retrievalK: Record<string, number>;
  candidatesMax: number;
  mmrLambda: number;
  breaker: PipelineConfig['breaker'];
  popularityRefreshMs: number;
  /** Experiment layers; RECLAB_EXPERIMENTS_JSON, or the one layer of RECLAB_EXPERIMENT_ID/_VARIANTS. */
  experiments: ExperimentConfig[];
  rankingWeights: RankingWeights;
  cascadeTopN: number;
  /** Serve /admin/faults and apply the faults set there (core/resilience/fault-injection.ts). */
  faultInjection: boolean;
  /** The main ranker tier; undefined = the main ranker runs in the core's process. */
  rankerTier?: { url: string; timeoutMs: number };
  shutdownTimeoutMs: number;
  randomSeed: number;
  /**
   * Names this process's impression-id stream (`impression.id.<instanceId>`, derived from
   * `randomSeed`): two processes with the same seed must differ in it. Unset: core/main.ts draws one
   * per start.
   */
  instanceId?: string;
  impressionSpool: { dir?: string; maxBytes: number };
  /** POST /v1/events: topic, memory bound, disk spool (core/adapters/kafka/kafka-event-log.ts), consumer. */
  events: { topic: string; consumer: boolean; bufferMax: number; spool: { dir?: string; maxBytes: number } };
  watchedFilterN: number;
  policy: { refreshMs: number; maxEntries: number };
  rerank: PipelineConfig['rerank'];
  bulkhead: BulkheadOptions;
  /** Brownout before shedding (core/resilience/brownout.ts). */
  brownout: BrownoutSettings;
  /** In-process L1 cache of video records (core/features/l1-feature-cache.ts); either 0 disables it. */
  l1Cache: { maxEntries: number; ttlMs: number };
}

function parseVariants(spec: string): { name: string; share: number }[] {
  const variants = spec.split(',').map((part) => {
    const [name, share] = part.split(':');
    return { name: name?.trim() ?? '', share: Number(share) };
  });
  if (variants.some((v) => !v.name || !(v.share > 0))) {
    throw new ReclabError(
      'RECLAB_ERR_CONFIG_INVALID',
      `RECLAB_EXPERIMENT_VARIANTS: expected name:share,… got '${spec}'`,
    );
  }
  return variants;
}

const weightsSchema = z
  .object({
    click: z.number(),
    watchTime: z.number(),
    like: z.number(),
    finish: z.number(),
    dislike: z.number(),
    clickbait: z.number(),
    watchBaseline: z.number().nonnegative(),
  })
  .partial()
  .strict();

/** RECLAB_EXPERIMENTS_JSON: `[{id, variants: [{name, share, params?: {model_version?, ranking_weights?}}]}]`. */
const experimentsSchema = z
  .array(
    z
      .object({
        id: z.string().min(1),
        variants: z
          .array(
            z
              .object({
                name: z.string().min(1),
                share: z.number().positive(),
                params: z
                  .object({ model_version: z.string().min(1), ranking_weights: weightsSchema })
                  .partial()
                  .strict()
                  .optional(),
              })
              .strict(),
          )
          .min(1),
      })
      .strict(),
  )
  .refine((exps) => new Set(exps.map((e) => e.id)).size === exps.length, 'experiment ids must be unique');

function parseExperiments(json: string, problems: string[]): ExperimentConfig[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    problems.push(`RECLAB_EXPERIMENTS_JSON: ${(err as Error).message}`);
    return [];
  }
  const parsed = experimentsSchema.safeParse(raw);
  if (!parsed.success) {
    for (const i of parsed.error.issues)
      problems.push(`RECLAB_EXPERIMENTS_JSON.${i.path.join('.')}: ${i.message}`);
    return [];
  }
  return parsed.data.map((e) => ({
    id: e.id,
    variants: e.variants.map((v) => ({
      name: v.name,
      share: v.share,
      params: v.params && { modelVersion: v.params.model_version, rankingWeights: v.params.ranking_weights },
    })),
  }));
}

/** `full:2.5,light:1.5,lean:1,popularity:0.3` → CPU ms per brownout level; every level must be named once. */
function parseBrownoutCpu(spec: string, problems: string[]): BrownoutSettings['cpuMs'] {
  const levels = ['full', 'light', 'lean', 'popularity'] as const;
  const out: Partial<BrownoutSettings['cpuMs']> = {};
  for (const part of spec.split(',').filter((p) => p.trim())) {
    const [name, value] = part.split(':').map((x) => x.trim());
    const ms = Number(value);
    if (!(levels as readonly string[]).includes(name) || value === '' || !(ms >= 0) || !Number.isFinite(ms)) {
      problems.push(`RECLAB_BROWNOUT_CPU_MS: expected ${levels.join('|')}:ms,… got '${part}'`);
      continue;
    }
    out[name as (typeof levels)[number]] = ms;
  }
  const missing = levels.filter((l) => out[l] === undefined);
  if (missing.length > 0 && !problems.some((p) => p.startsWith('RECLAB_BROWNOUT_CPU_MS'))) {
    problems.push(`RECLAB_BROWNOUT_CPU_MS: no cost for ${missing.join(', ')}`);
  }
  return { full: 0, light: 0, lean: 0, popularity: 0, ...out };
}

/**
 * `like:0.2,clickbait:0.5` → those weights; unnamed ones stay unset (the model card's tuned weight,
 * else the default: core/pipeline/experiments.ts).
 */
function parseWeights(spec: string, problems: string[]): RankingWeights {
  const w: RankingWeights = {};
  const names: readonly string[] = SCORE_WEIGHT_NAMES;
  for (const part of spec.split(',').filter((p) => p.trim())) {
    const [name, value] = part.split(':').map((x) => x.trim());
    const invalid = !names.includes(name) || !Number.isFinite(Number(value)) || value === '';
    if (invalid || (name === 'watchBaseline' && Number(value) < 0)) {
      problems.push(
        `RECLAB_RANKING_WEIGHTS: expected ${SCORE_WEIGHT_NAMES.join('|')}:number,… got '${part}'`,
      );
      continue;
    }
    w[name as keyof RankingWeights] = Number(value);
  }
  return w;
}

/** The fields of `CoreConfig` that name no infrastructure: the settings the core runs on. */
export type SettingsFields = Pick<
  CoreConfig,
  | 'deadlines'
  | 'retrievalK'
  | 'candidatesMax'
  | 'mmrLambda'
  | 'breaker'
  | 'popularityRefreshMs'
  | 'experiments'
  | 'rankingWeights'
  | 'cascadeTopN'
  | 'faultInjection'
  | 'randomSeed'
  | 'instanceId'
  | 'watchedFilterN'
  | 'policy'
  | 'rerank'
  | 'bulkhead'
  | 'brownout'
  | 'l1Cache'
>;

/**
 * What the composition root (core/compose.ts) builds a core from, besides its adapters: the
 * pipeline's tunables, admission, the in-process caches, fault injection, the impression-id stream's
 * name. No addresses: buildable without Redis or Kafka (`loadSettings`).
 */
export interface CoreSettings {
  pipeline: PipelineConfig;
  bulkhead: BulkheadOptions;
  brownout: BrownoutSettings;
  popularityRefreshMs: number;
  l1Cache: CoreConfig['l1Cache'];
  policy: CoreConfig['policy'];
  faultInjection: boolean;
  /** See `CoreConfig.instanceId`; unset: the stream is `impression.id`. */
  instanceId?: string;
}

type ParsedEnv = z.infer<typeof settingsEnvSchema>;

/** Parses the `RECLAB_*` variables of `env` with `schema`; cross-variable problems go to `problems`. */
function parseVariables<S extends typeof envSchema | typeof settingsEnvSchema>(
  schema: S,
  env: Record<string, string | undefined>,
  problems: string[],
): { e: z.infer<S>; fields: SettingsFields } {
  const vars = Object.fromEntries(
    Object.entries(env).filter(([k, v]) => k.startsWith('RECLAB_') && v !== undefined && !TIER_ONLY.has(k)),
  );
  const e = parseEnv(schema, vars) as z.infer<S>;
  if (e.RECLAB_EXPERIMENTS_JSON && ('RECLAB_EXPERIMENT_ID' in vars || 'RECLAB_EXPERIMENT_VARIANTS' in vars)) {
    problems.push('give RECLAB_EXPERIMENTS_JSON or RECLAB_EXPERIMENT_ID/_VARIANTS, not both');
  }
  const experiments: ExperimentConfig[] = e.RECLAB_EXPERIMENTS_JSON
    ? parseExperiments(e.RECLAB_EXPERIMENTS_JSON, problems)
    : [{ id: e.RECLAB_EXPERIMENT_ID, variants: parseVariants(e.RECLAB_EXPERIMENT_VARIANTS) }];
  const rankingWeights = parseWeights(e.RECLAB_RANKING_WEIGHTS, problems);
  const cpuMs = parseBrownoutCpu(e.RECLAB_BROWNOUT_CPU_MS, problems);
  const max = [e.RECLAB_BROWNOUT_FULL_MAX_MS, e.RECLAB_BROWNOUT_LIGHT_MAX_MS, e.RECLAB_BROWNOUT_LEAN_MAX_MS];
  if (!(max[0] <= max[1] && max[1] <= max[2] && max[2] <= e.RECLAB_BROWNOUT_DEADLINE_MS)) {
    problems.push(
      'RECLAB_BROWNOUT_FULL_MAX_MS ≤ _LIGHT_MAX_MS ≤ _LEAN_MAX_MS ≤ _DEADLINE_MS must hold, got ' +
        `${max.join(', ')}, ${e.RECLAB_BROWNOUT_DEADLINE_MS}`,
    );
  }
  return { e, fields: settingsFieldsOf(e, experiments, rankingWeights, cpuMs) };
}

function settingsFieldsOf(
  e: ParsedEnv,
  experiments: ExperimentConfig[],
  rankingWeights: RankingWeights,
  cpuMs: BrownoutSettings['cpuMs'],
): SettingsFields {
  return {
    deadlines: {
      userMs: e.RECLAB_DEADLINE_USER_MS,
      encoderMs: e.RECLAB_DEADLINE_ENCODER_MS,
      retrievalMs: e.RECLAB_DEADLINE_RETRIEVAL_MS,
      enrichmentMs: e.RECLAB_DEADLINE_ENRICHMENT_MS,
      rankingMs: e.RECLAB_DEADLINE_RANKING_MS,
    },
    retrievalK: { two_tower: e.RECLAB_RETRIEVAL_TWO_TOWER_K, popularity: e.RECLAB_RETRIEVAL_POPULARITY_K },
    candidatesMax: e.RECLAB_CANDIDATES_MAX,
    mmrLambda: e.RECLAB_MMR_LAMBDA,
    breaker: {
      windowMs: e.RECLAB_BREAKER_WINDOW_MS,
      windowBuckets: e.RECLAB_BREAKER_WINDOW_BUCKETS,
      minimumCalls: e.RECLAB_BREAKER_MIN_CALLS,
      failureRatePct: e.RECLAB_BREAKER_FAILURE_RATE_PCT,
      slowCallRatePct: e.RECLAB_BREAKER_SLOW_RATE_PCT,
      openMs: e.RECLAB_BREAKER_OPEN_MS,
      halfOpenCalls: e.RECLAB_BREAKER_HALF_OPEN_CALLS,
    },
    popularityRefreshMs: e.RECLAB_POPULARITY_REFRESH_MS,
    experiments,
    rankingWeights,
    cascadeTopN: e.RECLAB_RANKING_CASCADE_TOP_N,
    faultInjection: e.RECLAB_FAULT_INJECTION === 'on',
    randomSeed: e.RECLAB_RANDOM_SEED,
    instanceId: e.RECLAB_INSTANCE_ID,
    watchedFilterN: e.RECLAB_WATCHED_FILTER_N,
    policy: { refreshMs: e.RECLAB_POLICY_REFRESH_MS, maxEntries: e.RECLAB_POLICY_MAX_ENTRIES },
    rerank: {
      clickbaitPenalty: e.RECLAB_RERANK_CLICKBAIT_PENALTY,
      freshnessBoost: e.RECLAB_RERANK_FRESHNESS_BOOST,
      freshnessHalfLifeH: e.RECLAB_RERANK_FRESHNESS_HALF_LIFE_H,
      creatorCapPerPage: e.RECLAB_RERANK_CREATOR_CAP,
      explorationShare: e.RECLAB_RERANK_EXPLORATION_SHARE,
      explorationMaxAgeH: e.RECLAB_RERANK_EXPLORATION_MAX_AGE_H,
      explorationMaxLogViews: e.RECLAB_RERANK_EXPLORATION_MAX_LOG_VIEWS,
      mmrRelevance: e.RECLAB_MMR_RELEVANCE,
    },
    bulkhead: {
      maxConcurrent: e.RECLAB_BULKHEAD_MAX_CONCURRENT,
      maxQueue: e.RECLAB_BULKHEAD_MAX_QUEUE,
      shedTargetMs: e.RECLAB_SHED_TARGET_MS,
      shedIntervalMs: e.RECLAB_SHED_INTERVAL_MS,
    },
    brownout: {
      enabled: e.RECLAB_BROWNOUT === 'on',
      deadlineMs: e.RECLAB_BROWNOUT_DEADLINE_MS,
      maxDelayMs: {
        full: e.RECLAB_BROWNOUT_FULL_MAX_MS,
        light: e.RECLAB_BROWNOUT_LIGHT_MAX_MS,
        lean: e.RECLAB_BROWNOUT_LEAN_MAX_MS,
      },
      cpuMs,
      leanCandidates: e.RECLAB_BROWNOUT_LEAN_CANDIDATES,
      retryAfterS: e.RECLAB_BROWNOUT_RETRY_AFTER_S,
    },
    l1Cache: { maxEntries: e.RECLAB_L1_CACHE_MAX_ENTRIES, ttlMs: e.RECLAB_L1_CACHE_TTL_MS },
  };
}

function throwIfProblems(problems: string[]): void {
  if (problems.length > 0) throw new ReclabError('RECLAB_ERR_CONFIG_INVALID', `\n  ${problems.join('\n  ')}`);
}

/**
 * Parses the `RECLAB_*` variables of `env` (others are ignored).
 * @throws ReclabError RECLAB_ERR_CONFIG_INVALID listing every problem, one per line
 */
export function loadConfig(env: Record<string, string | undefined>): Readonly<CoreConfig> {
  const problems: string[] = [];
  const { e, fields } = parseVariables(envSchema, env, problems);
  if (!e.RECLAB_ARTIFACTS_DIR && !e.RECLAB_MODEL_VERSION) {
    problems.push(
      'RECLAB_ARTIFACTS_DIR or RECLAB_MODEL_VERSION (with RECLAB_MODEL_REGISTRY_DIR) is required',
    );
  }
  if (e.RECLAB_MODEL_VERSION && !e.RECLAB_MODEL_REGISTRY_DIR) {
    problems.push('RECLAB_MODEL_VERSION needs RECLAB_MODEL_REGISTRY_DIR');
  }
  if (e.RECLAB_MODEL_VERSION && e.RECLAB_ARTIFACTS_DIR) {
    problems.push('give RECLAB_ARTIFACTS_DIR or RECLAB_MODEL_VERSION, not both');
  }
  if (
    fields.experiments.some((x) => x.variants.some((v) => v.params?.modelVersion)) &&
    !e.RECLAB_MODEL_REGISTRY_DIR
  ) {
    problems.push('a variant pinning a model_version needs RECLAB_MODEL_REGISTRY_DIR');
  }
  throwIfProblems(problems);
  return Object.freeze({
    host: e.RECLAB_HOST,
    port: e.RECLAB_PORT,
    logLevel: e.RECLAB_LOG_LEVEL,
    redis: {
      url: e.RECLAB_REDIS_URL,
      commandTimeoutMs: e.RECLAB_REDIS_COMMAND_TIMEOUT_MS,
      startupWaitMs: e.RECLAB_REDIS_STARTUP_WAIT_MS,
      autoPipelining: e.RECLAB_REDIS_AUTO_PIPELINING === 'on',
    },
    kafka: {
      brokers: e.RECLAB_KAFKA_BROKERS.split(',')
        .map((b) => b.trim())
        .filter(Boolean),
      impressionTopic: e.RECLAB_IMPRESSION_TOPIC,
      bufferMax: e.RECLAB_IMPRESSION_BUFFER_MAX,
    },
    models: {
      artifactsDir: e.RECLAB_ARTIFACTS_DIR,
      registryDir: e.RECLAB_MODEL_REGISTRY_DIR,
      version: e.RECLAB_MODEL_VERSION,
    },
    adminToken: e.RECLAB_ADMIN_TOKEN,
    adminOpen: e.RECLAB_ADMIN_OPEN,
    http: {
      requestTimeoutMs: e.RECLAB_HTTP_REQUEST_TIMEOUT_MS,
      connectionTimeoutMs: e.RECLAB_HTTP_CONNECTION_TIMEOUT_MS,
      keepAliveTimeoutMs: e.RECLAB_HTTP_KEEP_ALIVE_TIMEOUT_MS,
    },
    ann: { factory: e.RECLAB_ANN_FACTORY, efSearch: e.RECLAB_ANN_EF_SEARCH, nprobe: e.RECLAB_ANN_NPROBE },
    ortThreads: e.RECLAB_ORT_THREADS,
    rankerTier: e.RECLAB_RANKER_TIER_URL
      ? { url: e.RECLAB_RANKER_TIER_URL, timeoutMs: e.RECLAB_RANKER_TIER_TIMEOUT_MS }
      : undefined,
    shutdownTimeoutMs: e.RECLAB_SHUTDOWN_TIMEOUT_MS,
    impressionSpool: { dir: e.RECLAB_IMPRESSION_SPOOL_DIR, maxBytes: e.RECLAB_IMPRESSION_SPOOL_MAX_BYTES },
    events: {
      topic: e.RECLAB_EVENTS_TOPIC,
      consumer: e.RECLAB_STREAMING_CONSUMER === 'on',
      bufferMax: e.RECLAB_EVENT_BUFFER_MAX,
      spool: { dir: e.RECLAB_EVENT_SPOOL_DIR, maxBytes: e.RECLAB_EVENT_SPOOL_MAX_BYTES },
    },
    ...fields,
  });
}

/**
 * The core's settings from the `RECLAB_*` variables of `env`, without infrastructure: no Redis or
 * Kafka address and no model location is needed (any given is ignored). Same names, defaults and
 * checks as `loadConfig` otherwise: unknown variables are rejected.
 * @throws ReclabError RECLAB_ERR_CONFIG_INVALID listing every problem, one per line
 */
export function loadSettings(env: Record<string, string | undefined>): Readonly<CoreSettings> {
  const problems: string[] = [];
  const { fields } = parseVariables(settingsEnvSchema, env, problems);
  throwIfProblems(problems);
  return Object.freeze(settingsOf(fields));
}

/** The composition root's settings from a loaded config (or its settings fields). */
export function settingsOf(cfg: SettingsFields): CoreSettings {
  return {
    pipeline: pipelineConfigOf(cfg),
    bulkhead: cfg.bulkhead,
    brownout: cfg.brownout,
    popularityRefreshMs: cfg.popularityRefreshMs,
    l1Cache: cfg.l1Cache,
    policy: cfg.policy,
    faultInjection: cfg.faultInjection,
    instanceId: cfg.instanceId,
  };
}

/** The pipeline's tunables from the core's configuration (`retrievalKDefault`: 100 per other source). */
export function pipelineConfigOf(cfg: SettingsFields): PipelineConfig {
  return {
    deadlines: cfg.deadlines,
    retrievalK: cfg.retrievalK,
    retrievalKDefault: 100,
    candidatesMax: cfg.candidatesMax,
    mmrLambda: cfg.mmrLambda,
    rerank: cfg.rerank,
    watchedFilterN: cfg.watchedFilterN,
    breaker: cfg.breaker,
    experiments: cfg.experiments,
    rankingWeights: cfg.rankingWeights,
    cascadeTopN: cfg.cascadeTopN,
    leanCandidatesMax: cfg.brownout.leanCandidates,
  };
}
