/**
 * `reclab sim`: a scenario in virtual time on a simulated fleet (issue 13; ARCHITECTURE.md "sim/").
 *
 * One seed decides everything: the arrival schedule, which user each request is for, every
 * service time (a named random stream per pool), the load balancer's draws. The run is a pure
 * function of (scenario, fleet, seed, rate and duration scales): the same inputs give the same
 * `summary.json` byte for byte and the same trace hash (`fleet.traceHash`), which mixes every
 * request's outcome (arrival, completion µs, status, rung).
 *
 * Each replica runs the core's own admission, breaker, deadline and ladder code on the virtual
 * clock (sim/fleet/replica.ts). The live runner's phases, faults and assertions are read from the
 * same scenario file; faults map to fleet state (sim/run/fleet-faults.ts). The result is the
 * live runner's `RunResult` with `mode: "sim"` plus the fleet section, so assertions and reports
 * work unchanged.
 *
 * Time: the run executes in one-virtual-second slices, each inside `withoutWallClock` (reading
 * wall time or `Math.random` there throws RECLAB_ERR_SIM_NONDETERMINISM); `onProgress` is called
 * between slices, where the caller may read the wall clock.
 *
 * The parts: `simContext` (scaled scenario, phases, the shared pools), the replicas, then
 * `startRun` (background work, balancer, arrivals, faults, utilisation) and its slices. `simulate`
 * puts them together with the fleet replicas; the high-fidelity run (sim/hifi/simulate-high.ts)
 * with real cores.
 */

import type { RandomStream } from '../../core/ports/random.ts';
import { seededRandom } from '../../core/random/seeded-random.ts';
import { Bulkhead } from '../../core/resilience/bulkhead.ts';
import type { RunQuality } from '../../loadtest/quality-recorder.ts';
import { machineInfo } from '../../reports/machine.ts';
import { type FaultRecord, type RunResult, SCHEMA_VERSION } from '../../reports/model.ts';
import { arrivalSchedule, describeArrivals, meanRateQps } from '../../scenarios/arrivals.ts';
import { evaluate, type RunMeasurements } from '../../scenarios/assertions.ts';
import { coreEnvOf } from '../../scenarios/core-settings.ts';
import type { ScenarioDefinition } from '../../scenarios/define.ts';
import { faultEndS, peakMeasuredRateQps, scaleScenario } from '../../scenarios/scale.ts';
import { withoutWallClock } from '../engine/no-wall-clock.ts';
import { EventScheduler } from '../engine/scheduler.ts';
import { TraceHash } from '../engine/trace-hash.ts';
import { VirtualClock } from '../engine/virtual-clock.ts';
import { meanOf, samplerOf } from '../fleet/distributions.ts';
import { FifoServer } from '../fleet/fifo-server.ts';
import { BACKGROUND_PERIOD_US, DEFAULT_RANKER_POOL, type FleetSpec } from '../fleet/fleet-spec.ts';
import { KafkaModel } from '../fleet/kafka-model.ts';
import { loadBalancer } from '../fleet/load-balancer.ts';
import { ArrivalRate, loadStretch, meanOneLognormal, speedVariation } from '../fleet/load-profile.ts';
import { RankerPool } from '../fleet/ranker-pool.ts';
import { RedisCluster } from '../fleet/redis-cluster.ts';
import { type CpuSamplers, Replica, type ReplicaDeps, type RequestOutcome } from '../fleet/replica.ts';
import { type RungQualityTable, type SurrogateQuality, surrogateQuality } from '../quality/surrogate.ts';
import { type SimCoreSettings, simCoreSettings } from './core-settings.ts';
import { AnnIndexModel, applyFault, revertFault } from './fleet-faults.ts';
import { PhaseRecorder } from './phase-recorder.ts';

/** Virtual time 0 is this instant (2026-01-01T00:00:00Z): fixed, so runs never read the wall clock. */
export const SIM_EPOCH_MS = Date.UTC(2026, 0, 1);

