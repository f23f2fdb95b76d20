/**
 * The knee of the serving core on this machine (issue 10): sweeps a scenario's arrival rate (scaled
 * as `reclab run --rate` does: the busiest measured phase peaks at the swept rate), runs it
 * `--runs` times per rate with the live runner's programmatic API (loadtest/run.ts `runScenario`:
 * real Redis and Kafka in containers, the core as its own process, fresh containers per run), and
 * finds the highest rate at which every run meets
 * - the scenario's own assertions (the run passes: exit 0), and
 * - the knee definition: p99 ≤ 200 ms and ≥ 99% of 200 responses on `full`, in every measured
 *   (non-warm-up) phase.
 *
 *   npx tsx bench/knee.ts [--scenario baseline] [--rates 100,200,300,400,500] [--runs 2]
 *        [--duration 20] [--seed 7] [--stop-after 2] [--verify] [--verify-runs 3]
 *        [--shed-max 8] [--pin-core] [--warmup S] [--out bench/out/knee.json]
 *
 * `--duration` sets each measured phase's length, s;
 * `--stop-after N` ends the sweep after N rates in a row that miss (0: sweep every rate).
 * `--verify` then checks issue 10's acceptance around the knee K found (each check in `verify`):
 * - stable: `--verify-runs` runs at 0.9 K, each ≥ 99% of 200 responses on `full` in every measured phase;
 * - brownout: `--verify-runs` runs at 2 K, each with ≥ 99% of requests answered 200, p99 ≤ 200 ms and
 *   no answer off `full` without a reason (`meta.reasons`);
 * - shed onset: one run per rate from 2 K upward (× 1.5 each step, up to `--shed-max` × K) until a run
 *   answers 503: that rate (`shedOnsetQps`), and at each rate the share answered by the cheapest rung
 *   (`popularity` with `admission RECLAB_ERR_OVERLOADED`, the last rung before shedding) and by 503.
 * `--pin-core`: as `reclab run --pin-core` (the core process alone on a CPU, the lab on the others).
 * `--warmup S`: warm-up phases last S s at the swept rate (default: the scenario's own, scaled).
 * A run with more than 5% hypervisor steal, or 5% foreign CPU (processes outside the run), in a
 * measured phase is listed and taken once more.
 * Time is bounded: about runs × rates × (duration + ≈ 40 s of container and core start-up). Run it alone on
 * the machine (under the machine's load lock, when it has one): it measures CPU.
 *
 * Per rate and run it records, over the measured phases: p50/p99 (ms, from the intended send time),
 * the rung mix, 5xx and 503 counts, the core's CPU per request (from /proc/<core pid>/stat,
 * loadtest/phase-cpu.ts) and the load generator's (the runner process: driver, response handling,
 * simulated users). Output: `bench/out/knee.json` (rewritten after every run, so a long sweep can be
 * polled), with the machine, load averages and the command. Exit 0 when a knee was found (and,
 * with `--verify`, its stable and brownout checks held), 3 when no rate met the definition or a
 * check missed, 1 on a crash.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureLabGc } from '../loadtest/lab-gc.ts';
import { disturbance, foreignCpuShare, machineStealShare } from '../loadtest/phase-cpu.ts';
import { type RunPhase, runScenario } from '../loadtest/run.ts';
import { scenarios } from '../scenarios/index.ts';
import { peakMeasuredRateQps } from '../scenarios/scale.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The knee definition (issue 10). */
const P99_MAX_MS = 200;
const FULL_SHARE_MIN = 0.99;
/** Issue 10's brownout check at 2× the knee. */
const BROWNOUT_OK_SHARE_MIN = 0.99;
/** The cheapest rung before a 503 (docs/fallback.md, "Brownout"): its reason key in `reasonCounts`. */
const POPULARITY_BROWNOUT = 'admission RECLAB_ERR_OVERLOADED';

