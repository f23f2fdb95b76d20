/**
 * Turns a live measurement of one core at low load into a fleet file for `reclab sim`: a single
 * replica whose CPU stages and Redis round trip reproduce the measured stage times, and whose
 * per-request CPU matches the process's measured CPU per request.
 *
 * At low load a request rarely waits for another, so a stage's wall time is its own work plus the
 * round trips it waits on (recommend.ts stages → the fleet model, sim/fleet/replica.ts):
 * - `merge`, `reranking`, `ranking` (main ranker in process) are CPU only: their measured
 *   distributions become `mergeUs`, `rerankUs`, `mainRankerUs` as they are;
 * - `user` is the user-record and recent-watches reads in parallel: one Redis round trip and its
 *   reply, so Redis's round trip (`redis.rttUs`) is the user stage minus the reply's CPU;
 * - `enrichment` is one MGET round trip plus decoding: `enrichmentUs` = enrichment − round trip;
 * - `retrieval` is the user tower then the two ANN searches on the event loop while the Redis
 *   sources' replies arrive: `annUs` = (retrieval − user tower) ÷ 2;
 * - `requestUs` (HTTP, JSON, admission, the impression, and the process's background work: user
 *   events, the streaming consumer, GC) is what is left of the measured CPU per request after the
 *   stages' mean CPU. When the stages already exceed it (e.g. ONNX on two threads), it is a floor
 *   of 100 µs and the in-process stages are scaled down to the measured CPU (their wall times then
 *   hold waiting too); the note says so.
 * Stages not measured separately (user tower, reply decoding, light ranker, popularity, rejection)
 * keep the default profile's values (seed 000 §4 estimates).
 */

import { disturbance } from '../../loadtest/phase-cpu.ts';
import { type Distribution, meanOf } from '../fleet/distributions.ts';
import { DEFAULT_FLEET, type FleetSpec, parseFleet } from '../fleet/fleet-spec.ts';
import type { LoadPoint } from '../fleet/load-profile.ts';
import { SimError } from '../sim-error.ts';
import type { GcRate } from './core-gc.ts';
import type { StageSamples } from './stage-samples.ts';

export interface LiveMeasurement {
  stages: StageSamples;
  /** The core's event-loop CPU per answered recommendation request, µs (the marginal cost: `fitCpuLine`). */
  cpuPerRequestUs: number;
  /** The event loop's CPU per second that does not grow with requests, µs/s (`fitCpuLine`); 0 if absent. */
  backgroundUsPerS?: number;
  /** The core's GC pauses per request (core-gc.ts); their mean CPU is taken out of the stages. */
  gc?: GcRate[];
  /** The replica's speed by rate (`loadProfileOf`); a constant speed when absent. */
  loadProfile?: LoadPoint[];
  /**
   * Share of the stage-timing phase the event loop was busy or waiting for a CPU (main-thread CPU
   * per second × (1 + its wait)): the share of stage samples that likely waited behind other work.
   */
  loopBusyShare?: number;
}

/**
 * `q` (quantiles 0…100 %) with every quantile above `share`'s complement held at that quantile:
 * the tail a sample gets from waiting for the event loop, which the simulation adds by itself.
 */
export function withoutLoopWaitTail(q: number[], share: number): number[] {
  const last = q.length - 1;
  const keep = Math.max(1, Math.min(last, Math.floor((1 - share) * last)));
  return q.map((x, i) => (i > keep ? q[keep] : x));
}

/** The core's event-loop CPU over one measured phase. */
export interface CpuAtRate {
  /** Requests answered per second of the phase. */
  rateQps: number;
  /** Main-thread CPU per second of the phase, µs/s. */
  cpuUsPerS: number;
  /** Times per second the main thread was put on a CPU (its wake-ups), when measured. */
  runsPerS?: number;
  /** Its run-queue delay per second, µs/s, when measured. */
  runDelayUsPerS?: number;
  /** Share of the machine's CPU time the hypervisor took during the phase (steal), when measured. */
  stealShare?: number;
  /** Share of the machine's CPU time processes outside the run took during the phase, when measured. */
  foreignShare?: number;
  /** Responses by rung over the phase (warm-up included, as the CPU is), when known. */
  rungs?: Record<string, number>;
  /** Requests the CPU was spent on (any status), when known; those on no rung were refused. */
  requests?: number;
}