/** How long after the last phase in-flight requests may still finish before they count as timeouts. */
const DRAIN_US = 60_000_000;

export interface SimOptions {
  scenario: ScenarioDefinition;
  fleet: FleetSpec;
  seed: number;
  /** Scales every phase's rates so the busiest measured phase peaks at this many requests/s. */
  qps?: number;
  /** Multiplies every phase's rates (ignored with `qps`). */
  rateScale?: number;
  /** Multiplies every measured phase's times: duration, process, faults (scenarios/scale.ts). */
  durationScale?: number;
  reclabVersion: string;
  /** Called after each virtual second (outside the no-wall-clock guard). */
  onProgress?: (p: SimProgress) => void;
  /**
   * Per-rung quality measured by scored runs (sim/quality/surrogate.ts): a fleet run then checks
   * quality assertions on the surrogate instead of skipping them. Ignored by a `--fidelity high`
   * run, which scores its own lists.
   */
  qualityTable?: RungQualityTable;
}

export interface SimProgress {
  virtualS: number;
  totalS: number;
  phase: string;
  completed: number;
  /** Scheduler events fired so far. */
  events: number;
  /** Share of the last second's 200 responses per rung. */
  rungShare: Record<string, number>;
  shed: number;
}

export interface SimRun {
  result: RunResult;
  /** The quality surrogate by phase, when `qualityTable` was given (a fleet run). */
  surrogate?: SurrogateQuality;
  traceHash: string;
  events: number;
  requests: number;
}

/** What the run needs of a replica: fleet (sim/fleet/replica.ts) or high-fidelity (sim/hifi/). */
export interface SimReplica {
  /** A request for user `userIdx` arriving now, intended at `intendedUs`. */
  handle(userIdx: number, intendedUs: number): void;
  /** Requests accepted and not yet answered (the least-outstanding balancer reads it). */
  readonly outstanding: number;
  /** The replica's event loop. */
  readonly cpuServer: FifoServer;
}

/** The run's shared parts, before any replica exists: what replicas are built from. */
export interface SimContext {
  readonly opts: SimOptions;
  /** The scenario scaled to the run's rate and duration. */
  readonly scenario: ScenarioDefinition;
  readonly fleet: FleetSpec;
  /** The core settings the replicas decide with, and the `RECLAB_*` variables they come from. */
  readonly settings: SimCoreSettings;
  readonly coreEnv: Readonly<Record<string, string>>;
  readonly random: ReturnType<typeof seededRandom>;
  readonly scheduler: EventScheduler;
  readonly clock: VirtualClock;
  readonly peakQps: number;
  readonly rateScale: number;
  readonly phases: PhaseRecorder[];
  readonly endUs: number;
  readonly redis: RedisCluster;
  readonly pool: RankerPool | undefined;
  readonly kafka: KafkaModel;
  readonly ann: AnnIndexModel;
  /** The phase an intended send time `us` falls in (the last one past the end). */
  phaseAt(us: number): PhaseRecorder;
  /** Records a finished request in its phase, then tells `outcomeListeners`. */
  readonly onOutcome: (o: RequestOutcome) => void;
  /** Hear every outcome after its phase (startRun adds the trace hash and the progress counts). */
  readonly outcomeListeners: ((o: RequestOutcome) => void)[];
  /** The named stream `sim.<name>`. */
  stream(name: string): RandomStream;
  /** Replica `index`'s CPU cost samplers, one stream per replica and stage. */
  cpuSamplers(index: number): CpuSamplers;
  /** Replica `index`'s GC pauses (fleet `replicas.gcPauses`); undefined without any. */
  gcOf(index: number): ReplicaDeps['gc'];
  /**
   * Replica `index`'s event loop: a FIFO CPU whose speed follows the fleet's
   * `replicas.loadProfile` at the replica's arrival rate (`arrivals[index]`, fed by the balancer),
   * times its interval's factor from `replicas.speedVariation` (stream `replica<i>.speed`) and,
   * within the second, `replicas.subsecondSpeed`'s (stream `replica<i>.speed-subsecond`).
   */
  cpuServerOf(index: number): FifoServer;
  /**
   * Each replica's arrivals over the last second, as `cpuServerOf` reads them; empty without a
   * load profile (then nothing on the arrival path counts them).
   */
  readonly arrivals: ArrivalRate[];
}

