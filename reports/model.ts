/**
 * RunResult: the one record of a run that every report renders (ARCHITECTURE.md, "reports/").
 * summary.json is this object, validated; junit.xml and index.html are views of it.
 *
 * Versioned: `schemaVersion` is 1. A change that removes or re-means a field bumps it; adding an
 * optional field does not. The zod schema is the source of truth; `runResultJsonSchema()` gives
 * the same contract as JSON Schema for consumers outside TypeScript.
 *
 * Units are in the names: `…Ms` milliseconds, `…S` seconds, `…Qps` requests per second,
 * `memGiB` GiB. Latencies are measured from the intended send time (open model), percentiles from
 * an HdrHistogram (Measurement rules).
 */
import { z } from 'zod';

export const SCHEMA_VERSION = 1;

const count = z.number().int().nonnegative();
const ms = z.number().nonnegative();

/** Latency summary of a window, ms; all zero when `count` is 0. */
export const LatencyMsSchema = z.object({
  count,
  mean: ms.optional(),
  p50: ms,
  p90: ms,
  p95: ms,
  p99: ms,
  p999: ms,
  max: ms,
});

/** Responses by status class; `errors` = connection errors, `timeouts` = unanswered requests. */
export const StatusCountsSchema = z.object({
  '2xx': count,
  '3xx': count.optional(),
  '4xx': count,
  '5xx': count,
  errors: count,
  timeouts: count,
  /** 503 responses (the service shed them), also counted in `5xx`. */
  shed: count.optional(),
});

/** One second of a phase, by intended send time (reports/series.ts). */
export const SeriesBucketSchema = z.object({
  startS: z.number().nonnegative(),
  count,
  /** Requests intended in the bucket (sent or dropped); absent in runs before it was recorded. */
  offered: count.optional(),
  p50Ms: ms.optional(),
  p95Ms: ms.optional(),
  p99Ms: ms,
  /** The bucket's latency histogram (µs, HdrHistogram compressed base64); absent when none answered. */
  histogramBase64: z.string().min(1).optional(),
  rungCounts: z.record(z.string().min(1), count),
  shed: count,
  errors: count,
});

export const SeriesSchema = z.object({
  bucketS: z.number().positive(),
  buckets: z.array(SeriesBucketSchema),
});

/**
 * A fault as the run applied it (scenarios/define.ts `Fault`): planned window (s from its phase's
 * start), and when it was started, in force and ended (ISO 8601; wall time live, virtual time
 * in a simulation). `skipped`: the run could not inject it (e.g. `--target` without control of the
 * infrastructure; the reason is in `message` and in the run's warnings); `failed`: the injector threw.
 */
export const FaultRecordSchema = z.object({
  phase: z.string().min(1),
  target: z.string().min(1),
  kind: z.string().min(1),
  /** The fault's parameters with units in their names (latencyMs, jitterMs, slowFactor, nodes). */
  params: z.record(z.string().min(1), z.number()).optional(),
  fromS: z.number().nonnegative(),
  /** Absent for an event (restart_empty). */
  toS: z.number().nonnegative().optional(),
  status: z.enum(['applied', 'skipped', 'failed']),
  /** Injection began / was in force / was reverted (the service answers again). */
  startedAt: z.iso.datetime({ offset: true }).optional(),
  appliedAt: z.iso.datetime({ offset: true }).optional(),
  endedAt: z.iso.datetime({ offset: true }).optional(),
  message: z.string().optional(),
});

/** The warm-up window at the start of a phase: driven, excluded from the figures, reported here. */
export const WarmupWindowSchema = z.object({
  durationS: z.number().nonnegative(),
  scheduled: count,
  completed: count,
  latencyMs: LatencyMsSchema,
});

