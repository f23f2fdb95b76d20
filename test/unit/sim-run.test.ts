import { readFileSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../core/random/seeded-random.ts';
import { defineScenario } from '../../scenarios/define.ts';
import { scenarios } from '../../scenarios/index.ts';
import { EventScheduler } from '../../sim/engine/scheduler.ts';
import { samplerOf } from '../../sim/fleet/distributions.ts';
import { FifoServer } from '../../sim/fleet/fifo-server.ts';
import { parseFleet } from '../../sim/fleet/fleet-spec.ts';
import { runSimCommand } from '../../sim/run/sim-command.ts';
import { simulate } from '../../sim/run/simulate.ts';

const small = parseFleet({ replicas: { count: 4 }, redis: { shards: 2 }, rankerPool: { nodes: 4 } });
const quick = (name: string, seed = 7, fleet = small) =>
  simulate({ scenario: scenarios[name], fleet, seed, qps: 600, durationScale: 0.5, reclabVersion: 'test' });

describe('simulate: determinism', () => {
  it('the same seed gives the same trace hash and a byte-identical summary.json', async () => {
    const out = (_: string) => {};
    const dirs = [await mkdtemp(join(tmpdir(), 'sim-a-')), await mkdtemp(join(tmpdir(), 'sim-b-'))];
    const texts: string[] = [];
    for (const outRoot of dirs) {
      const { dir, run } = await runSimCommand({
        scenario: scenarios['gpu-outage'],
        scenarioArg: 'gpu-outage',
        fleet: small,
        seed: 11,
        qps: 600,
        durationScale: 0.5,
        outRoot,
        reclabVersion: 'test',
        progressEveryS: 1000,
        out,
        wallMs: () => 0,
      });
      expect(run.requests).toBeGreaterThan(5000);
      texts.push(await readFile(join(dir, 'summary.json'), 'utf8'));
    }
    expect(texts[0]).toBe(texts[1]);
  });

  it('a different seed gives a different trace hash', () => {
    expect(quick('baseline', 1).traceHash).not.toBe(quick('baseline', 2).traceHash);
    expect(quick('baseline', 1).traceHash).toBe(quick('baseline', 1).traceHash);
  });
});

describe('simulate: the core decides, rung by rung', () => {
  it('ranker outage: full, then light_ranker while the pool is down, then back to full', () => {
    const { result } = quick('gpu-outage');
    const share = (phase: string, rung: string) => {
      const p = result.phases.find((x) => x.name === phase)!;
      return (p.rungCounts[rung] ?? 0) / p.statusCounts['2xx'];
    };
    expect(share('steady', 'full')).toBeGreaterThan(0.99);
    expect(share('outage', 'light_ranker')).toBeGreaterThan(0.9);
    expect(share('recovery', 'full')).toBeGreaterThan(0.5);
    expect(result.phases.find((p) => p.name === 'outage')!.reasonCounts).toHaveProperty(
      'ranking RECLAB_ERR_RANKER_UNAVAILABLE',
    );
    expect(result.exitCode).toBe(0);
  });

  it('Redis stopped: the popularity rung with the user-context reason, zero 5xx', () => {
    const { result } = quick('redis-failure');
    const outage = result.phases.find((p) => p.name === 'outage')!;
    expect(outage.rungCounts.popularity).toBe(outage.statusCounts['2xx']);
    expect(outage.statusCounts['5xx']).toBe(0);
    expect(Object.keys(outage.reasonCounts ?? {}).some((k) => k.startsWith('user_context '))).toBe(true);
  });

  it('past the fleet capacity the bulkhead sheds with 503, as the live core does', () => {
    const one = parseFleet({ replicas: { count: 1 } });
    const { result } = simulate({
      scenario: scenarios.baseline,
      fleet: one,
      seed: 3,
      qps: 1500,
      durationScale: 0.5,
      reclabVersion: 'test',
    });
    const steady = result.phases.find((p) => p.name === 'steady')!;
    expect(steady.statusCounts['5xx']).toBeGreaterThan(0);
    expect(result.exitCode).toBe(3);
  });
});

describe('simulate: honest failure', () => {
  it('a tightened assertion fails with exit 3 and names the phase', () => {
    const base = scenarios.baseline;
    const tight = defineScenario({
      ...base,
      assertions: [{ metric: 'http_req_duration', phase: 'steady', stat: 'p(99)', op: '<=', value: 0.5 }],
    });
    const { result } = simulate({
      scenario: tight,
      fleet: small,
      seed: 7,
      qps: 200,
      durationScale: 0.3,
      reclabVersion: 't',
    });
    expect(result.exitCode).toBe(3);
    expect(result.assertions[0]).toMatchObject({
      passed: false,
      expression: 'http_req_duration{phase:steady} p(99) <= 0.5',
    });
  });

  it('a fault made worse in the fleet (a hung Redis shard) fails the run', () => {
    const hang = defineScenario({
      ...scenarios.baseline,
      phases: scenarios.baseline.phases.map((p) =>
        p.warmup ? p : { ...p, faults: [{ target: 'redis', kind: 'hang', fromS: 1, nodes: 1 }] },
      ),
    });
    const { result } = simulate({
      scenario: hang,
      fleet: small,
      seed: 7,
      qps: 200,
      durationScale: 0.3,
      reclabVersion: 't',
    });
    expect(result.exitCode).toBe(3);
  });

  it('an invalid fleet file lists every problem with its code', () => {
    expect(() => parseFleet({ replicas: { count: 0, lb: 'random' }, redis: { shards: -1 } })).toThrow(
      /RECLAB_ERR_SIM_FLEET_INVALID[\s\S]*count[\s\S]*lb[\s\S]*shards/,
    );
  });
});

describe('the queue model against queueing theory', () => {
  it('M/M/1 at ρ = 0.8: mean time in system 1/(μ − λ) within 5%', () => {
    const s = new EventScheduler();
    const server = new FifoServer();
    const r = seededRandom(5);
    const inter = samplerOf({ kind: 'exponential', meanUs: 1250 }, r.stream('a')); // λ = 800/s
    const service = samplerOf({ kind: 'exponential', meanUs: 1000 }, r.stream('s')); // μ = 1000/s
    let total = 0;
    let n = 0;
    let t = 0;
    for (let i = 0; i < 400_000; i++) {
      t += inter();
      const arrive = t;
      s.at(arrive, () => {
        const end = server.submit(s.nowUs, service());
        s.at(end, () => {
          total += s.nowUs - arrive;
          n++;
        });
      });
    }
    s.runUntil(Number.MAX_SAFE_INTEGER);
    const expectedUs = 1e6 / (1000 - 800); // 5 ms
    expect(Math.abs(total / n - expectedUs) / expectedUs).toBeLessThan(0.05);
  });
});

describe('nothing in the simulator reads wall time or an unseeded random', () => {
  it('sim/engine, sim/fleet and sim/run use none of the forbidden APIs (outside the guard itself)', async () => {
    const { readdirSync } = await import('node:fs');
    const forbidden =
      /\b(Date\.now|performance\.now|Math\.random|randomUUID|setTimeout|setInterval|setImmediate|process\.hrtime|new Date\(\))/;
    const offenders: string[] = [];
    for (const dir of ['sim/engine', 'sim/fleet', 'sim/run']) {
      for (const f of readdirSync(dir)) {
        if (f === 'no-wall-clock.ts' || f === 'sim-command.ts') continue; // the guard; the CLI's speed figure
        const text = readFileSync(join(dir, f), 'utf8');
        const code = text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
        if (forbidden.test(code)) offenders.push(`${dir}/${f}: ${code.match(forbidden)![0]}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