/** A started run: its slices, then `finish`. */
export interface SimRunner {
  readonly scheduler: EventScheduler;
  /** End of each one-virtual-second slice, µs; then `drainUntilUs` for in-flight requests. */
  readonly sliceEnds: readonly number[];
  readonly drainUntilUs: number;
  /** Progress after slice `sliceEnd` (calls `onProgress`; outside the no-wall-clock guard). */
  afterSlice(sliceEnd: number): void;
  /** The result, once every slice and the drain have run. */
  finish(extra?: { modelVersion?: string; quality?: RunQuality; runIdSuffix?: string }): SimRun;
}

/** Runs one simulation; see the file header. Throws ReclabError RECLAB_ERR_CONFIG_INVALID for bad core settings. */
export function simulate(opts: SimOptions): SimRun {
  const ctx = simContext(opts);
  const replicas = Array.from({ length: ctx.fleet.replicas.count }, (_, index) => {
    const gc = ctx.gcOf(index);
    return new Replica({
      index,
      scheduler: ctx.scheduler,
      clock: ctx.clock,
      cfg: ctx.settings.pipeline,
      bulkhead: new Bulkhead(ctx.clock, ctx.settings.bulkhead),
      brownout: ctx.settings.brownout,
      cpu: ctx.cpuSamplers(index),
      ...(gc ? { gc } : {}),
      sources: ctx.fleet.sources,
      candidates: ctx.fleet.candidates,
      redis: ctx.redis,
      rankerPool: ctx.pool,
      kafka: ctx.kafka,
      ann: ctx.ann,
      onOutcome: ctx.onOutcome,
      cpuServer: ctx.cpuServerOf(index),
    });
  });
  const run = startRun(ctx, replicas);
  for (const end of run.sliceEnds) {
    withoutWallClock(() => run.scheduler.runUntil(end));
    run.afterSlice(end);
  }
  for (const r of replicas) r.arrivalsEnded();
  withoutWallClock(() => run.scheduler.runUntil(run.drainUntilUs));
  return run.finish();
}