/** Redis replies a `full` request reads: each source's commands, plus the user, recent watches and the MGET. */
function redisCommandsPerRequest(sources: FleetSpec['sources']): number {
  return sources.reduce((n, s) => n + s.redisCommands, 0) + 3;
}

/** CPU of a request on each kind of rung ÷ a `full` one's (`rungCostsOf`). */
export interface RungCosts {
  /** `light_ranker`: the light ranker instead of the main one. */
  light: number;
  /** `retrieval_scores`: no ranker at all. */
  noRanker: number;
  /** `popularity`, `editorial`: the cache, no pipeline. */
  cache: number;
  /** A 503 at admission. */
  refused: number;
}

/**
 * Each rung's CPU relative to a `full` request's, from a fitted fleet's mean CPU costs: the light
 * ranker's rung runs its model instead of the main ranker's, a cache rung only the request and the
 * cache. Other rungs (a source or a feature read missing) count as `full`.
 */
export function rungCostsOf(fleet: FleetSpec): RungCosts {
  const c = fleet.replicas.cpu;
  const gcUs = fleet.replicas.gcPauses.reduce((t, g) => t + g.perRequest * meanOf(g.pauseUs), 0);
  const full =
    meanOf(c.requestUs) +
    meanOf(c.userEncoderUs) +
    2 * meanOf(c.annUs) +
    redisCommandsPerRequest(fleet.sources) * meanOf(c.redisReplyUs) +
    meanOf(c.mergeUs) +
    meanOf(c.enrichmentUs) +
    meanOf(c.mainRankerUs) +
    meanOf(c.rerankUs) +
    gcUs;
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  return {
    light: r3((full - meanOf(c.mainRankerUs) + meanOf(c.lightRankerUs)) / full),
    noRanker: r3((full - meanOf(c.mainRankerUs)) / full),
    cache: r3((meanOf(c.requestUs) + meanOf(c.popularityUs)) / full),
    refused: r3(meanOf(c.rejectUs) / full),
  };
}

/**
 * A phase's requests in `full` requests' worth of CPU, per request (1 when every list was `full`,
 * or when the rung mix is unknown).
 */
export function fullEquivalentShare(p: Pick<CpuAtRate, 'rungs' | 'requests'>, costs: RungCosts): number {
  if (!p.rungs) return 1;
  let onRungs = 0;
  let weighted = 0;
  for (const [rung, n] of Object.entries(p.rungs)) {
    onRungs += n;
    weighted +=
      n *
      (rung === 'light_ranker'
        ? costs.light
        : rung === 'retrieval_scores'
          ? costs.noRanker
          : rung === 'popularity' || rung === 'editorial'
            ? costs.cache
            : 1);
  }
  const refused = Math.max(0, (p.requests ?? onRungs) - onRungs);
  const total = onRungs + refused;
  return total > 0 ? (weighted + refused * costs.refused) / total : 1;
}

/**
 * The points a calibration may fit: those whose phase was not disturbed (phase-cpu.ts
 * `disturbance`: steal or foreign CPU, when measured), and the others with why they were left out.
 */
export function usablePoints(points: readonly CpuAtRate[]): { kept: CpuAtRate[]; dropped: string[] } {
  const kept: CpuAtRate[] = [];
  const dropped: string[] = [];
  for (const p of points) {
    const why = disturbance(p);
    if (why) dropped.push(`${p.rateQps} QPS left out: ${why}`);
    else kept.push(p);
  }
  return { kept, dropped };
}

/**
 * The line `cpu = perRequestUs × rate + backgroundUsPerS` through the measured rates (least squares;
 * exact through two): the live core's CPU per request falls as the rate rises (4.8 ms at 50 QPS,
 * 3.3 ms at 200 on this machine's main thread, docs/simulator.md), which a fixed cost per request
 * cannot reproduce. A negative intercept (noise, or a cost that grows faster than the rate) is
 * clamped to 0 and the whole CPU of the highest rate charged per request.
 * @throws SimError RECLAB_ERR_SIM_FLEET_INVALID when fewer than two distinct positive rates are given
 */
