/**
 * The simulator against the live core (issue 13, "Validation against live"): the baseline world at
 * three arrival rates this machine sustains live — low, near the knee, past it — run live (real
 * Redis, Kafka, FAISS, ONNX Runtime; open-model load) and simulated on the calibrated
 * single-replica fleet (`reclab calibrate`'s fleet.json), same scenario and seed. For each rate:
 * p50 and p99 (ms, measured phase, warm-up excluded), the 503 share and the share of 200s not on
 * `full`, and sim ÷ live ratios. Writes bench/out/sim-validation.json. Holds no lock itself: run it
 * under the machine's load lock, alone.
 *
 *   npx tsx bench/sim-validation.ts [--fleet .reclab/calibration/fleet.json] [--rates 100,350,600]
 *                                   [--duration 30] [--seed 7] [--out bench/out/sim-validation.json]
 *
 * Target: sim p50 and p99 within 15% of live at each rate; past the knee the 503 or degraded share
 * matches too.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runScenario } from '../loadtest/run.ts';
import { machineInfo } from '../reports/machine.ts';
import type { StatusCounts } from '../reports/model.ts';
import { MEASURED_PHASE, measuredBaseline } from '../sim/calibrate/measured-scenario.ts';
import { loadFleetFile } from '../sim/fleet/fleet-spec.ts';
import { simulate } from '../sim/run/simulate.ts';

const ROOT = resolve(import.meta.dirname, '..');
const { values: a } = parseArgs({
  options: {
    fleet: { type: 'string', default: resolve(ROOT, '.reclab/calibration/fleet.json') },
    rates: { type: 'string', default: '100,350,600' },
    duration: { type: 'string', default: '30' },
    seed: { type: 'string', default: '7' },
    out: { type: 'string', default: 'bench/out/sim-validation.json' },
  },
});

interface Side {
  p50Ms: number;
  p99Ms: number;
  /** 503 responses ÷ requests. */
  shedShare: number;
  /** 200 responses not on `full` ÷ 200 responses. */
  degradedShare: number;
  requests: number;
}

function side(p: {
  latencyMs: { p50: number; p99: number };
  statusCounts: StatusCounts;
  rungCounts: Record<string, number>;
}): Side {
  const st = p.statusCounts;
  const requests = st['2xx'] + (st['3xx'] ?? 0) + st['4xx'] + st['5xx'] + st.errors + st.timeouts;
  const ok = st['2xx'];
  const full = p.rungCounts.full ?? 0;
  return {
    p50Ms: p.latencyMs.p50,
    p99Ms: p.latencyMs.p99,
    shedShare: requests ? (st.shed ?? st['5xx']) / requests : 0,
    degradedShare: ok ? (ok - full) / ok : 0,
    requests,
  };
}

const fleet = loadFleetFile(a.fleet);
const seed = Number(a.seed);
const durationS = Number(a.duration);
const rows = [];
for (const rate of a.rates.split(',').map(Number)) {
  const scenario = measuredBaseline(`validation-${rate}`, rate, durationS);
  const live = await runScenario({
    scenario,
    seed,
    infra: 'testcontainers',
    env: process.env,
    outRoot: resolve(ROOT, 'reports/out'),
    cacheDir: resolve(ROOT, '.reclab/cache'),
    log: (l) => process.stdout.write(`${l}\n`),
  });
  const sim = simulate({ scenario, fleet, seed, reclabVersion: 'bench' });
  const lp = live.phases.find((p) => p.phase === MEASURED_PHASE)!;
  const sp = sim.result.phases.find((p) => p.name === MEASURED_PHASE)!;
  const l = side(lp);
  const s = side(sp);
  const row = {
    rateQps: rate,
    live: l,
    sim: s,
    p50Ratio: Math.round((s.p50Ms / l.p50Ms) * 1000) / 1000,
    p99Ratio: Math.round((s.p99Ms / l.p99Ms) * 1000) / 1000,
    within15: Math.abs(s.p50Ms / l.p50Ms - 1) <= 0.15 && Math.abs(s.p99Ms / l.p99Ms - 1) <= 0.15,
    /** The live core's event loop: CPU per request, and its run-queue wait ÷ its CPU (contention). */
    liveMainThreadUsPerRequest: lp.cpu?.coreMainThreadUsPerRequest ?? null,
    liveRunDelayShare:
      lp.cpu?.coreMainThreadRunDelayMs !== undefined && lp.cpu.coreMainThreadMs
        ? Math.round((lp.cpu.coreMainThreadRunDelayMs / lp.cpu.coreMainThreadMs) * 1000) / 1000
        : null,
    liveMainThreadRunsPerS:
      lp.cpu?.coreMainThreadRuns !== undefined ? Math.round(lp.cpu.coreMainThreadRuns / lp.cpu.wallS) : null,
    liveMainThreadMs: lp.cpu?.coreMainThreadMs ?? null,
    liveRunDelayMs: lp.cpu?.coreMainThreadRunDelayMs ?? null,
    liveWallS: lp.cpu?.wallS ?? null,
    simReplicaUtilisation: sim.result.fleet?.utilisation[MEASURED_PHASE]?.replicaCpu ?? null,
    liveExitCode: live.exitCode,
  };
  rows.push(row);
  process.stdout.write(`${JSON.stringify(row)}\n`);
}
const out = resolve(ROOT, a.out);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  `${JSON.stringify({ bench: 'sim-validation', machine: machineInfo(), fleet: a.fleet, seed, durationS, rows }, null, 2)}\n`,
);
process.stdout.write(`wrote ${out}\n`);