/** The run's shared parts (see `SimContext`). Throws ReclabError RECLAB_ERR_CONFIG_INVALID for bad core settings. */
export function simContext(opts: SimOptions): SimContext {
  const { seed } = opts;
  const peakQps = peakMeasuredRateQps(opts.scenario);
  const rateScale = opts.qps ? opts.qps / peakQps : (opts.rateScale ?? 1);
  const scenario = scaleScenario(opts.scenario, { rateScale, durationScale: opts.durationScale });
  const fleet: FleetSpec =
    scenario.rankerTier && !opts.fleet.rankerPool
      ? { ...opts.fleet, rankerPool: DEFAULT_RANKER_POOL }
      : opts.fleet;
  const coreEnv = { ...coreEnvOf(scenario.core), ...fleet.coreEnv };
  const settings = simCoreSettings(coreEnv);
  const random = seededRandom(seed);
  const scheduler = new EventScheduler();
  const clock = new VirtualClock(scheduler, SIM_EPOCH_MS);

  // Phases (scaled above).
  let t = 0;
  const phases = scenario.phases.map((p) => {
    const rec = new PhaseRecorder({
      name: p.name,
      warmup: p.warmup === true,
      offeredQps: Math.round(meanRateQps(p.arrivals, p.durationS) * 1000) / 1000,
      durationS: p.durationS,
      startUs: t,
      epochMs: SIM_EPOCH_MS,
    });
    t = rec.endUs;
    return rec;
  });
  const endUs = t;

  // The fleet's shared pools.
  const stream = (name: string) => random.stream(`sim.${name}`);
  const redis = new RedisCluster(
    scheduler,
    fleet.redis.shards,
    {
      rtt: samplerOf(fleet.redis.rttUs, stream('redis.rtt')),
      command: samplerOf(fleet.redis.commandUs, stream('redis.command')),
      uniform: (() => {
        const jitter = stream('redis.jitter');
        return () => jitter.next();
      })(),
    },
    fleet.redis.perKeyUs,
  );
  const pool = fleet.rankerPool
    ? new RankerPool(scheduler, fleet.rankerPool, {
        rtt: samplerOf(fleet.rankerPool.rttUs, stream('ranker.rtt')),
        batchFixed: samplerOf(fleet.rankerPool.batchFixedUs, stream('ranker.batch')),
      })
    : undefined;
  const kafka = new KafkaModel(fleet.replicas.count, fleet.kafka.spoolMaxImpressions);
  const ann = new AnnIndexModel();
  const phaseAt = (us: number) => {
    let i = 0;
    while (i < phases.length - 1 && us >= phases[i].endUs) i++;
    return phases[i];
  };
  const outcomes: ((o: RequestOutcome) => void)[] = [];
  const arrivals: ArrivalRate[] = [];
  const cpuSpec = fleet.replicas.cpu;
  return {
    opts,
    scenario,
    fleet,
    settings,
    coreEnv,
    random,
    scheduler,
    clock,
    peakQps,
    rateScale,
    phases,
    endUs,
    redis,
    pool,
    kafka,
    ann,
    phaseAt,
    onOutcome: (o) => {
      phaseAt(o.intendedUs).record(o.intendedUs, o.doneUs - o.intendedUs, o.status, o.rung, o.reasons);
      for (const f of outcomes) f(o);
    },
    stream,
    arrivals,
    cpuServerOf(index) {
      const profile = fleet.replicas.loadProfile;
      const variation = fleet.replicas.speedVariation;
      if (profile.length > 0) arrivals[index] ??= new ArrivalRate();
      const byLoad = profile.length === 0 ? undefined : loadStretch(profile, arrivals[index]);
      const byInterval = variation
        ? speedVariation(
            variation.intervalMs * 1000,
            samplerOf(
              { kind: 'empirical', quantilesUs: variation.quantiles },
              stream(`replica${index}.speed`),
            ),
          )
        : undefined;
      const sub = fleet.replicas.subsecondSpeed;
      const bySubsecond =
        sub && sub.cv > 0
          ? speedVariation(
              sub.intervalMs * 1000,
              meanOneLognormal(sub.cv, stream(`replica${index}.speed-subsecond`)),
            )
          : undefined;
      const stretches = [byLoad, byInterval, bySubsecond].filter((f) => f !== undefined);
      return new FifoServer(
        stretches.length <= 1
          ? stretches[0]
          : (nowUs) => {
              let f = 1;
              for (const g of stretches) f *= g(nowUs);
              return f;
            },
      );
    },
    cpuSamplers(index) {
      // One stream per replica and stage: adding a replica does not shift the others' draws.
      const s = (stage: string, d: (typeof cpuSpec)[keyof typeof cpuSpec]) =>
        samplerOf(d, stream(`replica${index}.${stage}`));
      return {
        request: s('request', cpuSpec.requestUs),
        userEncoder: s('user_encoder', cpuSpec.userEncoderUs),
        ann: s('ann', cpuSpec.annUs),
        redisReply: s('redis_reply', cpuSpec.redisReplyUs),
        merge: s('merge', cpuSpec.mergeUs),
        enrichment: s('enrichment', cpuSpec.enrichmentUs),
        mainRanker: s('main_ranker', cpuSpec.mainRankerUs),
        rankerClient: s('ranker_client', cpuSpec.rankerClientUs),
        lightRanker: s('light_ranker', cpuSpec.lightRankerUs),
        rerank: s('rerank', cpuSpec.rerankUs),
        popularity: s('popularity', cpuSpec.popularityUs),
        reject: s('reject', cpuSpec.rejectUs),
      };
    },
    gcOf(index) {
      if (fleet.replicas.gcPauses.length === 0) return undefined;
      const u = stream(`replica${index}.gc`);
      return {
        pauses: fleet.replicas.gcPauses.map((g) => ({
          perRequest: g.perRequest,
          pause: samplerOf(g.pauseUs, stream(`replica${index}.gc.${g.kind}`)),
        })),
        draw: () => u.next(),
      };
    },
    outcomeListeners: outcomes,
  };
}

