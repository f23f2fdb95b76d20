/**
 * The core settings a scenario may set, as typed values with units in their names, and their
 * mapping to the core's `RECLAB_*` variables (docs/configuration.md). Both runners use the mapping:
 * the live runner hands the variables to the core process, the simulator to `simCoreSettings`, so a
 * setting means the same in both. Values are checked twice: here for type and sign, and by the
 * core's own config schema (ranges, relations) when the scenario is validated.
 */
import { z } from 'zod';

const ms = z.number().positive().finite();
const intMs = z.number().int().positive();
const count = z.number().int().nonnegative();

export const CoreSettingsSchema = z
  .object({
    /** Stage deadlines (seed 000 §3). */
    deadlines: z
      .object({
        userMs: ms,
        encoderMs: ms,
        retrievalMs: ms,
        enrichmentMs: ms,
        rankingMs: ms,
      })
      .partial()
      .strict()
      .optional(),
    /**
     * Circuit breakers (seed 000 §6; rate-based, resilience4j semantics: docs/fallback.md "Circuit
     * breakers"): the time window, the calls it needs before judging, the error and deadline-miss
     * rates (%) that open one, how long it stays open, and its half-open trial calls.
     */
    breaker: z
      .object({
        windowMs: intMs,
        minimumCalls: z.number().int().positive(),
        failureRatePct: z.number().min(1).max(100),
        slowCallRatePct: z.number().min(1).max(100),
        openMs: intMs,
        halfOpenCalls: z.number().int().positive(),
      })
      .partial()
      .strict()
      .optional(),
    /** Admission: pipelines at once, and requests waiting for a slot (beyond: the popularity cache, or 503 without brownout). */
    bulkhead: z
      .object({ maxConcurrent: z.number().int().positive(), maxQueue: count })
      .partial()
      .strict()
      .optional(),
    /** CoDel-style shedding of the bulkhead's queue. */
    shedding: z.object({ targetMs: ms, intervalMs: ms }).partial().strict().optional(),
    /** Brownout before shedding (docs/fallback.md, "Brownout"): on/off, the deadline, each level's bound. */
    brownout: z
      .object({
        enabled: z.boolean(),
        deadlineMs: ms,
        fullMaxMs: z.number().nonnegative().finite(),
        lightMaxMs: z.number().nonnegative().finite(),
        leanMaxMs: z.number().nonnegative().finite(),
        leanCandidates: z.number().int().positive(),
      })
      .partial()
      .strict()
      .optional(),
    /** Light ranker keeps the top N for the main ranker (seed 000 Q5); 0 = off. */
    rankingCascadeTopN: count.optional(),
    /** Backstop of one call to the ranker tier, below its breaker. */
    rankerTierTimeoutMs: intMs.optional(),
    /** Backstop of one Redis command. */
    redisCommandTimeoutMs: intMs.optional(),
    /** How often the popularity cache is refreshed. */
    popularityRefreshMs: z.number().int().min(100).optional(),
  })
  .strict();

export type CoreSettings = z.infer<typeof CoreSettingsSchema>;

/** The `RECLAB_*` variables for `s` (only those it sets). */
export function coreEnvOf(s: CoreSettings | undefined): Record<string, string> {
  if (!s) return {};
  const env: Record<string, string> = {};
  const set = (name: string, v: number | undefined) => {
    if (v !== undefined) env[name] = String(v);
  };
  set('RECLAB_DEADLINE_USER_MS', s.deadlines?.userMs);
  set('RECLAB_DEADLINE_ENCODER_MS', s.deadlines?.encoderMs);
  set('RECLAB_DEADLINE_RETRIEVAL_MS', s.deadlines?.retrievalMs);
  set('RECLAB_DEADLINE_ENRICHMENT_MS', s.deadlines?.enrichmentMs);
  set('RECLAB_DEADLINE_RANKING_MS', s.deadlines?.rankingMs);
  set('RECLAB_BREAKER_WINDOW_MS', s.breaker?.windowMs);
  set('RECLAB_BREAKER_MIN_CALLS', s.breaker?.minimumCalls);
  set('RECLAB_BREAKER_FAILURE_RATE_PCT', s.breaker?.failureRatePct);
  set('RECLAB_BREAKER_SLOW_RATE_PCT', s.breaker?.slowCallRatePct);
  set('RECLAB_BREAKER_OPEN_MS', s.breaker?.openMs);
  set('RECLAB_BREAKER_HALF_OPEN_CALLS', s.breaker?.halfOpenCalls);
  set('RECLAB_BULKHEAD_MAX_CONCURRENT', s.bulkhead?.maxConcurrent);
  set('RECLAB_BULKHEAD_MAX_QUEUE', s.bulkhead?.maxQueue);
  set('RECLAB_SHED_TARGET_MS', s.shedding?.targetMs);
  set('RECLAB_SHED_INTERVAL_MS', s.shedding?.intervalMs);
  if (s.brownout?.enabled !== undefined) env.RECLAB_BROWNOUT = s.brownout.enabled ? 'on' : 'off';
  set('RECLAB_BROWNOUT_DEADLINE_MS', s.brownout?.deadlineMs);
  set('RECLAB_BROWNOUT_FULL_MAX_MS', s.brownout?.fullMaxMs);
  set('RECLAB_BROWNOUT_LIGHT_MAX_MS', s.brownout?.lightMaxMs);
  set('RECLAB_BROWNOUT_LEAN_MAX_MS', s.brownout?.leanMaxMs);
  set('RECLAB_BROWNOUT_LEAN_CANDIDATES', s.brownout?.leanCandidates);
  set('RECLAB_RANKING_CASCADE_TOP_N', s.rankingCascadeTopN);
  set('RECLAB_RANKER_TIER_TIMEOUT_MS', s.rankerTierTimeoutMs);
  set('RECLAB_REDIS_COMMAND_TIMEOUT_MS', s.redisCommandTimeoutMs);
  set('RECLAB_POPULARITY_REFRESH_MS', s.popularityRefreshMs);
  return env;
}
