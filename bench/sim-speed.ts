/**
 * Simulator speed (issue 13): simulated seconds per wall second, scheduler events per second and
 * peak RSS of `simulate()` at a fleet-scale rate, on one core when `taskset` pins it. Each rate runs
 * in its own child process so peak RSS is per run. Writes bench/out/sim-speed.json.
 *
 *   npx tsx bench/sim-speed.ts [--scenario baseline] [--qps 50000] [--replicas 260] [--redis-shards 32]
 *                              [--ranker-nodes 0] [--fleet FILE] [--seed 7] [--pin 1] [--out bench/out/sim-speed.json]
 *
 * `--fleet` takes a fleet file (e.g. the one `reclab plan` wrote) instead of the size options.
 *
 * Target: ≥ 1 simulated second per wall second at 50K QPS on one core, peak RSS < 1 GiB.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { machineInfo } from '../reports/machine.ts';

const { values: a } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'baseline' },
    qps: { type: 'string', default: '50000' },
    replicas: { type: 'string', default: '260' },
    'redis-shards': { type: 'string', default: '32' },
    'ranker-nodes': { type: 'string', default: '0' },
    fleet: { type: 'string' },
    seed: { type: 'string', default: '7' },
    pin: { type: 'string', default: '1' },
    child: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/out/sim-speed.json' },
  },
});

if (a.child) {
  const { scenarios } = await import('../scenarios/index.ts');
  const { loadFleetFile, parseFleet } = await import('../sim/fleet/fleet-spec.ts');
  const { simulate } = await import('../sim/run/simulate.ts');
  const rankerNodes = Number(a['ranker-nodes']);
  const fleet = a.fleet
    ? loadFleetFile(a.fleet)
    : parseFleet({
        replicas: { count: Number(a.replicas), lb: 'p2c' },
        redis: { shards: Number(a['redis-shards']) },
        ...(rankerNodes > 0 ? { rankerPool: { nodes: rankerNodes } } : {}),
      });
  const t0 = performance.now();
  const run = simulate({
    scenario: scenarios[a.scenario!],
    fleet,
    seed: Number(a.seed),
    qps: Number(a.qps),
    reclabVersion: 'bench',
  });
  const wallS = (performance.now() - t0) / 1000;
  const r = run.result;
  const virtualS = (Date.parse(r.endedAt) - Date.parse(r.startedAt)) / 1000;
  process.stdout.write(
    `${JSON.stringify({
      virtualS,
      wallS: Number(wallS.toFixed(3)),
      simulatedPerWallS: Number((virtualS / wallS).toFixed(3)),
      events: run.events,
      eventsPerWallS: Math.round(run.events / wallS),
      requests: run.requests,
      fleet: {
        name: r.fleet!.name,
        replicas: r.fleet!.replicas,
        redisShards: r.fleet!.redisShards,
        rankerNodes: r.fleet!.rankerNodes,
      },
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      traceHash: run.traceHash,
      outcome: r.outcome,
      phases: r.phases.map((p) => ({
        name: p.name,
        offeredQps: p.offeredQps,
        p99Ms: p.latencyMs.p99,
        rungCounts: p.rungCounts,
      })),
    })}\n`,
  );
} else {
  const pin =
    a.pin !== 'none' && spawnSync('taskset', ['--version']).status === 0 ? ['taskset', '-c', a.pin!] : [];
  const args = [...process.argv.slice(2), '--child'];
  const cmd = [...pin, process.execPath, '--import', 'tsx', 'bench/sim-speed.ts', ...args];
  const out = execFileSync(cmd[0], cmd.slice(1), { encoding: 'utf8', maxBuffer: 1 << 24 });
  const result = JSON.parse(out.trim().split('\n').at(-1)!);
  const record = {
    bench: 'sim-speed',
    command: `npx tsx bench/sim-speed.ts ${process.argv.slice(2).join(' ')}`.trim(),
    pinnedToCpu: pin.length ? a.pin : null,
    scenario: a.scenario,
    qps: Number(a.qps),
    fleet: result.fleet,
    seed: Number(a.seed),
    machine: machineInfo(),
    result,
    targets: { simulatedPerWallS: '>= 1', peakRssMiB: '< 1024' },
    meetsTargets: result.simulatedPerWallS >= 1 && result.peakRssMiB < 1024,
  };
  mkdirSync(dirname(resolve(a.out!)), { recursive: true });
  writeFileSync(resolve(a.out!), `${JSON.stringify(record, null, 2)}\n`);
  process.stdout.write(
    `${JSON.stringify({ ...record.result, phases: undefined, meetsTargets: record.meetsTargets, loadAverage: record.machine.loadAverage })}\n`,
  );
}