/** Starts the run over `replicas` (see `SimRunner`). */
export function startRun(ctx: SimContext, replicas: readonly SimReplica[]): SimRunner {
  const {
    opts,
    scenario,
    fleet,
    scheduler,
    phases,
    endUs,
    redis,
    pool,
    kafka,
    ann,
    random,
    peakQps,
    rateScale,
  } = ctx;
  const { seed } = opts;
  const stream = ctx.stream;
  // A batching node is busy whenever work waits (small batches pay the whole fixed cost), so its
  // busy time says little about headroom. Its capacity is its throughput at full batches: the
  // ranker's utilisation is rows scored ÷ that (1 = even full batches cannot keep up).
  const rankerRowsPerUs = fleet.rankerPool
    ? fleet.rankerPool.maxBatchRows /
      (meanOf(fleet.rankerPool.batchFixedUs) + fleet.rankerPool.perRowUs * fleet.rankerPool.maxBatchRows)
    : 1;
  const hash = new TraceHash();
  let completed = 0;
  let secondShed = 0;
  const secondRungs = new Map<string, number>();
  let phaseIdx = 0;
  ctx.outcomeListeners.push((o) => {
    completed++;
    hash.add(o.intendedUs);
    hash.add(o.doneUs);
    hash.add(o.status === 200 ? RUNG_CODE[o.rung ?? 'full'] : 99);
    if (o.status === 503) secondShed++;
    else if (o.rung) secondRungs.set(o.rung, (secondRungs.get(o.rung) ?? 0) + 1);
  });
  // Background work (fleet `replicas.backgroundUsPerS`): one CPU job per replica every
  // BACKGROUND_PERIOD_US, the replicas' ticks spread over the period so they do not all stall at once.
  const backgroundJobUs = (fleet.replicas.backgroundUsPerS * BACKGROUND_PERIOD_US) / 1e6;
  if (backgroundJobUs > 0)
    replicas.forEach((r, i) => {
      const tick = () => {
        r.cpuServer.submit(scheduler.nowUs, backgroundJobUs);
        if (scheduler.nowUs + BACKGROUND_PERIOD_US < endUs)
          scheduler.post(scheduler.nowUs + BACKGROUND_PERIOD_US, tick);
      };
      scheduler.post(Math.floor((i * BACKGROUND_PERIOD_US) / replicas.length), tick);
    });
  const pick = loadBalancer(fleet.replicas.lb, replicas, stream('lb'));
  const users = stream('users');
  const worldUsers = scenario.world.users;

  // Arrivals: each phase's schedule of intended times (scenarios/arrivals.ts, the live driver's
  // schedule, from the same stream name); each arrival schedules the next, so the heap holds one
  // pending arrival. Faults: applied at fromS, reverted at their window's end.
  const faultRecords: FaultRecord[] = [];
  const isoAt = (us: number) => new Date(SIM_EPOCH_MS + us / 1000).toISOString();
  const fleetState = { redis, pool, kafka, ann };
  const startPhase = (i: number) => {
    const p = phases[i];
    const src = scenario.phases[i];
    for (const f of src.faults ?? []) {
      const endS = faultEndS(f, src);
      const rec: FaultRecord = {
        phase: src.name,
        target: f.target,
        kind: f.kind,
        fromS: f.fromS,
        toS: endS,
        status: 'applied',
        ...('nodes' in f && f.nodes !== undefined ? { params: { nodes: f.nodes } } : {}),
      };
      faultRecords.push(rec);
      const fromUs = p.startUs + Math.round(f.fromS * 1e6);
      scheduler.at(fromUs, () => {
        rec.startedAt = rec.appliedAt = isoAt(fromUs);
        const note = applyFault(f, fleetState);
        if (note) rec.message = note;
        if (endS === undefined) rec.endedAt = rec.appliedAt;
      });
      if (endS !== undefined) {
        const toUs = p.startUs + Math.round(endS * 1e6);
        scheduler.at(toUs, () => {
          revertFault(f, fleetState);
          rec.endedAt = isoAt(toUs);
        });
      }
    }
    const schedule = arrivalSchedule(src.arrivals, src.durationS, random.stream(`arrivals.${src.name}`));
    const arrive = () => {
      const intendedUs = scheduler.nowUs;
      const i = pick();
      ctx.arrivals[i]?.add(intendedUs);
      replicas[i].handle(users.int(worldUsers), intendedUs);
      scheduleNext();
    };
    const scheduleNext = () => {
      const off = schedule.next();
      if (off === undefined) return;
      p.schedule(off);
      scheduler.post(p.startUs + Math.round(off * 1e6), arrive);
    };
    scheduleNext();
  };
  phases.forEach((p, i) => {
    scheduler.at(p.startUs, () => startPhase(i));
  });

  // Utilisation per phase: busy time added during the phase ÷ capacity.
  const busy = () => ({
    cpu: replicas.reduce((s, r) => s + r.cpuServer.busyUs, 0),
    redis: redis.shards.reduce((s, r) => s + r.busyUs, 0),
    ranker: pool ? pool.nodes.reduce((s, n) => s + n.busyUs, 0) : 0,
    rankerRows: pool ? pool.rows : 0,
  });
  const busyAt: ReturnType<typeof busy>[] = [];
  phases.forEach((p, i) => {
    scheduler.at(p.startUs, () => {
      busyAt[i] = busy();
    });
  });
  let busyEnd: ReturnType<typeof busy> | undefined;
  scheduler.at(endUs, () => {
    busyEnd = busy();
  });

  const totalS = endUs / 1e6;
  const sliceEnds: number[] = [];
  for (let s = 1; s * 1e6 < endUs + 1e6; s++) sliceEnds.push(Math.min(s * 1e6, endUs));
  return {
    scheduler,
    sliceEnds,
    drainUntilUs: endUs + DRAIN_US,
    afterSlice(sliceEnd) {
      while (phaseIdx < phases.length - 1 && sliceEnd >= phases[phaseIdx].endUs) phaseIdx++;
      if (opts.onProgress) {
        const served = [...secondRungs.values()].reduce((a, b) => a + b, 0);
        opts.onProgress({
          virtualS: sliceEnd / 1e6,
          totalS,
          phase: phases[phaseIdx].name,
          completed,
          events: scheduler.fired,
          rungShare: Object.fromEntries([...secondRungs].map(([k, v]) => [k, served ? v / served : 0])),
          shed: secondShed,
        });
      }
      secondRungs.clear();
      secondShed = 0;
    },
    finish(extra = {}) {
      // Impressions still held when the run ends are flushed by the live core's shutdown; here the
      // brokers may still be down (a scenario ending in an outage): those count as lost.
      const reports = phases.map((p) => p.report());
      const utilisation = Object.fromEntries(
        phases.map((p, i) => {
          const a = busyAt[i];
          const b = i + 1 < phases.length ? busyAt[i + 1] : busyEnd!;
          const span = p.endUs - p.startUs;
          return [
            p.name,
            {
              replicaCpu: round3((b.cpu - a.cpu) / (span * replicas.length)),
              redis: round3((b.redis - a.redis) / (span * redis.shards.length)),
              ...(pool
                ? {
                    ranker: round3(
                      (b.rankerRows - a.rankerRows) / (span * pool.nodes.length * rankerRowsPerUs),
                    ),
                    rankerBusy: round3((b.ranker - a.ranker) / (span * pool.nodes.length)),
                  }
                : {}),
            },
          ];
        }),
      );

      const surrogate =
        !extra.quality && opts.qualityTable ? surrogateQuality(reports, opts.qualityTable) : undefined;
      const measurements: RunMeasurements = {
        phases: reports.map((r) => ({
          phase: r.name,
          warmup: r.warmup === true,
          offeredQps: r.offeredQps,
          achievedQps: r.achievedQps,
          latencyMs: r.latencyMs,
          histogramBase64: r.histogramBase64,
          statusCounts: { ...r.statusCounts, '3xx': 0 },
          rungCounts: r.rungCounts,
          reasonCounts: r.reasonCounts,
          startedAtMs: Date.parse(r.startedAt!),
          series: r.series,
        })),
        responses200: kafka.published,
        impressionsOnTopic: kafka.delivered,
        faults: faultRecords,
        ...(extra.quality ? { quality: extra.quality.served } : surrogate ? { quality: surrogate } : {}),
      };
      const assertions = scenario.assertions.map((a) => evaluate(a, measurements));
      const passed = assertions.every((a) => a.passed);
      const machine = machineInfo();
      const traceHash = hash.hex();
      const result: RunResult = {
        schemaVersion: SCHEMA_VERSION,
        runId: `${scenario.name}-sim${extra.runIdSuffix ?? ''}-s${seed}-q${Math.round(peakQps * rateScale)}`,
        scenario: scenario.name,
        mode: 'sim',
        seed,
        worldHash: `sim-${scenario.world.users}x${scenario.world.videos}`,
        versions: {
          reclab: opts.reclabVersion,
          node: process.version,
          modelVersion: extra.modelVersion ?? 'surrogate',
          images: {},
        },
        machine: {
          cpus: machine.cpus,
          memGiB: Math.round((machine.memTotalMiB / 1024) * 10) / 10,
          os: `${machine.platform}-${machine.arch}`,
        },
        startedAt: new Date(SIM_EPOCH_MS).toISOString(),
        endedAt: new Date(SIM_EPOCH_MS + endUs / 1000).toISOString(),
        phases: reports.map((r, i) => ({ ...r, arrivals: describeArrivals(scenario.phases[i].arrivals) })),
        assertions,
        faults: faultRecords,
        impressions: { published: kafka.published, consumedOnTopic: kafka.delivered },
        ...(extra.quality ? { quality: extra.quality } : {}),
        fleet: {
          name: fleet.name,
          replicas: replicas.length,
          redisShards: redis.shards.length,
          rankerNodes: pool?.nodes.length ?? 0,
          traceHash,
          events: scheduler.fired,
          impressionsLost: kafka.published - kafka.delivered,
          utilisation,
        },
        outcome: passed ? 'pass' : 'fail',
        exitCode: passed ? 0 : 3,
      };
      return {
        result,
        ...(surrogate ? { surrogate } : {}),
        traceHash,
        events: scheduler.fired,
        requests: completed,
      };
    },
  };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** Rungs as small integers for the trace hash. */
const RUNG_CODE: Record<string, number> = {
  full: 0,
  partial_retrieval: 1,
  light_ranker: 2,
  retrieval_scores: 3,
  default_features: 4,
  popularity: 5,
  editorial: 6,
};
