/**
 * `reclab calibrate`: measures the live core on this machine and writes the fleet file the
 * simulator loads (`reclab sim --fleet <dir>/fleet.json`), plus a report of what was measured.
 *
 * One live run of the baseline world (real Redis, Kafka, FAISS, ONNX Runtime; open-model load) with
 * two measured phases:
 * - at a low rate, where requests rarely wait for each other: each response's stage timings go into
 *   HdrHistograms (the shape of a request's work);
 * - at one or more higher rates (up to the knee, or past it): with the low one, the CPU of the
 *   core's main thread (its event loop, /proc/<pid>/task/<pid>/stat, loadtest/phase-cpu.ts) at
 *   those rates gives the CPU per request and the background CPU per second (`fitCpuLine`), and its
 *   run-queue delay per µs of CPU at each rate the replica's wait for a shared CPU; the fleet
 *   gets both as its load profile (`loadProfileOf`, sim/fleet/load-profile.ts).
 * `fitFleet` (fit.ts) turns them into service-time distributions. The report records the machine,
 * since times measured here do not carry to another one.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { foreignCpuShare, machineStealShare } from '../../loadtest/phase-cpu.ts';
import type { RunPhase } from '../../loadtest/run.ts';
import { runScenario } from '../../loadtest/run.ts';
import { type MachineInfo, machineInfo } from '../../reports/machine.ts';
import { parseFleet } from '../fleet/fleet-spec.ts';
import type { LoadPoint } from '../fleet/load-profile.ts';
import { type GcCounters, type GcRate, gcRates, readGcCounters } from './core-gc.ts';
import { type CpuAtRate, fitCpuLine, fitFleet, loadProfileOf, rungCostsOf, usablePoints } from './fit.ts';
import {
  FIT_MIN_FULL_SHARE,
  FIT_MIN_UTILISATION,
  type FitPhase,
  fitSubsecondSpeed,
  type SubsecondFit,
  withSubsecondSpeed,
} from './fit-subsecond.ts';
import {
  type LoopInterval,
  LoopSpeedSampler,
  type SpeedVariationFit,
  speedVariationOf,
} from './loop-speed.ts';
import {
  DEFAULT_WARMUP_S,
  MEASURED_PHASE,
  measuredBaseline,
  measuredHighPhase,
} from './measured-scenario.ts';
import { STAGES, StageSamples } from './stage-samples.ts';

export interface CalibrateOptions {
  seed: number;
  /** Arrival rate of the stage-timing phase, requests/s; low enough that requests rarely queue. */
  qps: number;
  /**
   * Arrival rates of the further CPU phases, requests/s, rising, each above `qps`: up to the knee
   * (and past it, for the wait for a CPU). One is enough for the line; more refine it.
   */
  highQps: number[];
  durationS: number;
  /** Warm-up at `qps` before the measured phases, s (excluded); default `DEFAULT_WARMUP_S`. */
  warmupS?: number;
  /** The core's event loop alone on a CPU, the lab on the others (`reclab run --pin-core`). */
  pinCore?: boolean;
  outDir: string;
  runsRoot: string;
  cacheDir: string;
  env: Record<string, string | undefined>;
  log: (line: string) => void;
}

export interface CalibrationReport {
  /** Times measured on one machine do not carry to another. */
  machine: MachineInfo;
  measuredAt: string;
  command: string;
  qps: number;
  highQps: number[];
  durationS: number;
  warmupS: number;
  responses: number;
  /** The core's main-thread CPU in each measured phase. */
  cpuAtRates: CpuAtRate[];
  /** The main-thread CPU per request at the stage-timing rate, µs (factor 1 of the load profile). */
  cpuPerRequestUs: number;
  /** The replica's CPU factor and wait for a CPU by rate (the fleet's `replicas.loadProfile`). */
  loadProfile: LoadPoint[];
  /** The core's GC pauses over every measured phase, per kind (per request of those phases). */
  gc: GcRate[];
  /** The core's speed second by second (the fleet's `replicas.speedVariation`), when measurable. */
  speedVariation?: SpeedVariationFit;
  /** The core's speed within a second (the fleet's `replicas.subsecondSpeed`), fitted to the busy phases' p99. */
  subsecondSpeed?: SubsecondFit;
  /** Per stage: samples and p50/p90/p99 in µs. */
  stages: Record<string, { count: number; p50: number; p90: number; p99: number }>;
  notes: string[];
  liveRun: { runId: string; exitCode: number };
}

