/**
 * `reclab plan <scenario> --qps N --budget-p99 MS`: runs `plan()` and prints each pool's size,
 * utilisation and headroom, the pool that saturates first, and the search's runs. Writes into
 * `<out>/<scenario>-plan-s<seed>-q<qps>/`: `fleet.json` (a fleet file `reclab sim --fleet` reads),
 * `plan.json` (rows and steps) and the chosen fleet's `summary.json`. Exit 0 when a passing fleet
 * was found, 3 when none was (docs/exit-codes.md).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assertionLine } from '../../reports/console.ts';
import { writeRunReports } from '../../reports/write.ts';
import type { ScenarioDefinition } from '../../scenarios/define.ts';
import type { FleetSpec } from '../fleet/fleet-spec.ts';
import type { RungQualityTable } from '../quality/surrogate.ts';
import { type Plan, plan } from './plan.ts';

export interface PlanCommandOptions {
  scenario: ScenarioDefinition;
  scenarioArg: string;
  fleet: FleetSpec;
  qps: number;
  budgetP99Ms: number;
  seed: number;
  durationScale?: number;
  maxRuns?: number;
  /** The fleet runs' quality surrogate (`--quality-from`): quality assertions are checked too. */
  qualityTable?: RungQualityTable;
  /** `--quality-from` as given, for the replay command. */
  qualityFromArg?: string;
  outRoot: string;
  out: (line: string) => void;
}

const pct = (x: number) => `${(x * 100).toFixed(0)}%`;

export async function runPlanCommand(
  o: PlanCommandOptions,
): Promise<{ exitCode: number; plan: Plan; dir: string }> {
  o.out(
    `planning ${o.scenario.name} at ${o.qps} QPS, p99 ≤ ${o.budgetP99Ms} ms, seed ${o.seed}` +
      (o.durationScale ? `, duration × ${o.durationScale}` : ''),
  );
  const p = plan({
    scenario: o.scenario,
    fleet: o.fleet,
    qps: o.qps,
    budgetP99Ms: o.budgetP99Ms,
    seed: o.seed,
    durationScale: o.durationScale,
    maxRuns: o.maxRuns,
    qualityTable: o.qualityTable,
    log: o.out,
  });
  const dir = join(o.outRoot, `${o.scenario.name}-plan-s${o.seed}-q${o.qps}`);
  await mkdir(dir, { recursive: true });
  const fleetFile = { ...p.fleet, name: `${o.scenario.name}-q${o.qps}-p99-${o.budgetP99Ms}` };
  await writeFile(join(dir, 'fleet.json'), `${JSON.stringify(fleetFile, null, 2)}\n`);
  const { final, fleet: _fleet, ...rest } = p; // the fleet is fleet.json, the run is summary.json
  const header = { scenario: o.scenario.name, qps: o.qps, budgetP99Ms: o.budgetP99Ms, seed: o.seed };
  await writeFile(
    join(dir, 'plan.json'),
    `${JSON.stringify({ ...header, durationScale: o.durationScale ?? 1, ...rest }, null, 2)}\n`,
  );
  await writeRunReports(dir, final.result);

  o.out('');
  o.out(p.passed ? 'smallest passing fleet found:' : `no passing fleet: ${p.reason}`);
  o.out(`${'pool'.padEnd(14)}${'size'.padStart(8)}${'utilisation'.padStart(14)}${'headroom'.padStart(11)}`);
  for (const r of p.rows) {
    o.out(
      `${r.pool.padEnd(14)}${String(r.size).padStart(8)}${pct(r.utilisation).padStart(14)}${pct(r.headroom).padStart(11)}`,
    );
  }
  o.out(
    `saturates first: ${p.saturatesFirst} (at about ${p.saturationQpsEstimate} QPS if load scaled linearly)`,
  );
  o.out(`utilisation: the busiest measured phase's; the ranker's is rows ÷ its full-batch throughput`);
  for (const a of final.result.assertions) o.out(`  ${assertionLine(a)}`); // a skipped assertion says so: it did not pass at 0
  o.out(`${p.steps.length} simulated runs; fleet file: ${join(dir, 'fleet.json')}`);
  o.out(
    `check it: npm run reclab -- sim ${o.scenarioArg} --qps ${o.qps} --seed ${o.seed} --fleet ${join(dir, 'fleet.json')}` +
      (o.durationScale ? ` --duration-scale ${o.durationScale}` : '') +
      (o.qualityFromArg ? ` --quality-from ${o.qualityFromArg}` : ''),
  );
  return { exitCode: p.passed ? 0 : 3, plan: p, dir };
}
