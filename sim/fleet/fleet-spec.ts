/**
 * The deployed system as data (issue 13 "sim/fleet"): core replicas behind a load balancer, Redis
 * shards, the main ranker pool (the "GPU" tier), Kafka. A fleet file is JSON validated by
 * `FleetSpecSchema`; units are in the names (µs, ms, rows). Omitted parts take `DEFAULT_FLEET`'s.
 *
 * The default profile: the replica's CPU costs per stage are the measured costs of the building
 * blocks on this project's 2-core machine kind (shared/design/SETUP-NOTES.md "Measured costs": one
 * request assembled from them costs about 2.7 ms of CPU; the live core measured 2.0–2.7 ms per
 * request near its knee, issue 10), the ranker pool's batch cost follows seed 000 §2.5 (GPU: 300
 * items in ~15–20 ms), network round trips are a same-zone data-centre's. `reclab calibrate`
 * replaces the CPU costs with measured distributions.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { SimError } from '../sim-error.ts';
import { type Distribution, DistributionSchema } from './distributions.ts';

/**
 * Period of a replica's background job (`replicas.backgroundUsPerS` of CPU per second, in jobs of
 * `backgroundUsPerS × 10 ms ÷ 1 s`): fine enough that no job stalls the loop for long (1 ms at
 * 100 ms/s), coarse enough to cost 100 events per replica-second.
 */
export const BACKGROUND_PERIOD_US = 10_000;

/** How a retrieval source costs: CPU on the replica (an ANN search) or Redis round trips. */
const SourceSchema = z
  .object({
    name: z.string().min(1),
    /** `ann`: in-process FAISS search (CPU); `redis`: `redisCommands` sequential round trips. */
    kind: z.enum(['ann', 'redis']),
    redisCommands: z.number().int().min(1).max(8).default(1),
    /** Keys the source reads per command (a sorted-set range counts as 1). */
    keysPerCommand: z.number().int().min(1).default(1),
    /** Needs the user's recent watches (content retrieval): skipped when that read failed. */
    needsRecentWatches: z.boolean().default(false),
  })
  .strict();

const CpuSchema = z
  .object({
    /** HTTP parse, validation, A/B assignment, admission, response serialisation. */
    requestUs: DistributionSchema,
    /** User tower (ONNX, one row). */
    userEncoderUs: DistributionSchema,
    /** One ANN search (FAISS) of an `ann` source. */
    annUs: DistributionSchema,
    /** Handling one Redis reply (ioredis parsing), per command. */
    redisReplyUs: DistributionSchema,
    /** Merge and de-duplicate. */
    mergeUs: DistributionSchema,
    /** Decoding the enrichment MGET's records and assembling the ranker input. */
    enrichmentUs: DistributionSchema,
    /** The main (MMoE) ranker in process, when the fleet has no ranker pool. */
    mainRankerUs: DistributionSchema,
    /** Encoding a ranker-pool request and decoding its reply, when it has one. */
    rankerClientUs: DistributionSchema,
    /** The light ranker (in process): the `light_ranker` rung. */
    lightRankerUs: DistributionSchema,
    /** Filters, MMR, creator caps, exploration. */
    rerankUs: DistributionSchema,
    /** Serving the popularity cache (the `popularity` rung). */
    popularityUs: DistributionSchema,
    /** Refusing a request (503) at admission. */
    rejectUs: DistributionSchema,
  })
  .strict();