/**
 * Runs the calibration; returns the report and the paths written.
 * @throws Error when the run measured no responses or the core's /metrics is unreadable
 */
export async function calibrate(
  o: CalibrateOptions,
): Promise<{ report: CalibrationReport; fleetPath: string; reportPath: string }> {
  const warmupS = o.warmupS ?? DEFAULT_WARMUP_S;
  if (o.highQps.length === 0 || o.highQps.some((r, i) => r <= (i === 0 ? o.qps : o.highQps[i - 1])))
    throw new Error(`the high rates (${o.highQps.join(', ')}) must rise, each above --qps (${o.qps})`);
  const scenario = measuredBaseline('calibrate', o.qps, o.durationS, o.highQps, warmupS);
  const measuredNames = [MEASURED_PHASE, ...o.highQps.map((_, i) => measuredHighPhase(i))];
  const lastPhase = measuredNames[measuredNames.length - 1];
  const stages = new StageSamples();
  let gcBefore: GcCounters | undefined;
  let gcAfter: GcCounters | undefined;
  // The core's main thread second by second in each measured phase (loop-speed.ts).
  const speed = new Map<string, LoopSpeedSampler>();
  const intervals = new Map<string, LoopInterval[]>();
  const summary = await runScenario({
    scenario,
    seed: o.seed,
    infra: 'testcontainers',
    env: o.env,
    outRoot: o.runsRoot,
    cacheDir: o.cacheDir,
    pinCore: o.pinCore,
    log: o.log,
    probe: {
      // GC pauses over every measured phase: a major collection comes every few thousand
      // requests, so one 30 s phase held one or two (a single 45 ms pause then set the rate).
      phaseStart: async (phase, url, corePid) => {
        if (phase === MEASURED_PHASE) gcBefore = await readGcCounters(url);
        if (corePid !== undefined && measuredNames.includes(phase)) {
          const sampler = new LoopSpeedSampler(corePid, SPEED_INTERVAL_MS);
          speed.set(phase, sampler);
          sampler.start();
        }
      },
      phaseEnd: async (phase, url) => {
        const sampler = speed.get(phase);
        if (sampler) intervals.set(phase, sampler.stop());
        if (phase === lastPhase) gcAfter = await readGcCounters(url);
      },
      served: (phase, served) => {
        speed.get(phase)?.served();
        if (phase === MEASURED_PHASE) stages.record(served?.meta?.timings_ms);
      },
    },
  });
  const points = measuredNames.map((name) => cpuAtRate(summary.phases, name));
  const phaseOf = new Map(points.flatMap((p, i) => (p ? [[p, measuredNames[i]] as const] : [])));
  if (points.some((p) => p === undefined) || stages.responses === 0)
    throw new Error(
      `calibration run ${summary.runId} measured no responses or no core CPU (exit ${summary.exitCode}; ` +
        'the main thread is read from /proc: Linux only)',
    );
  const measuredRequests = summary.phases
    .filter((p) => measuredNames.includes(p.phase))
    .reduce((n, p) => n + (p.cpu?.requests ?? 0), 0);
  const gc = gcBefore && gcAfter ? gcRates(gcBefore, gcAfter, measuredRequests) : [];
  const cpuAtRates = points as CpuAtRate[];
  // A phase the hypervisor took a share of measures the machine's neighbours, not the core.
  const { kept, dropped } = usablePoints(cpuAtRates);
  for (const d of dropped) o.log(`calibrate: ${d}`);
  if (kept.length < 2)
    throw new Error(
      `calibration run ${summary.runId}: fewer than two phases usable (${dropped.join('; ')}); run it again`,
    );
  // The stage-timing phase fixes what the stages' CPU is; the others how it changes with the rate.
  const ref = cpuAtRates[0];
  if (!kept.includes(ref))
    throw new Error(
      `calibration run ${summary.runId}: the stage-timing phase was disturbed (${dropped[0]}); run it again`,
    );
  // The line is reported for comparison; the fleet uses the profile: a request's own CPU at the
  // stage-timing rate, scaled per rate (sim/fleet/load-profile.ts), and no background job.
  const line = fitCpuLine(kept);
  const cpuPerRequestUs = ref.cpuUsPerS / ref.rateQps;
  const machine = machineInfo();
  const fit = fitFleet(
    { stages, cpuPerRequestUs, backgroundUsPerS: 0, gc, loopBusyShare: loopBusyShare(ref) },
    `calibrated-${machine.cpus}cpu`,
  );
  const { notes } = fit;
  // The profile in `full` requests' CPU: what each rung costs comes from the stages just fitted.
  const costs = rungCostsOf(fit.fleet);
  const loadProfile = loadProfileOf(kept, ref, costs);
  // The seconds of the undisturbed phases only: a disturbed one's spread is its neighbours'.
  const speedVariation = speedVariationOf(
    kept.map((p) => intervals.get(phaseOf.get(p) ?? '') ?? []),
    SPEED_INTERVAL_MS,
  );
  const profiled = parseFleet(
    {
      ...fit.fleet,
      replicas: {
        ...fit.fleet.replicas,
        loadProfile,
        ...(speedVariation
          ? { speedVariation: { intervalMs: speedVariation.intervalMs, quantiles: speedVariation.quantiles } }
          : {}),
      },
    },
    'calibration',
  );
  // Within a second: fitted to the live p99 of the busy phases below the knee (fit-subsecond.ts).
  const fitPhases: FitPhase[] = kept.flatMap((p) => {
    const name = phaseOf.get(p);
    const live = summary.phases.find((x) => x.phase === name);
    const full = p.rungs && p.requests ? (p.rungs.full ?? 0) / p.requests : 0;
    return name && live && p.cpuUsPerS / 1e6 >= FIT_MIN_UTILISATION && full >= FIT_MIN_FULL_SHARE
      ? [{ phase: name, rateQps: p.rateQps, liveP99Ms: live.latencyMs.p99 }]
      : [];
  });
  const subsecond = fitPhases.length
    ? fitSubsecondSpeed({ fleet: profiled, scenario, seed: o.seed, phases: fitPhases })
    : undefined;
  const fleet = subsecond?.cv
    ? parseFleet(withSubsecondSpeed(profiled, subsecond.cv), 'calibration')
    : profiled;
  notes.unshift(
    ...dropped,
    `main-thread CPU ${kept.map((p) => `${Math.round(p.cpuUsPerS / 1000)} ms/s at ${p.rateQps} QPS (${Math.round(p.cpuUsPerS / p.rateQps)} µs a request)`).join(', ')}` +
      ` (as a line: ${Math.round(line.perRequestUs)} µs per request + ${Math.round(line.backgroundUsPerS / 1000)} ms/s)`,
    `replicas.loadProfile, by rate: ${loadProfile.map((p) => `${p.rateQps} QPS ×${p.cpuFactor} CPU, wait ${p.waitPerCpu} µs per µs`).join('; ')}` +
      ` (CPU per full request: a light_ranker list costs ${costs.light}, a cache list ${costs.cache} of a full one's)`,
    speedVariation
      ? `replicas.speedVariation: ${speedVariation.intervals} intervals of ${speedVariation.intervalMs} ms from ${speedVariation.phases} phases ` +
          `(about ${speedVariation.meanRequests} responses each): CV ${speedVariation.cv}, p5 ${speedVariation.quantiles[1]}, ` +
          `p95 ${speedVariation.quantiles[speedVariation.quantiles.length - 2]}, lag-1 autocorrelation ${speedVariation.lag1} (drawn independently)`
      : 'replicas.speedVariation: not measured (no phase with enough responses a second, or no schedstat)',
    subsecond
      ? `replicas.subsecondSpeed: CV ${subsecond.cv} every ${subsecond.intervalMs} ms, fitted to the p99 of ` +
          subsecond.phases
            .map((p) => `${p.rateQps} QPS (live ${p.liveP99Ms} ms, simulated ${p.simP99Ms} ms)`)
            .join(', ') +
          ` (loss by CV: ${subsecond.grid.map((g) => `${g.cv} ${g.loss}`).join(', ')})`
      : `replicas.subsecondSpeed: not fitted (no undisturbed phase with the main thread ≥ ${FIT_MIN_UTILISATION * 100}% busy and ≥ ${FIT_MIN_FULL_SHARE * 100}% of lists on full)`,
  );

  const report: CalibrationReport = {
    machine,
    measuredAt: new Date().toISOString(),
    command: `reclab calibrate --qps ${o.qps} --high-qps ${o.highQps.join(',')} --duration ${o.durationS} --warmup ${warmupS} --seed ${o.seed}${o.pinCore ? ' --pin-core' : ''}`,
    qps: o.qps,
    highQps: o.highQps,
    durationS: o.durationS,
    warmupS,
    responses: stages.responses,
    cpuAtRates,
    cpuPerRequestUs: Math.round(cpuPerRequestUs),
    loadProfile,
    gc,
    ...(speedVariation ? { speedVariation } : {}),
    ...(subsecond ? { subsecondSpeed: subsecond } : {}),
    stages: Object.fromEntries(
      STAGES.map((s) => [
        s,
        {
          count: stages.count(s),
          p50: stages.percentileUs(s, 50),
          p90: stages.percentileUs(s, 90),
          p99: stages.percentileUs(s, 99),
        },
      ]),
    ),
    notes,
    liveRun: { runId: summary.runId, exitCode: summary.exitCode },
  };
  await mkdir(o.outDir, { recursive: true });
  const fleetPath = join(o.outDir, 'fleet.json');
  const reportPath = join(o.outDir, 'calibration.json');
  await writeFile(fleetPath, `${JSON.stringify(fleet, null, 2)}\n`);
  await writeFile(reportPath, `${JSON.stringify(report, null, 2)}\n`);
  return { report, fleetPath, reportPath };
}

