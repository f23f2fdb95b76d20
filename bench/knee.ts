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
 *        [--duration 20] [--seed 7] [--stop-after 2] [--out bench/out/knee.json]
 *
 * `--duration` sets each measured phase's length, s;
 * `--stop-after N` ends the sweep after N rates in a row that miss (0: sweep every rate). Time is
 * bounded: about runs × rates × (duration + ≈ 40 s of container and core start-up). Run it alone on
 * the machine (under the machine's load lock, when it has one): it measures CPU.
 *
 * Per rate and run it records, over the measured phases: p50/p99 (ms, from the intended send time),
 * the rung mix, 5xx and 503 counts, the core's CPU per request (from /proc/<core pid>/stat,
 * loadtest/phase-cpu.ts) and the load generator's (the runner process: driver, response handling,
 * simulated users). Output: `bench/out/knee.json` (rewritten after every run, so a long sweep can be
 * polled), with the machine, load averages and the command. Exit 0 when a knee was found, 3 when no
 * rate met the definition, 1 on a crash.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type RunPhase, runScenario } from '../loadtest/run.ts';
import { scenarios } from '../scenarios/index.ts';
import { peakMeasuredRateQps } from '../scenarios/scale.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The knee definition (issue 10). */
const P99_MAX_MS = 200;
const FULL_SHARE_MIN = 0.99;

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
  rungs: Record<string, number>;
  errors5xx: number;
  errors503: number;
  transportErrors: number;
  coreCpuUsPerRequest: number | null;
  /** The core's main thread (event loop) alone, µs per request. */
  coreMainThreadUsPerRequest: number | null;
  loadGenCpuUsPerRequest: number | null;
  /** Runner CPU after the phase, scoring the served lists (not part of the phase), ms. */
  scoringAfterPhaseMs: number | null;
  loadAverage: number[];
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
    rungs,
    errors5xx: sum(measured.map((p) => p.statusCounts['5xx'])),
    errors503: sum(measured.map((p) => p.shed)),
    transportErrors: sum(measured.map((p) => p.statusCounts.errors + p.statusCounts.timeouts)),
    coreCpuUsPerRequest: perRequest((p) => p.cpu?.coreMs),
    coreMainThreadUsPerRequest: perRequest((p) => p.cpu?.coreMainThreadMs),
    loadGenCpuUsPerRequest: perRequest((p) => p.cpu?.runnerMs),
    scoringAfterPhaseMs: measured.every((p) => p.cpu?.scoringAfterPhaseMs !== undefined)
      ? Number(sum(measured.map((p) => p.cpu!.scoringAfterPhaseMs!)).toFixed(1))
      : null,
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
      out: { type: 'string', default: join(ROOT, 'bench', 'out', 'knee.json') },
    },
  });
  const scenario = scenarios[values.scenario];
  if (!scenario) {
    console.error(`unknown scenario '${values.scenario}'; known: ${Object.keys(scenarios).join(', ')}`);
    process.exit(2);
  }
  const rates = values.rates.split(',').map(Number);
  const runs = Number(values.runs);
  const durationS = Number(values.duration);
  const seed = Number(values.seed);
  const stopAfter = Number(values['stop-after']);
  if (
    rates.some((r) => !(r > 0)) ||
    !(Number.isInteger(runs) && runs >= 1) ||
    !(durationS > 0) ||
    !Number.isInteger(seed) ||
    !(Number.isInteger(stopAfter) && stopAfter >= 0)
  ) {
    console.error(
      '--rates must be positive numbers, --runs a positive integer, --duration > 0 s, --seed an integer',
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
    definition: { p99MaxMs: P99_MAX_MS, fullShareMin: FULL_SHARE_MIN, scenarioAssertions: true },
    rates: [] as KneeRate[],
    kneeQps: null as number | null,
    /** The first swept rate that missed after one that met (null: none did). */
    firstMissQps: null as number | null,
    reportsDir: outRoot,
  };
  const write = async () => {
    await mkdir(dirname(outPath), { recursive: true });
    await writeFile(outPath, `${JSON.stringify(doc, null, 2)}\n`);
  };
  let missesInRow = 0;
  for (const rateQps of rates) {
    const row: KneeRate = { rateQps, meets: false, runs: [] };
    doc.rates.push(row);
    for (let r = 0; r < runs; r++) {
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
        log: () => {},
      });
      const run = summariseRun(s.phases, warmups, s);
      row.runs.push(run);
      row.meets = row.runs.every((x) => x.passed && x.kneeOk);
      console.log(
        `${rateQps} QPS run ${r + 1}/${runs}: ${run.passed ? 'pass' : `FAIL (exit ${run.exitCode})`}, ` +
          `p50 ${run.p50Ms.toFixed(1)} ms p99 ${run.p99Ms.toFixed(1)} ms, full ${(run.fullShare * 100).toFixed(1)}%, ` +
          `5xx ${run.errors5xx} (503 ${run.errors503}); CPU/request core ${run.coreCpuUsPerRequest} µs ` +
          `(main thread ${run.coreMainThreadUsPerRequest} µs), ` +
          `load generator ${run.loadGenCpuUsPerRequest} µs; rungs ${JSON.stringify(run.rungs)}`,
      );
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
  doc.loadAverageAfter = os.loadavg();
  await write();
  console.log(
    `knee: ${doc.kneeQps ?? 'none'} QPS (first miss above it: ${doc.firstMissQps ?? '-'}); wrote ${outPath}`,
  );
  process.exitCode = doc.kneeQps === null ? 3 : 0;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