export const FleetSpecSchema = z
  .object({
    name: z.string().min(1).default('fleet'),
    replicas: z
      .object({
        count: z.number().int().min(1).max(100_000),
        /** Load balancing across replicas. */
        lb: z.enum(['round_robin', 'least_outstanding', 'p2c']).default('least_outstanding'),
        cpu: CpuSchema,
        /**
         * CPU the event loop spends per second on work that does not grow with requests (timers,
         * the popularity refresh, consumer polls, GC of long-lived state), µs/s; run as a job every
         * `BACKGROUND_PERIOD_US`. `reclab calibrate` fits it from two rates (the live core's CPU
         * per request falls as the rate rises); 0 in the default profile.
         */
        backgroundUsPerS: z.number().nonnegative().max(1_000_000).default(0),
        /**
         * Garbage-collection pauses: after each request it served, a replica pauses with
         * probability `perRequest` for `pauseUs` (a CPU job on its event loop), per kind. The live
         * core's V8 collects as it allocates, and a request allocates about the same each time;
         * `reclab calibrate` measures both from prom-client's GC histogram. Empty by default.
         */
        gcPauses: z
          .array(
            z
              .object({
                kind: z.string().min(1),
                perRequest: z.number().min(0).max(1),
                pauseUs: DistributionSchema,
              })
              .strict(),
          )
          .max(8)
          .default([]),
        /**
         * A replica's speed by its arrival rate (load-profile.ts): at each rate, its CPU per
         * request ÷ the stages' (`cpuFactor`) and the µs it waits for a shared CPU per µs of CPU
         * (`waitPerCpu`), interpolated; sorted by rate. `reclab calibrate` measures both on its
         * machine; empty (a constant speed, a core of its own) by default.
         */
        loadProfile: z
          .array(
            z
              .object({
                rateQps: z.number().positive(),
                cpuFactor: z.number().positive().max(10).default(1),
                waitPerCpu: z.number().min(0).max(10).default(0),
              })
              .strict(),
          )
          .max(32)
          .default([])
          .refine((t) => t.every((p, i) => i === 0 || p.rateQps > t[i - 1].rateQps), {
            message: 'loadProfile points must be sorted by rateQps, each rate once',
          }),
        /**
         * How a replica's speed varies from one interval to the next around its load profile
         * (load-profile.ts `speedVariation`): every `intervalMs` of virtual time each replica draws a
         * factor from `quantiles` (the i/(n−1) quantile; mean about 1) that stretches its CPU jobs.
         * `reclab calibrate` measures it from the live core's CPU and run-queue wait per request,
         * second by second. Absent: a steady speed.
         */
        speedVariation: z
          .object({
            intervalMs: z.number().int().min(10).max(60_000),
            quantiles: z
              .array(z.number().positive().max(10))
              .min(2)
              .max(1001)
              .refine((q) => q.every((x, i) => i === 0 || x >= q[i - 1]), {
                message: 'speedVariation.quantiles must be non-decreasing',
              }),
          })
          .strict()
          .optional(),
        /**
         * The replica's speed within a second (load-profile.ts `subsecondSpeed`): every `intervalMs`
         * each replica draws a factor from a lognormal of mean 1 and coefficient of variation `cv`,
         * which multiplies `speedVariation`'s. Near the knee the live loop's tail comes from slow
         * stretches shorter than a second, which one-second samples average away (docs/simulator.md,
         * "Within a second"). `reclab calibrate` fits `cv` to its phases' p99 below the knee.
         * Absent: no variation within a second.
         */
        subsecondSpeed: z
          .object({
            intervalMs: z.number().int().min(10).max(1000),
            cv: z.number().min(0).max(1),
          })
          .strict()
          .optional(),
      })
      .strict(),
    redis: z
      .object({
        shards: z.number().int().min(1).max(16_384),
        /** Network round trip between a replica and a shard. */
        rttUs: DistributionSchema,
        /** Server time of one command, before per-key cost. */
        commandUs: DistributionSchema,
        /** Server time per key of a multi-key command (MGET). */
        perKeyUs: z.number().nonnegative(),
      })
      .strict(),
    /** The main ranker as its own pool (seed 000 §2.5's GPU pool); absent: ranked in process. */
    rankerPool: z
      .object({
        nodes: z.number().int().min(1).max(100_000),
        /** Most rows in one batch (a request's candidates are never split). */
        maxBatchRows: z.number().int().min(1),
        /** How long a node waits for more requests before running a partial batch; 0 = never. */
        maxBatchDelayUs: z.number().nonnegative(),
        /** Batch service time: fixed part plus `perRowUs` per row. */
        batchFixedUs: DistributionSchema,
        perRowUs: z.number().nonnegative(),
        rttUs: DistributionSchema,
        /** Requests a node holds waiting; beyond it answers overloaded at once. */
        maxQueuedRequests: z.number().int().min(1).default(1024),
      })
      .strict()
      .optional(),
    kafka: z
      .object({
        /** Time from a produce to its acknowledgement. */
        produceUs: DistributionSchema,
        /** Impressions a replica holds (memory and spool) while the brokers are down. */
        spoolMaxImpressions: z.number().int().min(0),
      })
      .strict(),
    /** Candidates merged per request (the ranker's rows). */
    candidates: z.number().int().min(1).max(10_000).default(300),
    sources: z.array(SourceSchema).min(1),
    /** `RECLAB_*` core settings on top of the scenario's (deadlines, breakers, bulkhead). */
    coreEnv: z.record(z.string().regex(/^RECLAB_[A-Z0-9_]+$/), z.string()).default({}),
  })
  .strict();

export type FleetSpec = z.infer<typeof FleetSpecSchema>;
export type FleetSource = FleetSpec['sources'][number];
export type CpuCosts = FleetSpec['replicas']['cpu'];

const lognormal = (medianUs: number, p99Us: number): Distribution => ({ kind: 'lognormal', medianUs, p99Us });

/**
 * The default fleet profile for one replica (see the file header for where each figure comes from).
 * The CPU costs add up to about 2.5 ms per full request.
 */
