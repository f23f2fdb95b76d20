import { z } from 'zod';
import { parseEnv } from '../config/env.ts';

/**
 * The ranker tier's configuration (`reclab ranker serve`, core/ranker-tier/main.ts), read from
 * `RECLAB_RANKER_TIER_*` environment variables; docs/configuration.md lists them (its test reads
 * RANKER_TIER_VARIABLES through core/config/config.ts). Units are in the names. Every problem is
 * reported at once; the parsed config is frozen.
 */
const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(def);

const envSchema = z
  .object({
    RECLAB_RANKER_TIER_HOST: z.string().default('127.0.0.1'),
    RECLAB_RANKER_TIER_PORT: int(8090, 0, 65_535), // 0 = ephemeral
    RECLAB_RANKER_TIER_LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
    RECLAB_RANKER_TIER_REGISTRY_DIR: z.string().min(1), // <dir>/<version>/ranker.onnx
    RECLAB_RANKER_TIER_PRELOAD: z.string().optional(), // comma-separated versions loaded and warmed at start
    RECLAB_RANKER_TIER_MAX_MODELS: int(2, 1, 3), // sessions kept loaded (least recently used evicted)
    RECLAB_RANKER_TIER_MAX_BATCH_ROWS: int(1200, 1), // rows per batch: 4 requests of 300 candidates
    RECLAB_RANKER_TIER_MAX_BATCH_DELAY_MS: z.coerce.number().min(0).max(1000).default(0), // oldest request's wait before a partial batch leaves; 0: lowest latency at scenario rates (docs/ranker-tier.md)
    RECLAB_RANKER_TIER_MAX_IN_FLIGHT_BATCHES: int(1, 1, 64), // batches running at once per model
    RECLAB_RANKER_TIER_MAX_QUEUE_ROWS: int(12_000, 1), // rows waiting per model; beyond: 503 RECLAB_ERR_RANKER_OVERLOADED
    RECLAB_RANKER_TIER_ORT_THREADS: int(1, 1, 64), // ONNX Runtime intra-op threads per session
    RECLAB_RANKER_TIER_WARMUP_ROUNDS: int(10, 0, 1000), // dummy batches run on a session before it serves
    RECLAB_RANKER_TIER_SHUTDOWN_TIMEOUT_MS: int(10_000, 1), // SIGTERM: drain this long, then exit 1
  })
  .strict();

/** Every variable the ranker tier reads. */
export const RANKER_TIER_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

const PREFIX = 'RECLAB_RANKER_TIER_';

export interface RankerTierConfig {
  host: string;
  port: number;
  logLevel: z.infer<typeof envSchema>['RECLAB_RANKER_TIER_LOG_LEVEL'];
  registryDir: string;
  preload: string[];
  maxModels: number;
  batching: {
    maxBatchRows: number;
    maxBatchDelayMs: number;
    maxInFlightBatches: number;
    maxQueueRows: number;
  };
  ortThreads: number;
  warmUpRounds: number;
  shutdownTimeoutMs: number;
}

/**
 * Parses the `RECLAB_RANKER_TIER_*` variables of `env` (all others are ignored). `otherKnown` names
 * variables of that prefix that belong to someone else (the core's client-side settings, e.g. the
 * tier's URL) and are ignored rather than rejected; any other unknown one is an error (a typo must
 * not fall back to a default).
 * @throws ReclabError RECLAB_ERR_CONFIG_INVALID listing every problem, one per line
 */
export function loadRankerTierConfig(
  env: Record<string, string | undefined>,
  otherKnown: readonly string[] = [],
): Readonly<RankerTierConfig> {
  const mine = new Set(RANKER_TIER_VARIABLES);
  const others = new Set(otherKnown.filter((k) => !mine.has(k)));
  const vars = Object.fromEntries(
    Object.entries(env).filter(([k, v]) => k.startsWith(PREFIX) && v !== undefined && !others.has(k)),
  );
  const e = parseEnv(envSchema, vars);
  return Object.freeze({
    host: e.RECLAB_RANKER_TIER_HOST,
    port: e.RECLAB_RANKER_TIER_PORT,
    logLevel: e.RECLAB_RANKER_TIER_LOG_LEVEL,
    registryDir: e.RECLAB_RANKER_TIER_REGISTRY_DIR,
    preload: (e.RECLAB_RANKER_TIER_PRELOAD ?? '')
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean),
    maxModels: e.RECLAB_RANKER_TIER_MAX_MODELS,
    batching: {
      maxBatchRows: e.RECLAB_RANKER_TIER_MAX_BATCH_ROWS,
      maxBatchDelayMs: e.RECLAB_RANKER_TIER_MAX_BATCH_DELAY_MS,
      maxInFlightBatches: e.RECLAB_RANKER_TIER_MAX_IN_FLIGHT_BATCHES,
      maxQueueRows: e.RECLAB_RANKER_TIER_MAX_QUEUE_ROWS,
    },
    ortThreads: e.RECLAB_RANKER_TIER_ORT_THREADS,
    warmUpRounds: e.RECLAB_RANKER_TIER_WARMUP_ROUNDS,
    shutdownTimeoutMs: e.RECLAB_RANKER_TIER_SHUTDOWN_TIMEOUT_MS,
  });
}