/** One run at one rate, over its measured phases. */
interface KneeRun {
  runId: string;
  exitCode: number;
  /** The scenario's assertions and invariants held (exit 0). */
  passed: boolean;
  /** The knee definition held in every measured phase. */
  kneeOk: boolean;
  achievedQps: number;
  p50Ms: number;
  p99Ms: number;
  /** Share of 200 responses on `full`. */
  fullShare: number;
  /** The lowest share on `full` of any measured phase. */
  minPhaseFullShare: number;
  rungs: Record<string, number>;
  errors5xx: number;
  errors503: number;
  transportErrors: number;
  /** 200 responses ÷ requests (answered with any status, failed or timed out). */
  ok200Share: number;
  /** 503 responses ÷ requests. */
  shedShare: number;
  /** 200 responses off `full` that name no reason. */
  unexplainedDegraded: number;
  /** Share of 200 responses from the cheapest rung before shedding (popularity, admission overloaded). */
  popularityBrownoutShare: number;
  coreCpuUsPerRequest: number | null;
  /** The core's main thread (event loop) alone, µs per request. */
  coreMainThreadUsPerRequest: number | null;
  loadGenCpuUsPerRequest: number | null;
  /** Runner CPU after the phase, scoring the served lists (not part of the phase), ms. */
  scoringAfterPhaseMs: number | null;
  /** The largest share of the machine the hypervisor took (steal) in a measured phase; null unmeasured. */
  machineStealShare: number | null;
  /** The largest share of the machine processes outside the run took in a measured phase; null unmeasured. */
  foreignCpuShare: number | null;
  loadAverage: number[];
}

/** Issue 10's acceptance checks around the knee K (`--verify`). */
interface Verify {
  /** At 0.9 K: every run ≥ 99% `full` in every measured phase. */
  stable: { rateQps: number; runs: KneeRun[]; meets: boolean };
  /** At 2 K: every run ≥ 99% answered 200, p99 ≤ 200 ms, no answer off `full` without a reason. */
  brownout: { rateQps: number; runs: KneeRun[]; meets: boolean };
  /** From 2 K upward until 503s: per rate the 503 share and the cheapest rung's share of 200s. */
  shed: {
    rates: { rateQps: number; shedShare: number; popularityBrownoutShare: number; runId: string }[];
    /** The first rate with a 503 (null: none up to `--shed-max` × K). */
    shedOnsetQps: number | null;
  };
}

