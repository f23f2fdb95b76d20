import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scenarios } from '../../scenarios/index.ts';
import { DEFAULT_FLEET, loadFleetFile } from '../../sim/fleet/fleet-spec.ts';
import { plan } from '../../sim/run/plan.ts';
import { runPlanCommand } from '../../sim/run/plan-command.ts';
import { simulate } from '../../sim/run/simulate.ts';

const common = { scenario: scenarios.baseline, fleet: DEFAULT_FLEET, qps: 2000, seed: 7, durationScale: 0.3 };

describe('reclab plan', () => {
  it('finds a passing fleet that no pool can shrink by 10% without failing or passing 85% utilisation', () => {
    const p = plan({ ...common, budgetP99Ms: 200 });
    expect(p.passed).toBe(true);
    expect(p.final.result.exitCode).toBe(0);
    const byPool = Object.fromEntries(p.rows.map((r) => [r.pool, r]));
    expect(byPool.replicas.size).toBe(p.fleet.replicas.count);
    expect(byPool.redis_shards.size).toBe(p.fleet.redis.shards);
    for (const r of p.rows) {
      expect(r.utilisation).toBeLessThanOrEqual(0.85);
      expect(r.headroom).toBeCloseTo(1 - r.utilisation, 3);
    }
    expect(p.saturatesFirst).toBe([...p.rows].sort((a, b) => b.utilisation - a.utilisation)[0].pool);
    // Minimal: 10% fewer replicas either fails or goes past the utilisation ceiling.
    const fewer = Math.floor(p.fleet.replicas.count * 0.9);
    if (fewer >= 1 && fewer < p.fleet.replicas.count) {
      const r = simulate({
        ...common,
        scenario: {
          ...common.scenario,
          assertions: [
            ...common.scenario.assertions,
            { metric: 'http_req_duration', stat: 'p(99)', op: '<=', value: 200 },
          ],
        },
        fleet: { ...p.fleet, replicas: { ...p.fleet.replicas, count: fewer } },
        reclabVersion: 'test',
      });
      const cpu = Math.max(
        ...r.result.phases
          .filter((x) => !x.warmup)
          .map((x) => r.result.fleet!.utilisation[x.name].replicaCpu),
      );
      expect(r.result.exitCode !== 0 || cpu > 0.85).toBe(true);
    }
  });

  it('stops and says why when more machines would not help (a 1 ms p99 budget)', () => {
    const p = plan({ ...common, budgetP99Ms: 1, maxRuns: 4 });
    expect(p.passed).toBe(false);
    expect(p.reason).toMatch(/more machines would not help/);
    expect(p.steps.length).toBeLessThan(4);
  });

  it('writes a fleet file that reclab sim reads back, and exits 0', async () => {
    const outRoot = await mkdtemp(join(tmpdir(), 'plan-'));
    const lines: string[] = [];
    const { exitCode, dir } = await runPlanCommand({
      ...common,
      scenarioArg: 'baseline',
      budgetP99Ms: 200,
      outRoot,
      out: (l) => lines.push(l),
    });
    expect(exitCode).toBe(0);
    const fleet = loadFleetFile(join(dir, 'fleet.json'));
    const saved = JSON.parse(await readFile(join(dir, 'plan.json'), 'utf8'));
    expect(fleet.replicas.count).toBe(saved.rows.find((r: { pool: string }) => r.pool === 'replicas').size);
    expect(lines.join('\n')).toMatch(/saturates first: (replicas|redis_shards)/);
  });
});