export function fitCpuLine(points: readonly CpuAtRate[]): { perRequestUs: number; backgroundUsPerS: number } {
  const rates = new Set(points.map((p) => p.rateQps));
  if (rates.size < 2 || points.some((p) => !(p.rateQps > 0 && p.cpuUsPerS > 0)))
    throw new SimError(
      'RECLAB_ERR_SIM_FLEET_INVALID',
      `calibration needs two or more distinct positive rates with CPU measured (got ${points.map((p) => p.rateQps).join(', ')} QPS)`,
    );
  const n = points.length;
  const mx = points.reduce((t, p) => t + p.rateQps, 0) / n;
  const my = points.reduce((t, p) => t + p.cpuUsPerS, 0) / n;
  const sxy = points.reduce((t, p) => t + (p.rateQps - mx) * (p.cpuUsPerS - my), 0);
  const sxx = points.reduce((t, p) => t + (p.rateQps - mx) ** 2, 0);
  const perRequestUs = sxy / sxx;
  const backgroundUsPerS = my - perRequestUs * mx;
  if (perRequestUs <= 0 || backgroundUsPerS < 0) {
    const top = points.reduce((a, b) => (b.rateQps > a.rateQps ? b : a));
    return { perRequestUs: top.cpuUsPerS / top.rateQps, backgroundUsPerS: 0 };
  }
  return { perRequestUs, backgroundUsPerS };
}

/**
 * The replica's speed at each measured rate (fleet `replicas.loadProfile`,
 * sim/fleet/load-profile.ts), relative to `ref` (the stage-timing phase, whose CPU per request the
 * stages are fitted to): `cpuFactor` = CPU per `full` request at the rate ÷ at `ref`; `waitPerCpu`
 * = the main thread's run-queue delay ÷ its CPU (0 without a schedstat reading). Sorted by rate,
 * one point per rate.
 *
 * Per `full` request, with `costs`: past the knee the live core browns out, and a phase's CPU per
 * request is then its rung mix's (the light ranker is cheaper). Read as a faster replica, that mix
 * would be counted twice: the simulated replica browns out by itself on top of it
 * (docs/simulator.md, 2026-12-07 "up to and past the knee").
 */
export function loadProfileOf(points: readonly CpuAtRate[], ref: CpuAtRate, costs?: RungCosts): LoadPoint[] {
  const perRequest = (p: CpuAtRate) => p.cpuUsPerS / p.rateQps / (costs ? fullEquivalentShare(p, costs) : 1);
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  return [...points]
    .sort((a, b) => a.rateQps - b.rateQps)
    .filter((p, i, all) => i === 0 || p.rateQps > all[i - 1].rateQps)
    .map((p) => ({
      rateQps: p.rateQps,
      cpuFactor: r3(perRequest(p) / perRequest(ref)),
      waitPerCpu: p.runDelayUsPerS === undefined ? 0 : r3(p.runDelayUsPerS / p.cpuUsPerS),
    }));
}

export interface Fit {
  fleet: FleetSpec;
  /** How each calibrated value was derived, for the calibration report. */
  notes: string[];
}

const empirical = (quantilesUs: number[]): Distribution => ({
  kind: 'empirical',
  quantilesUs: quantilesUs.map((q) => Math.round(q)),
});

/** Each quantile minus `us`, kept ≥ `floorShare` of the original (a stage is never free). */
const minus = (q: number[], us: number, floorShare = 0.1) => q.map((x) => Math.max(x - us, x * floorShare));

/**
 * Fits a single-replica fleet to `m`.
 * @throws SimError RECLAB_ERR_SIM_FLEET_INVALID if a derived value is out of range (e.g. no samples)
 */