interface KneeRate {
  rateQps: number;
  /** Every run passed the scenario and met the knee definition. */
  meets: boolean;
  runs: KneeRun[];
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/** The largest of `share` over `phases` (4 decimals); null when a phase has no figure. */
function largestShare(phases: RunPhase[], share: (cpu: NonNullable<RunPhase['cpu']>) => number | undefined) {
  const xs = phases.map((p) => (p.cpu ? share(p.cpu) : undefined));
  return xs.every((x) => x !== undefined) ? Number(Math.max(...(xs as number[])).toFixed(4)) : null;
}

/** A run's figures over its measured phases (the worst phase for p50/p99, sums for counts). */
function summariseRun(
  phases: RunPhase[],
  warmups: boolean[],
  s: { runId: string; exitCode: number; passed: boolean },
): KneeRun {
  const measured = phases.filter((_, i) => !warmups[i]);
  const rungs: Record<string, number> = {};
  for (const p of measured) for (const [r, n] of Object.entries(p.rungCounts)) rungs[r] = (rungs[r] ?? 0) + n;
  const ok200 = sum(measured.map((p) => p.statusCounts['2xx']));
  // Every request of the measured phases: answered with any status, failed or timed out.
  const answered = sum(
    measured.map((p) => {
      const c = p.statusCounts;
      return c['2xx'] + (c['3xx'] ?? 0) + c['4xx'] + c['5xx'] + c.errors + c.timeouts;
    }),
  );
  const full = rungs.full ?? 0;
  const requests = sum(measured.map((p) => p.cpu?.requests ?? 0));
  const perRequest = (pick: (p: RunPhase) => number | undefined): number | null => {
    const values = measured.map(pick);
    if (values.some((v) => v === undefined) || requests === 0) return null;
    return Number(((sum(values as number[]) * 1000) / requests).toFixed(1));
  };
  const kneeOk = measured.every((p) => {
    const fullShare = (p.rungCounts.full ?? 0) / Math.max(1, p.statusCounts['2xx']);
    return p.latencyMs.p99 <= P99_MAX_MS && fullShare >= FULL_SHARE_MIN && p.statusCounts['2xx'] > 0;
  });
  return {
    runId: s.runId,
    exitCode: s.exitCode,
    passed: s.passed,
    kneeOk,
    achievedQps: Number(sum(measured.map((p) => p.achievedQps)).toFixed(1)),
    p50Ms: Math.max(...measured.map((p) => p.latencyMs.p50)),
    p99Ms: Math.max(...measured.map((p) => p.latencyMs.p99)),
    fullShare: Number((full / Math.max(1, ok200)).toFixed(4)),
    minPhaseFullShare: Number(
      Math.min(...measured.map((p) => (p.rungCounts.full ?? 0) / Math.max(1, p.statusCounts['2xx']))).toFixed(
        4,
      ),
    ),
    rungs,
    errors5xx: sum(measured.map((p) => p.statusCounts['5xx'])),
    errors503: sum(measured.map((p) => p.shed)),
    transportErrors: sum(measured.map((p) => p.statusCounts.errors + p.statusCounts.timeouts)),
    ok200Share: Number((ok200 / Math.max(1, answered)).toFixed(4)),
    shedShare: Number((sum(measured.map((p) => p.shed)) / Math.max(1, answered)).toFixed(4)),
    unexplainedDegraded: sum(measured.map((p) => p.unexplainedDegraded ?? 0)),
    popularityBrownoutShare: Number(
      (sum(measured.map((p) => p.reasonCounts?.[POPULARITY_BROWNOUT] ?? 0)) / Math.max(1, ok200)).toFixed(4),
    ),
    coreCpuUsPerRequest: perRequest((p) => p.cpu?.coreMs),
    coreMainThreadUsPerRequest: perRequest((p) => p.cpu?.coreMainThreadMs),
    loadGenCpuUsPerRequest: perRequest((p) => p.cpu?.runnerMs),
    scoringAfterPhaseMs: measured.every((p) => p.cpu?.scoringAfterPhaseMs !== undefined)
      ? Number(sum(measured.map((p) => p.cpu!.scoringAfterPhaseMs!)).toFixed(1))
      : null,
    machineStealShare: largestShare(measured, machineStealShare),
    foreignCpuShare: largestShare(measured, foreignCpuShare),
    loadAverage: os.loadavg(),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string', default: 'baseline' },
      rates: { type: 'string', default: '100,200,300,400,500' },
      runs: { type: 'string', default: '2' },
      duration: { type: 'string', default: '20' },
      seed: { type: 'string', default: '7' },
      'stop-after': { type: 'string', default: '2' },
      verify: { type: 'boolean', default: false },
      'verify-runs': { type: 'string', default: '3' },
      'shed-max': { type: 'string', default: '8' },
      'pin-core': { type: 'boolean', default: false },
      warmup: { type: 'string' },
      out: { type: 'string', default: join(ROOT, 'bench', 'out', 'knee.json') },
    },
  });
  const named = scenarios[values.scenario];
  if (!named) {
    console.error(`unknown scenario '${values.scenario}'; known: ${Object.keys(scenarios).join(', ')}`);
    process.exit(2);
  }
  const warmupS = values.warmup === undefined ? undefined : Number(values.warmup);
  if (warmupS !== undefined && !(warmupS > 0)) {
    console.error('--warmup must be > 0 s');
    process.exit(2);
  }
  // `--warmup S`: every warm-up phase runs S seconds at the swept rate (the busiest measured
  // phase's, scaled with it), so the core's caches and JIT settle where it will be measured.
  const scenario =
    warmupS === undefined
      ? named
      : {
          ...named,
          phases: named.phases.map((p) =>
            p.warmup
              ? {
                  ...p,
                  durationS: warmupS,
                  arrivals: { kind: 'constant' as const, rateQps: peakMeasuredRateQps(named) },
                }
              : p,
          ),
        };
  const rates = values.rates.split(',').map(Number);
  const runs = Number(values.runs);
  const durationS = Number(values.duration);
  const seed = Number(values.seed);
  const stopAfter = Number(values['stop-after']);
  const verifyRuns = Number(values['verify-runs']);
  const shedMax = Number(values['shed-max']);
  if (
    rates.some((r) => !(r > 0)) ||
    !(Number.isInteger(runs) && runs >= 1) ||
    !(durationS > 0) ||
    !Number.isInteger(seed) ||
    !(Number.isInteger(stopAfter) && stopAfter >= 0) ||
    !(Number.isInteger(verifyRuns) && verifyRuns >= 1) ||
    !(shedMax >= 2)
  ) {
    console.error(
      '--rates must be positive numbers, --runs and --verify-runs positive integers, --duration > 0 s, ' +
        '--seed an integer, --shed-max ≥ 2',
    );
    process.exit(2);
  }
  const outPath = resolve(values.out);
  const outRoot = join(ROOT, 'reports', 'out', `knee-${new Date().toISOString().replace(/[-:.]/g, '')}`);
  const warmups = scenario.phases.map((p) => p.warmup === true);
  const doc = {
    bench: 'knee',
    command: `npx tsx bench/knee.ts ${process.argv.slice(2).join(' ')}`.trim(),
    at: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version },
    loadAverageBefore: os.loadavg(),
    loadAverageAfter: [] as number[],
    scenario: scenario.name,
    seed,
    durationS,
    runsPerRate: runs,
    warmupS: warmupS ?? null,
    pinCore: values['pin-core'],
    /**
     * Runs taken again because a measured phase was disturbed (phase-cpu.ts `disturbance`).
     */
    disturbedRuns: [] as {
      rateQps: number;
      label: string;
      runId: string;
      machineStealShare: number | null;
      foreignCpuShare: number | null;
    }[],
    definition: { p99MaxMs: P99_MAX_MS, fullShareMin: FULL_SHARE_MIN, scenarioAssertions: true },
    rates: [] as KneeRate[],
    kneeQps: null as number | null,
    /** The first swept rate that missed after one that met (null: none did). */
    firstMissQps: null as number | null,
    reportsDir: outRoot,
    /** `--verify`: issue 10's checks around the knee (null: not asked, or no knee found). */
    verify: null as Verify | null,
  };
  const write = async () => {
    await mkdir(dirname(outPath), { recursive: true });
    await writeFile(outPath, `${JSON.stringify(doc, null, 2)}\n`);
  };
  /**
   * One live run at `rateQps`; a disturbed run (phase-cpu.ts `disturbance` in a measured phase: it
   * measured the machine's neighbours, not the core) is listed in `disturbedRuns` and taken once more.
   */
  const runAt = async (rateQps: number, label: string): Promise<KneeRun> => {
    const first = await runOnce(rateQps, label);
    const why = disturbance({ stealShare: first.machineStealShare, foreignShare: first.foreignCpuShare });
    if (!why) return first;
    doc.disturbedRuns.push({
      rateQps,
      label,
      runId: first.runId,
      machineStealShare: first.machineStealShare,
      foreignCpuShare: first.foreignCpuShare,
    });
    console.log(`${rateQps} QPS ${label}: ${why}, taken again`);
    return runOnce(rateQps, `${label} (again)`);
  };
  const runOnce = async (rateQps: number, label: string): Promise<KneeRun> => {
    const s = await runScenario({
      scenario,
      seed,
      infra: 'testcontainers',
      env: process.env,
      outRoot,
      cacheDir: join(ROOT, '.reclab', 'cache'),
      // As `reclab run --rate`: every phase's rates scaled so the busiest measured phase peaks at
      // the swept rate (the warm-up phase scales with it).
      rateScale: rateQps / peakMeasuredRateQps(scenario),
      measuredDurationS: durationS,
      pinCore: values['pin-core'],
      log: () => {},
    });
    const run = summariseRun(s.phases, warmups, s);
    console.log(
      `${rateQps} QPS ${label}: ${run.passed ? 'pass' : `FAIL (exit ${run.exitCode})`}, ` +
        `p50 ${run.p50Ms.toFixed(1)} ms p99 ${run.p99Ms.toFixed(1)} ms, full ${(run.fullShare * 100).toFixed(1)}%, ` +
        `200 ${(run.ok200Share * 100).toFixed(2)}%, 5xx ${run.errors5xx} (503 ${run.errors503}), ` +
        `off full without a reason ${run.unexplainedDegraded}; CPU/request core ${run.coreCpuUsPerRequest} µs ` +
        `(main thread ${run.coreMainThreadUsPerRequest} µs), ` +
        `load generator ${run.loadGenCpuUsPerRequest} µs; steal ${run.machineStealShare}; rungs ${JSON.stringify(run.rungs)}`,
    );
    return run;
  };
  let missesInRow = 0;
  for (const rateQps of rates) {
    const row: KneeRate = { rateQps, meets: false, runs: [] };
    doc.rates.push(row);
    for (let r = 0; r < runs; r++) {
      row.runs.push(await runAt(rateQps, `run ${r + 1}/${runs}`));
      row.meets = row.runs.every((x) => x.passed && x.kneeOk);
      await write();
    }
    if (row.meets) {
      doc.kneeQps = Math.max(doc.kneeQps ?? 0, rateQps);
      missesInRow = 0;
    } else {
      if (doc.kneeQps !== null && doc.firstMissQps === null) doc.firstMissQps = rateQps;
      missesInRow++;
      if (stopAfter > 0 && missesInRow >= stopAfter) break;
    }
  }
  console.log(`knee: ${doc.kneeQps ?? 'none'} QPS (first miss above it: ${doc.firstMissQps ?? '-'})`);

  if (values.verify && doc.kneeQps !== null) {
    const k = doc.kneeQps;
    const v: Verify = {
      stable: { rateQps: Math.round(0.9 * k), runs: [], meets: false },
      brownout: { rateQps: 2 * k, runs: [], meets: false },
      shed: { rates: [], shedOnsetQps: null },
    };
    doc.verify = v;
    for (let r = 0; r < verifyRuns; r++) {
      v.stable.runs.push(await runAt(v.stable.rateQps, `stable ${r + 1}/${verifyRuns}`));
      v.stable.meets = v.stable.runs.every((x) => x.minPhaseFullShare >= FULL_SHARE_MIN);
      await write();
    }
    for (let r = 0; r < verifyRuns; r++) {
      v.brownout.runs.push(await runAt(v.brownout.rateQps, `brownout ${r + 1}/${verifyRuns}`));
      v.brownout.meets = v.brownout.runs.every(
        (x) => x.ok200Share >= BROWNOUT_OK_SHARE_MIN && x.p99Ms <= P99_MAX_MS && x.unexplainedDegraded === 0,
      );
      await write();
    }
    // Upward from 2 K until the core sheds: the rate where even the cheapest rung no longer fits.
    for (let rate = 2 * k; rate <= shedMax * k; rate = Math.round(rate * 1.5)) {
      const run = rate === v.brownout.rateQps ? v.brownout.runs[0] : await runAt(rate, 'shed search');
      v.shed.rates.push({
        rateQps: rate,
        shedShare: run.shedShare,
        popularityBrownoutShare: run.popularityBrownoutShare,
        runId: run.runId,
      });
      await write();
      if (run.errors503 > 0) {
        v.shed.shedOnsetQps = rate;
        break;
      }
    }
    console.log(
      `stable at ${v.stable.rateQps} QPS: ${v.stable.meets ? 'met' : 'MISSED'}; brownout at ${v.brownout.rateQps} QPS: ` +
        `${v.brownout.meets ? 'met' : 'MISSED'}; first 503s at ${v.shed.shedOnsetQps ?? `none up to ${shedMax * k}`} QPS`,
    );
  }
  doc.loadAverageAfter = os.loadavg();
  await write();
  console.log(`wrote ${outPath}`);
  const verifyFailed = doc.verify !== null && !(doc.verify.stable.meets && doc.verify.brownout.meets);
  process.exitCode = doc.kneeQps === null || verifyFailed ? 3 : 0;
}

// The runner's collections must not take the CPU of the core it measures (loadtest/lab-gc.ts).
await ensureLabGc();
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