export const PhaseSchema = z.object({
  name: z.string().min(1),
  /** A warm-up phase (the scenario's `warmup: true`): reported, never asserted on. */
  warmup: z.boolean().optional(),
  /** The mean arrival rate the phase's process intends, requests/s. */
  offeredQps: z.number().positive(),
  /** The arrival process, in short (`constant 100/s`, `spike 100→300/s at 10 s (…)`). */
  arrivals: z.string().min(1).optional(),
  /** When its first intended send time was (ISO 8601): the 0 of `series`. */
  startedAt: z.iso.datetime({ offset: true }).optional(),
  /** Responses (any status) to the phase's slots / `durationS`. */
  achievedQps: z.number().nonnegative(),
  durationS: z.number().positive(),
  latencyMs: LatencyMsSchema,
  statusCounts: StatusCountsSchema,
  /** Requests written more than the driver's late threshold after their intended send time. */
  late: count,
  /** Requests never written because no connection was free before the phase ended. */
  dropped: count,
  /** Responses by fallback rung (`meta.rung`), e.g. `{ full: 9120, popularity: 41 }`. */
  rungCounts: z.record(z.string().min(1), count),
  /** Why responses stepped down: `"<stage> <code>"` → responses (`meta.reasons`), e.g. `"retrieval.subscriptions RECLAB_ERR_RETRIEVAL_TIMEOUT": 12`. */
  reasonCounts: z.record(z.string().min(1), count).optional(),
  /** 200 responses with fewer items than the request's `count`. */
  shortLists: count.optional(),
  /** 200 responses not on `full` that name no reason (`meta.reasons` empty): every degradation should name one. */
  unexplainedDegraded: count.optional(),
  /** Intended-time latency histogram, µs, HdrHistogram compressed base64: for merging phases/runs. */
  histogramBase64: z.string().min(1).optional(),
  /** Diagnostics: latency from the actual write (closed-model view) and the driver's pacing error. */
  latencyFromSendMs: LatencyMsSchema.optional(),
  sendLagMs: LatencyMsSchema.optional(),
  warmupWindow: WarmupWindowSchema.optional(),
  /** Per-second figures by intended send time: recovery times, plots over time. */
  series: SeriesSchema.optional(),
  /**
   * CPU spent during the phase (live runs): the runner process's (driver, response handling,
   * simulated users; process.cpuUsage) and the core process's (/proc/<pid>/stat), ms and µs per
   * response received (loadtest/phase-cpu.ts).
   */
  cpu: z
    .object({
      requests: count,
      wallS: z.number().nonnegative(),
      runnerMs: z.number().nonnegative(),
      runnerUsPerRequest: z.number().nonnegative(),
      runnerSystemMs: z.number().nonnegative().optional(),
      /** The runner's main thread alone (driver, response handling, simulated users). */
      runnerMainThreadMs: z.number().nonnegative().optional(),
      runnerMainThreadUsPerRequest: z.number().nonnegative().optional(),
      coreMs: z.number().nonnegative().optional(),
      coreUsPerRequest: z.number().nonnegative().optional(),
      coreSystemMs: z.number().nonnegative().optional(),
      /** The core's main thread (its event loop) alone: the CPU that queues requests. */
      coreMainThreadMs: z.number().nonnegative().optional(),
      coreMainThreadUsPerRequest: z.number().nonnegative().optional(),
      /** Time the main thread waited for a CPU while ready to run (schedstat run delay). */
      coreMainThreadRunDelayMs: z.number().nonnegative().optional(),
      /** Times the main thread was put on a CPU (schedstat): its wake-ups, roughly. */
      coreMainThreadRuns: z.number().int().nonnegative().optional(),
      scoringAfterPhaseMs: z.number().nonnegative().optional(),
      /** The whole machine (all CPUs, /proc/stat): busy time, and steal by the hypervisor. */
      machineBusyMs: z.number().nonnegative().optional(),
      machineStealMs: z.number().nonnegative().optional(),
      /** Process time of the machine that was not the run's (not the runner, its children or its containers). */
      foreignMs: z.number().nonnegative().optional(),
    })
    .optional(),
});

/** Mean and median of one quality metric over a group of scored lists. */
const MetricSummarySchema = z.object({ mean: z.number(), p50: z.number() });

/** Ground-truth quality of a group of lists (sim/quality): units in the metric names. */
const QualityGroupSchema = z.object({
  lists: count,
  distinctVideos: count,
  /** Distinct videos served ÷ catalogue size. */
  coverage: z.number().min(0).max(1),
  /** expectedWatchTimeS, expectedClicks, ndcgAt10, intraListDiversity, creatorTopShare, freshShare, … */
  metrics: z.record(z.string().min(1), MetricSummarySchema),
});

const QualityScopeSchema = z.object({
  overall: QualityGroupSchema,
  byRung: z.record(z.string().min(1), QualityGroupSchema),
});

const QualitySummarySchema = z.object({
  catalogueSize: count,
  sampleCapacity: count,
  all: QualityScopeSchema,
  byPhase: z.record(z.string().min(1), QualityScopeSchema),
});

