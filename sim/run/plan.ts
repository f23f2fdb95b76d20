/**
 * `reclab plan`: the smallest fleet (core replicas, Redis shards, ranker nodes) that keeps every
 * measured phase of a scenario within its assertions and a p99 budget at a given rate.
 *
 * Method: one probe run on a generously sized fleet measures each pool's utilisation at the target
 * rate; each pool is then sized to a target utilisation (`targetUtilisation`, default 0.7: past it
 * queueing delay grows quickly, M/M/c). Candidates are verified by full simulated runs; a failing
 * candidate grows its busiest pool by 15% and is tried again, up to `maxRounds`. Every run is
 * deterministic from the seed, so the plan is too.
 */
import type { Assertion, ScenarioDefinition } from '../../scenarios/define.ts';
import type { FleetSpec } from '../fleet/fleet-spec.ts';
import { DEFAULT_RANKER_POOL, parseFleet } from '../fleet/fleet-spec.ts';
import { type SimRun, simulate } from './simulate.ts';

export interface PlanOptions {
  scenario: ScenarioDefinition;
  fleet: FleetSpec;
  qps: number;
  budgetP99Ms: number;
  seed: number;
  durationScale?: number;
  targetUtilisation?: number;
  maxRounds?: number;
  log?: (line: string) => void;
}

export interface PlanRow {
  pool: 'replicas' | 'redis_shards' | 'ranker_nodes';
  size: number;
  /** Highest utilisation over the measured phases of the final run. */
  utilisation: number;
  /** 1 − utilisation: the share of capacity left. */
  headroom: number;
}

export interface Plan {
  passed: boolean;
  fleet: FleetSpec;
  rows: PlanRow[];
  /** The pool with the highest utilisation: the first to saturate as load grows. */
  saturatesFirst: PlanRow['pool'];
  rounds: number;
  final: SimRun;
}

const sized = (f: FleetSpec, r: number, s: number, n: number): FleetSpec =>
  parseFleet({
    ...f,
    replicas: { ...f.replicas, count: r },
    redis: { ...f.redis, shards: s },
    ...(f.rankerPool ? { rankerPool: { ...f.rankerPool, nodes: n } } : {}),
  });

export function plan(o: PlanOptions): Plan {
  const target = o.targetUtilisation ?? 0.7;
  const budget: Assertion = { metric: 'http_req_duration', stat: 'p(99)', op: '<=', value: o.budgetP99Ms };
  const scenario: ScenarioDefinition = { ...o.scenario, assertions: [...o.scenario.assertions, budget] };
  const base =
    o.scenario.rankerTier && !o.fleet.rankerPool ? { ...o.fleet, rankerPool: DEFAULT_RANKER_POOL } : o.fleet;
  const run = (f: FleetSpec) =>
    simulate({
      scenario,
      fleet: f,
      seed: o.seed,
      qps: o.qps,
      durationScale: o.durationScale,
      reclabVersion: 'plan',
    });
  const peakUtil = (r: SimRun) => {
    const measured = r.result.phases.filter((p) => !p.warmup).map((p) => r.result.fleet!.utilisation[p.name]);
    return {
      replicas: Math.max(...measured.map((u) => u.replicaCpu)),
      redis_shards: Math.max(...measured.map((u) => u.redis)),
      ranker_nodes: Math.max(0, ...measured.map((u) => u.ranker ?? 0)),
    };
  };

  // Probe: a fleet sized from rough per-request costs with ample room, so nothing saturates.
  const probeR = Math.max(1, Math.ceil((o.qps * 4e-3) / 0.3));
  const probeS = Math.max(1, Math.ceil((o.qps * 4e-4) / 0.3));
  const probeN = Math.max(1, Math.ceil((o.qps * 1e-3) / 0.3));
  const probe = run(sized(base, probeR, probeS, probeN));
  const u = peakUtil(probe);
  let r = Math.max(1, Math.ceil((probeR * u.replicas) / target));
  let s = Math.max(1, Math.ceil((probeS * u.redis_shards) / target));
  let n = Math.max(1, Math.ceil((probeN * u.ranker_nodes) / target));
  o.log?.(
    `probe: ${probeR} replicas ${probeS} shards ${probeN} ranker nodes → utilisation ${JSON.stringify(u)}`,
  );

  let rounds = 0;
  let last: SimRun;
  for (;;) {
    rounds++;
    const f = sized(base, r, s, n);
    last = run(f);
    const lu = peakUtil(last);
    const ok = last.result.exitCode === 0;
    o.log?.(
      `round ${rounds}: ${r} replicas ${s} shards ${base.rankerPool ? n : 0} ranker nodes → ${ok ? 'pass' : 'fail'} ${JSON.stringify(lu)}`,
    );
    if (ok || rounds >= (o.maxRounds ?? 8)) {
      const rows: PlanRow[] = [
        { pool: 'replicas', size: r, utilisation: lu.replicas, headroom: 1 - lu.replicas },
        { pool: 'redis_shards', size: s, utilisation: lu.redis_shards, headroom: 1 - lu.redis_shards },
        ...(base.rankerPool
          ? [
              {
                pool: 'ranker_nodes' as const,
                size: n,
                utilisation: lu.ranker_nodes,
                headroom: 1 - lu.ranker_nodes,
              },
            ]
          : []),
      ].map((x) => ({ ...x, utilisation: round3(x.utilisation), headroom: round3(x.headroom) }) as PlanRow);
      const first = [...rows].sort((a, b) => b.utilisation - a.utilisation)[0].pool;
      return { passed: ok, fleet: f, rows, saturatesFirst: first, rounds, final: last };
    }
    const busiest = Object.entries(lu).sort((a, b) => b[1] - a[1])[0][0];
    if (busiest === 'replicas') r = Math.ceil(r * 1.15);
    else if (busiest === 'redis_shards') s = Math.ceil(s * 1.15);
    else n = Math.ceil(n * 1.15);
  }
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
