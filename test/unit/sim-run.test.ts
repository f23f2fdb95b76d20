import { readFileSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../core/random/seeded-random.ts';
import { defineScenario } from '../../scenarios/define.ts';
import { scenarios } from '../../scenarios/index.ts';
import { rungMix } from '../../scenarios/rung-mix.ts';
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
    const outage = result.phases.find((p) => p.name === 'stop')!;
    expect(outage.rungCounts.popularity).toBe(outage.statusCounts['2xx']);
    expect(outage.statusCounts['5xx']).toBe(0);
    expect(Object.keys(outage.reasonCounts ?? {}).some((k) => k.startsWith('user_context '))).toBe(true);
  });

  it('Redis restarted empty: the user record and the load marker are gone, so popularity with FEATURES_MISSING, never full', () => {
    const { result } = quick('redis-failure');
    const share = (phase: string, rung: string) => {
      const p = result.phases.find((x) => x.name === phase)!;
      return (p.rungCounts[rung] ?? 0) / p.statusCounts['2xx'];
    };
    expect(share('steady', 'full')).toBeGreaterThan(0.95);
    expect(share('data_lost', 'full')).toBe(0);
    expect(share('data_lost', 'popularity')).toBe(1);
    const lost = result.phases.find((p) => p.name === 'data_lost')!;
    expect(lost.reasonCounts?.['user_context RECLAB_ERR_FEATURES_MISSING']).toBe(lost.statusCounts['2xx']);
    expect(result.faults?.find((f) => f.kind === 'restart_empty')?.message).toBeUndefined();
    // Short lists are not measured by the simulator: skipped, not passed at 0.
    expect(result.assertions.find((a) => a.expression.startsWith('short_lists'))?.skipped).toBeTruthy();
    const dataLost = result.assertions.filter((a) => a.expression.includes('phase:data_lost'));
    expect(dataLost.length).toBeGreaterThan(3);
    expect(dataLost.every((a) => a.passed && !a.skipped)).toBe(true);
  });

  it('one of two shards restarted empty while the marker survives: its users are cold starts, the MGET partly missing', () => {
    const scenario = defineScenario({
      ...scenarios.baseline,
      phases: scenarios.baseline.phases.map((p) =>
        p.warmup ? p : { ...p, faults: [{ target: 'redis', kind: 'restart_empty', fromS: 1, nodes: 1 }] },
      ),
    });
    const fleet = parseFleet({ replicas: { count: 4 }, redis: { shards: 2 } });
    const { result } = simulate({
      scenario,
      fleet,
      seed: 7,
      qps: 400,
      durationScale: 0.3,
      reclabVersion: 't',
    });
    const steady = result.phases.find((p) => p.name === 'steady')!;
    // The marker's shard (1 of 2 here) kept its data: no FEATURES_MISSING at user_context; the
    // enrichment read finds half its keys missing (not more than half): default_features.
    expect(steady.reasonCounts?.['user_context RECLAB_ERR_FEATURES_MISSING']).toBeUndefined();
    expect(steady.rungCounts.default_features).toBeGreaterThan(0.9 * steady.statusCounts['2xx']);
    expect(steady.reasonCounts?.['enrichment RECLAB_ERR_FEATURES_MISSING']).toBeGreaterThan(0);
  });

  it('a busy replica browns out at admission; its in-process stages do not miss deadlines for the loop’s sake', () => {
    // The live clock runs a deadline only after the I/O already waiting (setTimeout → setImmediate),
    // and a CPU stage's job is queued before its deadline's: a long queue on the loop delays both.
    const { result } = simulate({
      scenario: scenarios.baseline,
      fleet: parseFleet({ replicas: { count: 1 } }),
      seed: 3,
      qps: 600,
      durationScale: 0.5,
      reclabVersion: 'test',
    });
    const steady = result.phases.find((p) => p.name === 'steady')!;
    const reasons = steady.reasonCounts ?? {};
    expect(reasons['ranking RECLAB_ERR_OVERLOADED']).toBeGreaterThan(0);
    expect(reasons['user_encoder RECLAB_ERR_RETRIEVAL_TIMEOUT'] ?? 0).toBe(0);
    expect(reasons['ranking RECLAB_ERR_RANKER_TIMEOUT'] ?? 0).toBe(0);
  });

  it('past the fleet capacity the core browns out (cheaper rungs, zero 503) before it sheds', () => {
    const one = parseFleet({ replicas: { count: 1 } });
    const steadyAt = (qps: number) => {
      const { result } = simulate({
        scenario: scenarios.baseline,
        fleet: one,
        seed: 3,
        qps,
        durationScale: 0.5,
        reclabVersion: 'test',
      });
      return { result, steady: result.phases.find((p) => p.name === 'steady')! };
    };
    // About 4× the replica's full-pipeline capacity: every request answered, most on a cheaper rung.
    const brown = steadyAt(1500);
    const served = brown.steady.statusCounts['2xx'];
    // ≥ 99.9% answered (the 30 ms the bounds leave the cache alone is crossed by a rare burst).
    expect(brown.steady.statusCounts['5xx']).toBeLessThanOrEqual(0.001 * served);
    expect((brown.steady.rungCounts.full ?? 0) / served).toBeLessThan(0.5);
    expect(brown.steady.rungCounts.popularity).toBeGreaterThan(0);
    const reasons = brown.steady.reasonCounts ?? {};
    expect(reasons['admission RECLAB_ERR_OVERLOADED']).toBeGreaterThan(0);
    expect(reasons['ranking RECLAB_ERR_OVERLOADED']).toBeGreaterThan(0);
    expect(brown.result.exitCode).toBe(3); // baseline asks ≥ 99% full
    // Past the rate at which even the popularity cache saturates the replica: 503s.
    const shed = steadyAt(4000);
    expect(shed.steady.statusCounts['5xx']).toBeGreaterThan(0);
    // Brownout off: the same replica sheds already at 1500.
    const off = parseFleet({ replicas: { count: 1 }, coreEnv: { RECLAB_BROWNOUT: 'off' } });
    const { result } = simulate({
      scenario: scenarios.baseline,
      fleet: off,
      seed: 3,
      qps: 1500,
      durationScale: 0.5,
      reclabVersion: 'test',
    });
    expect(result.phases.find((p) => p.name === 'steady')!.statusCounts['5xx']).toBeGreaterThan(0);
  });
});