/** Quality of the served lists (by phase and rung) and of reference lists (random, oracle, editorial). */
export const RunQualitySchema = z.object({
  served: QualitySummarySchema,
  references: QualitySummarySchema,
  unreadable: count,
  /** Lists not scored: the served-list log was full (loadtest/served-lists.ts). */
  overflow: count.optional(),
  /** By user cohort (cold-start: `cold` new users, `warm` the others) as pseudo-rungs. */
  cohorts: QualitySummarySchema.optional(),
});

/** One checked assertion, k6 threshold style. */
export const AssertionResultSchema = z.object({
  /** e.g. `http_req_duration{phase:steady} p(99) < 150`. */
  expression: z.string().min(1),
  observed: z.number(),
  threshold: z.number(),
  passed: z.boolean(),
  /** The run could not check it (why); it neither failed nor held (`passed` is true). */
  skipped: z.string().optional(),
  /** What `observed` means when it is not the plain figure (e.g. not recovered). */
  note: z.string().optional(),
});

export const RunResultSchema = z
  .object({
    schemaVersion: z.literal(SCHEMA_VERSION),
    runId: z.string().min(1),
    scenario: z.string().min(1),
    /** `live` (reclab run) or `sim` (reclab sim); absent means live. Picks the replay command. */
    mode: z.enum(['live', 'sim']).optional(),
    seed: z.number().int(),
    /** Hash of the generated world (users, videos, models, index) the run used. */
    worldHash: z.string().min(1),
    versions: z.object({
      reclab: z.string().min(1),
      node: z.string().min(1),
      modelVersion: z.string().min(1),
      /** Container images by role, e.g. `{ redis: 'localhost/reclab-redis:7' }`. */
      images: z.record(z.string().min(1), z.string().min(1)),
    }),
    machine: z.object({
      cpus: z.number().int().positive(),
      memGiB: z.number().nonnegative(),
      os: z.string().min(1),
      /** `--pin-core`: the CPUs (Linux lists) of the core process and of everything else the run started. */
      cpuPinning: z.object({ core: z.string().min(1), lab: z.string().min(1) }).optional(),
    }),
    startedAt: z.iso.datetime({ offset: true }),
    endedAt: z.iso.datetime({ offset: true }),
    phases: z.array(PhaseSchema),
    assertions: z.array(AssertionResultSchema),
    /** Absent when the run could not read the topic (`--target`). */
    impressions: z
      .object({
        /** Impressions the service published (one per 200 response). */
        published: count,
        /** Distinct impressions a real consumer read back from the topic. */
        consumedOnTopic: count,
      })
      .optional(),
    /** Ground-truth quality of what was served (absent for runs without a world, e.g. external). */
    quality: RunQualitySchema.optional(),
    /** Events the simulated users sent to POST /v1/events (loadtest/user-activity.ts); absent when off. */
    userEvents: z
      .object({ lists: count, sent: count, failed: count, dropped: count, retried: count.optional() })
      .optional(),
    /** Events accepted (202) vs read back from the events topic by a real consumer; absent when off. */
    events: z
      .object({ accepted: count, distinctOnTopic: count, messagesOnTopic: count, lost: count })
      .optional(),
    /**
     * The viral video of a scenario phase with `viral` (loadtest/viral-video.ts): which one, its
     * watchers, and seconds from its first watch event until it was first in a list served to its
     * region (null: never). Absent without a viral phase, and in simulated runs.
     */
    viral: z
      .object({
        videoId: z.string().min(1),
        region: z.string().min(1),
        users: count,
        eventsQueued: count,
        firstEventAt: z.string().nullable(),
        timeToListS: z.number().nonnegative().nullable(),
      })
      .optional(),
    /**
     * Cold start (loadtest/cold-start.ts): the new users' wave, and the new uploads — indexed,
     * served, leaked before their upload, seconds from upload to the first served list (null:
     * a percentile among the never served), and per phase the fresh-content share (new-upload items
     * ÷ items) and the exploration share of new-upload items. Absent without such phases, in sim.
     */
    coldStart: z
      .object({
        newUsers: z.object({ phase: z.string(), users: count, share: z.number() }).optional(),
        uploads: z
          .object({
            phase: z.string(),
            videos: count,
            indexed: count,
            failed: count,
            served: count,
            leakedItems: count,
            timeToListS: z.object({
              p50: z.number().nullable(),
              p90: z.number().nullable(),
              max: z.number().nullable(),
              never: count,
            }),
            byPhase: z.record(
              z.string(),
              z.object({
                items: count,
                uploadItems: count,
                explorationItems: count,
                freshContentShare: z.number(),
                explorationShare: z.number(),
              }),
            ),
          })
          .optional(),
      })
      .optional(),
    /** Every fault of the scenario, with when it started and ended. */
    faults: z.array(FaultRecordSchema).optional(),
    /** What the run could not do as the scenario asks (skipped faults, unmeasured figures). */
    warnings: z.array(z.string()).optional(),
    /** `--target`: the URL of the already running core that was driven (no core was started). */
    target: z.string().optional(),
    /** The serving core's exit code after its graceful stop (null: ended by a signal). */
    coreExitCode: z.number().int().nullable().optional(),
    /**
     * A simulated run's fleet (reclab sim): sizes, the outcome-trace hash that two runs with the
     * same seed and inputs share, scheduler events, and each pool's utilisation (busy ÷ capacity)
     * per phase.
     */
    fleet: z
      .object({
        name: z.string().min(1),
        replicas: count,
        redisShards: count,
        rankerNodes: count,
        traceHash: z.string().regex(/^[0-9a-f]{16}$/),
        events: count,
        impressionsLost: count,
        utilisation: z.record(
          z.string().min(1),
          z.object({
            replicaCpu: z.number().nonnegative(),
            redis: z.number().nonnegative(),
            /** Rows scored ÷ the pool's throughput at full batches (a batching node's capacity). */
            ranker: z.number().nonnegative().optional(),
            /** Busy time ÷ time: a batching pool is busy whenever work waits, whatever its headroom. */
            rankerBusy: z.number().nonnegative().optional(),
          }),
        ),
      })
      .optional(),
    outcome: z.enum(['pass', 'fail']),
    /** docs/exit-codes.md: 0 pass, 1 crash, 2 invalid config, 3 budget breached, 4 invariant violated. */
    exitCode: z.number().int().min(0).max(255),
  })
  .superRefine((r, ctx) => {
    // The three verdicts must tell one story, or CI and the report would disagree.
    if ((r.outcome === 'pass') !== (r.exitCode === 0)) {
      ctx.addIssue({
        code: 'custom',
        path: ['outcome'],
        message: `outcome ${r.outcome} with exit code ${r.exitCode}`,
      });
    }
    if (r.outcome === 'pass' && r.assertions.some((a) => !a.passed)) {
      ctx.addIssue({ code: 'custom', path: ['outcome'], message: 'outcome pass with a failed assertion' });
    }
    if (Date.parse(r.endedAt) < Date.parse(r.startedAt)) {
      ctx.addIssue({ code: 'custom', path: ['endedAt'], message: 'endedAt is before startedAt' });
    }
  });