/** The interval of the core's speed samples, ms: a second holds 150–500 responses at the rates that count (`speedVariationOf`). */
const SPEED_INTERVAL_MS = 1000;

/** Share of a phase the core's event loop was on a CPU or waiting for one (capped at 1). */
function loopBusyShare(p: CpuAtRate): number {
  const busy = (p.cpuUsPerS + (p.runDelayUsPerS ?? 0)) / 1e6;
  return Math.min(1, Math.round(busy * 1000) / 1000);
}

/** The core's main-thread CPU over phase `name` of a live run; undefined without /proc figures. */
function cpuAtRate(phases: readonly RunPhase[], name: string): CpuAtRate | undefined {
  const phase = phases.find((p) => p.phase === name);
  const cpu = phase?.cpu;
  if (!phase || !cpu || cpu.coreMainThreadMs === undefined || cpu.wallS <= 0 || cpu.requests === 0)
    return undefined;
  // The CPU covers the phase's warm-up and its measured window: so does the rung mix.
  const rungs: Record<string, number> = { ...phase.warmup.rungCounts };
  for (const [rung, n] of Object.entries(phase.rungCounts)) rungs[rung] = (rungs[rung] ?? 0) + n;
  return {
    rungs,
    requests: cpu.requests,
    rateQps: Math.round((cpu.requests / cpu.wallS) * 10) / 10,
    cpuUsPerS: Math.round((cpu.coreMainThreadMs * 1000) / cpu.wallS),
    ...(cpu.coreMainThreadRuns !== undefined && cpu.coreMainThreadRunDelayMs !== undefined
      ? {
          runsPerS: Math.round(cpu.coreMainThreadRuns / cpu.wallS),
          runDelayUsPerS: Math.round((cpu.coreMainThreadRunDelayMs * 1000) / cpu.wallS),
        }
      : {}),
    ...(machineStealShare(cpu) !== undefined
      ? { stealShare: Math.round(machineStealShare(cpu)! * 1000) / 1000 }
      : {}),
    ...(foreignCpuShare(cpu) !== undefined
      ? { foreignShare: Math.round(foreignCpuShare(cpu)! * 1000) / 1000 }
      : {}),
  };
}