export const DEFAULT_FLEET: FleetSpec = {
  name: 'default',
  replicas: {
    count: 1,
    lb: 'least_outstanding',
    backgroundUsPerS: 0,
    gcPauses: [],
    loadProfile: [],
    cpu: {
      requestUs: lognormal(250, 600),
      userEncoderUs: lognormal(60, 150),
      annUs: lognormal(250, 600),
      redisReplyUs: lognormal(25, 80),
      mergeUs: lognormal(80, 200),
      enrichmentUs: lognormal(350, 900), // MGET 300 × 200 B decode + 300×128 ranker input
      mainRankerUs: lognormal(1150, 2500), // MMoE, 300 rows, 1 thread (SETUP-NOTES)
      rankerClientUs: lognormal(120, 300),
      lightRankerUs: lognormal(150, 400),
      rerankUs: lognormal(650, 1500), // MMR 300 → 30 at 64-d, 0.6–0.8 ms (SETUP-NOTES)
      popularityUs: lognormal(60, 150),
      rejectUs: { kind: 'constant', us: 30 },
    },
  },
  redis: {
    shards: 1,
    rttUs: lognormal(150, 600),
    commandUs: lognormal(8, 30),
    perKeyUs: 0.6, // MGET 300 × 200 B ≈ 0.19 ms (SETUP-NOTES)
  },
  rankerPool: undefined,
  kafka: { produceUs: lognormal(2000, 8000), spoolMaxImpressions: 1_000_000 },
  candidates: 300,
  sources: [
    { name: 'two_tower', kind: 'ann', redisCommands: 1, keysPerCommand: 1, needsRecentWatches: false },
    { name: 'content', kind: 'ann', redisCommands: 1, keysPerCommand: 1, needsRecentWatches: true },
    { name: 'popularity', kind: 'redis', redisCommands: 1, keysPerCommand: 1, needsRecentWatches: false },
    { name: 'trending', kind: 'redis', redisCommands: 1, keysPerCommand: 1, needsRecentWatches: false },
    // followed creators and their uploads in one script round trip (issue 10): sub:<user> plus the
    // uploads of ~6 followed creators (the world's mean, docs/retrieval.md)
    { name: 'subscriptions', kind: 'redis', redisCommands: 1, keysPerCommand: 7, needsRecentWatches: false },
  ],
  coreEnv: {},
};

/** A GPU-style ranker pool after seed 000 §2.5 (T4/A10: 300 items in ~15–20 ms, dynamic batching). */
export const DEFAULT_RANKER_POOL: NonNullable<FleetSpec['rankerPool']> = {
  nodes: 1,
  maxBatchRows: 2048,
  maxBatchDelayUs: 1000,
  // A GPU's batch cost is mostly fixed (kernel launches, transfers): one request's 300 rows cost
  // ~15 ms, a full 2048-row batch ~19 ms.
  batchFixedUs: lognormal(14_000, 24_000),
  perRowUs: 2.5,
  rttUs: lognormal(300, 1200),
  maxQueuedRequests: 1024,
};

/**
 * Validates a fleet object (a parsed fleet file), filling omitted parts from `DEFAULT_FLEET`.
 * @throws SimError RECLAB_ERR_SIM_FLEET_INVALID listing every problem
 */
export function parseFleet(value: unknown, origin = 'fleet'): FleetSpec {
  const v = (value ?? {}) as Record<string, unknown>;
  const merged = {
    ...DEFAULT_FLEET,
    ...v,
    replicas: {
      ...DEFAULT_FLEET.replicas,
      ...(v.replicas as object),
      cpu: { ...DEFAULT_FLEET.replicas.cpu, ...((v.replicas as { cpu?: object } | undefined)?.cpu ?? {}) },
    },
    redis: { ...DEFAULT_FLEET.redis, ...(v.redis as object) },
    kafka: { ...DEFAULT_FLEET.kafka, ...(v.kafka as object) },
    rankerPool:
      v.rankerPool === undefined ? undefined : { ...DEFAULT_RANKER_POOL, ...(v.rankerPool as object) },
  };
  const parsed = FleetSpecSchema.safeParse(merged);
  if (!parsed.success) {
    throw new SimError('RECLAB_ERR_SIM_FLEET_INVALID', `${origin}:\n${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

/**
 * Reads and validates a fleet file (JSON).
 * @throws SimError RECLAB_ERR_SIM_FLEET_INVALID when unreadable, not JSON, or invalid
 */
export function loadFleetFile(path: string): FleetSpec {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new SimError('RECLAB_ERR_SIM_FLEET_INVALID', `${path}: ${(err as Error).message}`);
  }
  return parseFleet(value, path);
}
