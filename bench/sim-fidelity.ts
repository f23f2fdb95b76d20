/**
 * The fleet run against the high-fidelity run (issue 13: `--fidelity high` "proves the surrogate
 * honest: quality and rung mix within stated tolerances"). For each scenario, same seed, same
 * fleet: a `--fidelity high` run (the real recommend() and models, lists scored against ground
 * truth) and a fleet run whose quality is the surrogate (sim/quality/surrogate.ts) built from the
 * per-rung quality of all the high-fidelity runs of this bench (one world: the seed's). Per
 * measured phase: the rung mix of both and its largest difference, p50/p99 of both, and the
 * expected watch time per list and NDCG@10, measured against surrogate. Also the high-fidelity
 * run's speed (simulated ÷ wall seconds). Writes bench/out/sim-fidelity.json.
 *
 *   npx tsx bench/sim-fidelity.ts [--scenarios baseline,gpu-outage,redis-failure] [--seed 7]
 *                                 [--fleet FILE] [--out bench/out/sim-fidelity.json]
 *
 * Stated tolerances (docs/simulator.md, "High fidelity"): rung shares within 3 points per phase;
 * surrogate expected watch time within 10% of the measured one per phase.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { machineInfo } from '../reports/machine.ts';
import type { RunResult } from '../reports/model.ts';
import { coreEnvOf } from '../scenarios/core-settings.ts';
import { builtInScenario } from '../scenarios/index.ts';
import { rungMix } from '../scenarios/rung-mix.ts';
import { DEFAULT_FLEET, loadFleetFile } from '../sim/fleet/fleet-spec.ts';
import { prepareHifi } from '../sim/hifi/prepare.ts';
import { simulateHigh } from '../sim/hifi/simulate-high.ts';
import { rungQualityTable } from '../sim/quality/surrogate.ts';
import { simulate } from '../sim/run/simulate.ts';

const ROOT = resolve(import.meta.dirname, '..');
const { values: a } = parseArgs({
  options: {
    scenarios: { type: 'string', default: 'baseline,gpu-outage,redis-failure' },
    seed: { type: 'string', default: '7' },
    fleet: { type: 'string' },
    out: { type: 'string', default: 'bench/out/sim-fidelity.json' },
  },
});
const seed = Number(a.seed);
const fleet = a.fleet ? loadFleetFile(resolve(a.fleet)) : DEFAULT_FLEET;
const names = a.scenarios!.split(',');
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

const mixOf = (rungCounts: Record<string, number>) =>
  Object.fromEntries(rungMix(rungCounts).map(([k, share]) => [k, round(share, 4)]));

// 1. The high-fidelity runs (one world: the seed's).
const high: { scenario: string; result: RunResult; speed: number }[] = [];
for (const name of names) {
  const scenario = builtInScenario(name);
  if (!scenario) throw new Error(`unknown scenario ${name}`);
  const hifi = await prepareHifi({
    scenario,
    seed,
    cacheDir: resolve(ROOT, '.reclab/cache'),
    coreEnv: { ...coreEnvOf(scenario.core), ...fleet.coreEnv },
    log: (l) => process.stderr.write(`${l}\n`),
  });
  const t0 = performance.now();
  const run = await simulateHigh({ scenario, fleet, seed, reclabVersion: 'bench' }, hifi);
  const wallS = (performance.now() - t0) / 1000;
  await hifi.release();
  const virtualS = (Date.parse(run.result.endedAt) - Date.parse(run.result.startedAt)) / 1000;
  high.push({ scenario: name, result: run.result, speed: round(virtualS / wallS, 2) });
  process.stderr.write(`${name}: high fidelity ${round(virtualS / wallS, 2)}× real time\n`);
}
const table = rungQualityTable(high.map((h) => h.result));

// 2. The fleet runs with the surrogate, phase by phase against the high-fidelity runs.
const rows = high.map((h) => {
  const scenario = builtInScenario(h.scenario)!;
  const fleetRun = simulate({ scenario, fleet, seed, reclabVersion: 'bench', qualityTable: table });
  const phases = h.result.phases
    .filter((p) => !p.warmup)
    .map((hp) => {
      const fp = fleetRun.result.phases.find((p) => p.name === hp.name)!;
      const hm = mixOf(hp.rungCounts);
      const fm = mixOf(fp.rungCounts);
      const rungs = new Set([...Object.keys(hm), ...Object.keys(fm)]);
      const maxDiff = Math.max(...[...rungs].map((r) => Math.abs((hm[r] ?? 0) - (fm[r] ?? 0))));
      const measured = h.result.quality!.served.byPhase[hp.name].overall.metrics;
      const surrogate = fleetRun.surrogate!.byPhase[hp.name].overall.metrics;
      return {
        phase: hp.name,
        rungMix: { high: hm, fleet: fm, maxDiff: round(maxDiff, 4) },
        latencyMs: {
          high: { p50: hp.latencyMs.p50, p99: hp.latencyMs.p99 },
          fleet: { p50: fp.latencyMs.p50, p99: fp.latencyMs.p99 },
        },
        expectedWatchTimeS: {
          measured: round(measured.expectedWatchTimeS.mean, 1),
          surrogate: round(surrogate.expectedWatchTimeS.mean, 1),
          ratio: round(surrogate.expectedWatchTimeS.mean / measured.expectedWatchTimeS.mean),
        },
        ndcgAt10: { measured: round(measured.ndcgAt10.mean), surrogate: round(surrogate.ndcgAt10.mean) },
      };
    });
  return { scenario: h.scenario, highFidelitySpeed: h.speed, phases };
});

const out = resolve(ROOT, a.out!);
mkdirSync(dirname(out), { recursive: true });
const m = machineInfo();
writeFileSync(
  out,
  `${JSON.stringify(
    {
      bench: 'sim-fidelity',
      command: `npx tsx bench/sim-fidelity.ts --scenarios ${a.scenarios} --seed ${seed}${a.fleet ? ` --fleet ${a.fleet}` : ''}`,
      machine: { cpus: m.cpus, cpuModel: m.cpuModel, node: process.version },
      seed,
      fleet: fleet.name,
      qualityTable: table,
      scenarios: rows,
    },
    null,
    2,
  )}\n`,
);
for (const r of rows) {
  for (const p of r.phases)
    console.log(
      `${r.scenario.padEnd(14)} ${p.phase.padEnd(11)} rung mix max diff ${(p.rungMix.maxDiff * 100).toFixed(1)} pt  ` +
        `p99 ${p.latencyMs.fleet.p99.toFixed(1)} vs ${p.latencyMs.high.p99.toFixed(1)} ms  ` +
        `watch time surrogate ${p.expectedWatchTimeS.surrogate} vs measured ${p.expectedWatchTimeS.measured} s (${p.expectedWatchTimeS.ratio})`,
    );
}
console.log(`wrote ${out}`);