export function fitFleet(m: LiveMeasurement, name: string, base: FleetSpec = DEFAULT_FLEET): Fit {
  const s = m.stages;
  const cpu = base.replicas.cpu;
  const notes: string[] = [];
  const replyUs = meanOf(cpu.redisReplyUs);
  const encoderUs = meanOf(cpu.userEncoderUs);

  const user = s.quantilesUs('user');
  // The user stage's wall time also holds waiting for the event loop (behind another request's
  // CPU, a GC pause, the OS run queue) whenever the loop was busy: that tail is not the round
  // trip, and the simulated replica adds its own waiting. Without this cut, 0.6% of simulated
  // user reads timed out at 50 QPS where the live core had none (docs/simulator.md).
  const busy = m.loopBusyShare ?? 0;
  const rtt = minus(busy > 0 ? withoutLoopWaitTail(user, busy) : user, replyUs);
  notes.push(
    `redis.rttUs = user stage − reply CPU (${Math.round(replyUs)} µs, default)` +
      (busy > 0
        ? `, quantiles above p${Math.floor((1 - busy) * 100)} held there (the loop was busy ${(busy * 100).toFixed(0)}% of that phase)`
        : ''),
  );
  const enrichment = minus(s.quantilesUs('enrichment'), s.percentileUs('user', 50) - replyUs);
  notes.push('enrichmentUs = enrichment stage − median Redis round trip');
  const ann = minus(s.quantilesUs('retrieval'), encoderUs).map((x) => x / 2);
  notes.push(`annUs = (retrieval stage − user tower ${Math.round(encoderUs)} µs, default) ÷ 2 searches`);
  const merge = s.quantilesUs('merge');
  const ranking = s.quantilesUs('ranking');
  const rerank = s.quantilesUs('reranking');
  notes.push('mergeUs, mainRankerUs, rerankUs = their stages as measured');

  const mean = (q: number[]) => q.reduce((a, b) => a + b, 0) / q.length;
  const redisCommands = redisCommandsPerRequest(base.sources);
  const stagesCpu =
    encoderUs +
    2 * mean(ann) +
    redisCommands * replyUs +
    mean(merge) +
    mean(enrichment) +
    mean(ranking) +
    mean(rerank);
  // GC pauses are part of the measured CPU; the simulated replica runs them as pauses of their own.
  const gcUs = (m.gc ?? []).reduce((t, g) => t + g.perRequest * g.meanPauseUs, 0);
  const perRequestUs = m.cpuPerRequestUs - gcUs;
  if (gcUs > 0)
    notes.push(
      `GC pauses ${Math.round(gcUs)} µs a request (${(m.gc ?? [])
        .map((g) => `${g.kind} ${g.perRequest.toFixed(3)}/request × ${Math.round(g.meanPauseUs)} µs`)
        .join(', ')}): replicas.gcPauses, out of the stages`,
    );
  let requestUs = perRequestUs - stagesCpu;
  // Stage wall times also hold waiting (for the loop, behind other requests): when their sum passes
  // the process's measured CPU, the in-process stages are scaled down so that the replica's CPU per
  // request equals the measured one (100 µs left for HTTP and the rest).
  let scale = 1;
  if (requestUs < 100) {
    const fixedUs = encoderUs + redisCommands * replyUs;
    const scalable = stagesCpu - fixedUs;
    scale = Math.max(0.1, (perRequestUs - 100 - fixedUs) / scalable);
    notes.push(
      `the stages' mean wall time (${Math.round(stagesCpu)} µs) passes the measured CPU per request ` +
        `(${Math.round(perRequestUs)} µs): ANN, merge, enrichment, ranking and re-rank scaled by ` +
        `${scale.toFixed(3)}, requestUs 100 µs`,
    );
    requestUs = 100;
  } else {
    notes.push(
      `requestUs = measured CPU per request ${Math.round(perRequestUs)} µs − stages' mean CPU ` +
        `${Math.round(stagesCpu)} µs (HTTP, JSON, impression, events route, consumer, GC)`,
    );
  }

  const fleet = parseFleet(
    {
      ...base,
      name,
      replicas: {
        ...base.replicas,
        count: 1,
        backgroundUsPerS: Math.round(m.backgroundUsPerS ?? 0),
        loadProfile: m.loadProfile ?? [],
        gcPauses: (m.gc ?? []).map((g) => ({
          kind: g.kind,
          perRequest: Number(g.perRequest.toFixed(5)),
          pauseUs: { kind: 'exponential' as const, meanUs: Math.round(g.meanPauseUs) },
        })),
        cpu: {
          ...cpu,
          requestUs: { kind: 'exponential', meanUs: Math.round(requestUs) },
          annUs: empirical(ann.map((x) => x * scale)),
          mergeUs: empirical(merge.map((x) => x * scale)),
          enrichmentUs: empirical(enrichment.map((x) => x * scale)),
          mainRankerUs: empirical(ranking.map((x) => x * scale)),
          rerankUs: empirical(rerank.map((x) => x * scale)),
        },
      },
      redis: { ...base.redis, shards: 1, rttUs: empirical(rtt) },
    },
    'calibration',
  );
  return { fleet, notes };
}