export type LatencyMs = z.infer<typeof LatencyMsSchema>;
export type StatusCounts = z.infer<typeof StatusCountsSchema>;
export type PhaseReport = z.infer<typeof PhaseSchema>;
export type AssertionResult = z.infer<typeof AssertionResultSchema>;
export type FaultRecord = z.infer<typeof FaultRecordSchema>;
export type RunResult = z.infer<typeof RunResultSchema>;

/** Thrown when a RunResult does not match the schema; `issues` lists every problem. */
export class ReportError extends Error {
  readonly code = 'RECLAB_ERR_REPORT_INVALID';
  readonly issues: readonly z.core.$ZodIssue[];
  constructor(error: z.ZodError) {
    super(`RunResult does not match schema v${SCHEMA_VERSION}:\n${z.prettifyError(error)}`);
    this.name = 'ReportError';
    this.issues = error.issues;
  }
}

/**
 * Validates `value` as a RunResult (schema v1) and returns it with unknown keys removed.
 * Throws ReportError (`RECLAB_ERR_REPORT_INVALID`) listing every problem.
 */
export function parseRunResult(value: unknown): RunResult {
  const parsed = RunResultSchema.safeParse(value);
  if (!parsed.success) throw new ReportError(parsed.error);
  return parsed.data;
}

/** The RunResult contract as JSON Schema (draft 2020-12), for consumers outside TypeScript. */
export function runResultJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(RunResultSchema, { io: 'input' }) as Record<string, unknown>;
}

/** The command that replays a run: `reclab run <scenario> --seed <seed>` (`sim` for sim runs). */
export function replayCommand(r: Pick<RunResult, 'scenario' | 'seed' | 'mode'>): string {
  return `reclab ${r.mode === 'sim' ? 'sim' : 'run'} ${r.scenario} --seed ${r.seed}`;
}