describe('reclab sim: the rung mix of each phase', () => {
  it('prints each phase as shares of its 2xx responses and the rung sequence over the measured phases', async () => {
    const lines: string[] = [];
    await runSimCommand({
      scenario: scenarios['gpu-outage'],
      scenarioArg: 'gpu-outage',
      fleet: small,
      seed: 7,
      qps: 600,
      durationScale: 0.5,
      outRoot: await mkdtemp(join(tmpdir(), 'sim-mix-')),
      reclabVersion: 'test',
      progressEveryS: 1000,
      out: (l) => lines.push(l),
      wallMs: () => 0,
    });
    const seq = lines.find((l) => l.startsWith('rung sequence: '));
    expect(seq).toMatch(
      /^rung sequence: steady full [\d.]+% → outage light_ranker [\d.]+% → recovery full [\d.]+%$/,
    );
    expect(lines.some((l) => /^ {2}rungs light_ranker \d+\.\d% \(\d+\)/.test(l))).toBe(true);
    expect(rungMix({ full: 1, popularity: 3, editorial: 0 })).toEqual([
      ['popularity', 0.75],
      ['full', 0.25],
    ]);
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

describe('simulate: v2 faults and arrivals', () => {
  it('viral-spike: the simulator accepts the viral phase, ignores it, and skips its assertion', () => {
    expect(scenarios['viral-spike'].phases.some((p) => p.viral)).toBe(true);
    const { result } = quick('viral-spike');
    expect(result.viral).toBeUndefined();
    expect(result.assertions.find((a) => a.expression.startsWith('viral_time_to_list_s'))).toMatchObject({
      passed: true,
      skipped: 'no viral video measured in this run',
    });
  });

  const withFaults = (faults: unknown[], extra: object = {}) =>
    defineScenario({
      ...scenarios['gpu-outage'],
      phases: [
        scenarios['gpu-outage'].phases[0],
        scenarios['gpu-outage'].phases[1],
        { ...scenarios['gpu-outage'].phases[2], faults: faults as never },
        scenarios['gpu-outage'].phases[3],
      ],
      assertions: [],
      ...extra,
    });
  const run = (scenario: ReturnType<typeof defineScenario>) =>
    simulate({ scenario, fleet: small, seed: 5, qps: 400, durationScale: 0.5, reclabVersion: 't' }).result;

  it('logs every fault with its window in virtual time, and recovery_time_s reads it', () => {
    const scenario = withFaults([{ target: 'ranker_tier', kind: 'down', fromS: 1, toS: 5 }], {
      assertions: [{ metric: 'recovery_time_s', baseline: 'steady', op: '<', value: 10 }],
    });
    const r = run(scenario);
    // outage starts after warm-up (5 s, unscaled) and steady (10 × 0.5 s): at 10 s.
    expect(r.faults).toEqual([
      {
        phase: 'outage',
        target: 'ranker_tier',
        kind: 'down',
        fromS: 0.5,
        toS: 2.5,
        status: 'applied',
        startedAt: '2026-01-01T00:00:10.500Z',
        appliedAt: '2026-01-01T00:00:10.500Z',
        endedAt: '2026-01-01T00:00:12.500Z',
      },
    ]);
    const outage = r.phases.find((p) => p.name === 'outage')!;
    expect(outage.series?.buckets.length).toBe(8);
    expect(r.assertions[0]).toMatchObject({
      expression: 'recovery_time_s{baseline:steady} < 10',
      passed: true,
    });
    // The breaker (open 2 s) lets the pool back within a few seconds of the end.
    expect(r.assertions[0].observed).toBeLessThan(6);
  });

  it('ranker_tier nan: the core refuses the scores (invalid output) and serves the light ranker', () => {
    const r = run(withFaults([{ target: 'ranker_tier', kind: 'nan' }]));
    const outage = r.phases.find((p) => p.name === 'outage')!;
    expect(outage.reasonCounts?.['ranking RECLAB_ERR_RANKER_INVALID_OUTPUT']).toBeGreaterThan(0);
    expect((outage.rungCounts.light_ranker ?? 0) / outage.statusCounts['2xx']).toBeGreaterThan(0.9);
  });

  it('ranker_tier slow ×10 and ann_index missing degrade as the live core does', () => {
    const slow = run(withFaults([{ target: 'ranker_tier', kind: 'slow', slowFactor: 10 }]));
    const so = slow.phases.find((p) => p.name === 'outage')!;
    expect(so.reasonCounts?.['ranking RECLAB_ERR_RANKER_TIMEOUT']).toBeGreaterThan(0);
    const ann = run(withFaults([{ target: 'ann_index', kind: 'missing' }]));
    const ao = ann.phases.find((p) => p.name === 'outage')!;
    expect(ao.rungCounts.partial_retrieval / ao.statusCounts['2xx']).toBeGreaterThan(0.99);
    expect(ao.reasonCounts?.['retrieval.two_tower RECLAB_ERR_RETRIEVAL_UNAVAILABLE']).toBeGreaterThan(0);
    // Faults the fleet has no model for are applied and say so.
    const stale = run(withFaults([{ target: 'ann_index', kind: 'stale' }]));
    expect(stale.faults?.[0].message).toMatch(/not modelled/);
  });

  it('redis latency with jitter: slower under the deadline, the popularity rung past it; a Poisson spike is seeded', () => {
    const base = scenarios.baseline;
    const withLatency = (latencyMs: number) =>
      defineScenario({
        ...base,
        phases: [
          base.phases[0],
          {
            ...base.phases[1],
            arrivals: {
              kind: 'spike',
              baseQps: 100,
              peakQps: 200,
              atS: 5,
              riseS: 5,
              holdS: 5,
              decayS: 5,
              spacing: 'poisson',
            },
            faults: latencyMs
              ? [{ target: 'redis', kind: 'latency', latencyMs, jitterMs: latencyMs / 4 }]
              : [],
          },
        ],
        assertions: [],
      });
    const steadyOf = (latencyMs: number) => {
      const r = simulate({ scenario: withLatency(latencyMs), fleet: small, seed: 9, reclabVersion: 't' });
      return { run: r, steady: r.result.phases.find((p) => p.name === 'steady')! };
    };
    const none = steadyOf(0);
    const some = steadyOf(3);
    // A few sequential Redis round trips on the critical path, each 3 ± 0.75 ms slower: still full
    // (but for a rare ranker deadline miss in the service-time tail: not one in a thousand).
    expect(some.steady.latencyMs.p50 - none.steady.latencyMs.p50).toBeGreaterThan(6);
    expect(some.steady.rungCounts.full).toBeGreaterThanOrEqual(0.999 * some.steady.statusCounts['2xx']);
    expect(some.steady.reasonCounts?.['user_context RECLAB_ERR_FEATURES_TIMEOUT'] ?? 0).toBe(0);
    // 20 ms is past the 10 ms user-context deadline: timeouts, the breaker opens, popularity.
    const past = steadyOf(20).steady;
    expect(past.rungCounts).toEqual({ popularity: past.statusCounts['2xx'] });
    expect(past.reasonCounts?.['user_context RECLAB_ERR_FEATURES_TIMEOUT']).toBeGreaterThan(0);
    // Seeded: the same seed, the same run.
    expect(steadyOf(3).run.traceHash).toBe(some.run.traceHash);
    expect(none.steady.offeredQps).toBe(133.333); // (5 × 100 + 5 × 150 + 5 × 200 + 5 × 150 + 10 × 100) / 30
    expect(none.steady.arrivals).toMatch(/^spike 100→200\/s/);
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
  it('sim/engine, sim/fleet, sim/run, sim/hifi and sim/quality use none of the forbidden APIs (outside the guard itself)', async () => {
    const { readdirSync } = await import('node:fs');
    const forbidden =
      /\b(Date\.now|performance\.now|Math\.random|randomUUID|setTimeout|setInterval|setImmediate|process\.hrtime|new Date\(\))/;
    const offenders: string[] = [];
    for (const dir of ['sim/engine', 'sim/fleet', 'sim/run', 'sim/hifi', 'sim/quality']) {
      for (const f of readdirSync(dir)) {
        if (f === 'no-wall-clock.ts' || f === 'sim-command.ts') continue; // the guard; the CLI's speed figure
        const text = readFileSync(join(dir, f), 'utf8');
        let code = text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
        // The high-fidelity loop's macrotask boundary (settling promise jobs), not a clock.
        if (dir === 'sim/hifi' && f === 'settle.ts') code = code.replace(/\bsetImmediate\(resolve\)/g, '');
        if (forbidden.test(code)) offenders.push(`${dir}/${f}: ${code.match(forbidden)![0]}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});

describe('simulate: background CPU on the replicas', () => {
  it('adds replicas.backgroundUsPerS of event-loop work per second, whatever the rate', () => {
    const fleet = (backgroundUsPerS: number) =>
      parseFleet({ replicas: { count: 2, backgroundUsPerS }, redis: { shards: 1 } });
    const run = (f: ReturnType<typeof fleet>) =>
      simulate({
        scenario: scenarios.baseline,
        fleet: f,
        seed: 7,
        qps: 50,
        durationScale: 0.2,
        reclabVersion: 't',
      });
    const without = run(fleet(0));
    const with200ms = run(fleet(200_000));
    const steady = (r: typeof without) => r.result.fleet!.utilisation.steady.replicaCpu;
    expect(steady(with200ms) - steady(without)).toBeCloseTo(0.2, 2);
    // Requests queue behind it: the median latency rises.
    const p50 = (r: typeof without) => r.result.phases.find((p) => p.name === 'steady')!.latencyMs.p50;
    expect(p50(with200ms)).toBeGreaterThan(p50(without));
  });
});

describe('simulate: GC pauses on the replicas', () => {
  it('pauses a replica perRequest times per request for pauseUs: utilisation and waiting rise', () => {
    const fleet = (perRequest: number) =>
      parseFleet({
        replicas: {
          count: 1,
          gcPauses: [{ kind: 'minor', perRequest, pauseUs: { kind: 'constant', us: 8000 } }],
        },
        redis: { shards: 1 },
      });
    // baseline's arrivals are evenly spaced: at 100 QPS one every 10 ms, so a request (≈ 4 ms) and
    // an 8 ms pause after it delay the next one.
    const run = (f: ReturnType<typeof fleet>) =>
      simulate({
        scenario: scenarios.baseline,
        fleet: f,
        seed: 7,
        qps: 100,
        durationScale: 0.2,
        reclabVersion: 't',
      });
    const none = run(fleet(0));
    const some = run(fleet(0.25)); // 2 ms a request at 100 requests/s: +20% utilisation
    const steady = (r: typeof none) => r.result.fleet!.utilisation.steady.replicaCpu;
    expect(steady(some) - steady(none)).toBeGreaterThan(0.17);
    expect(steady(some) - steady(none)).toBeLessThan(0.23);
    const lat = (r: typeof none) => r.result.phases.find((p) => p.name === 'steady')!.latencyMs;
    expect(lat(some).p90).toBeGreaterThan(lat(none).p90 + 1);
  });
});
