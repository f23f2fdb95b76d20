/**
 * `reclab plan`: the smallest fleet (core replicas, Redis shards, ranker nodes) that keeps every
 * measured phase of a scenario within its assertions and a p99 budget at a given rate.
 *
 * Method (every run is a full deterministic simulation from the same seed, so the plan is too):
 * 1. A probe run on an ample fleet measures each pool's utilisation at the target rate.
 * 2. Each pool is sized to `targetUtilisation` (default 0.7: past it M/M/c queueing delay grows
 *    quickly) from the probe's busiest measured phase.
 * 3. While the candidate fails, the pools near the target utilisation *in the phases whose
 *    assertions fail* (the busiest at least) grow by their utilisation ÷ target, at least 15%. When
 *    every pool there is under half the target, or a growth step did not bring any failed
 *    assertion 5% closer to its threshold, more machines would not help (the budget or the fault
 *    is the limit): the plan stops and says so.
 * 4. Once a candidate passes, each pool in turn, least utilised first, shrinks by 10% for as long as
 *    the run still passes and its utilisation stays under `maxUtilisation` (default 0.85: past it
 *    a pass depends on the seed's luck). The search ends where no pool can shrink by 10%.
 * The number of runs is bounded by `maxRuns` (default 12).
 */
import type { Assertion, ScenarioDefinition } from '../../scenarios/define.ts';
import type { FleetSpec } from '../fleet/fleet-spec.ts';
import { DEFAULT_RANKER_POOL, parseFleet } from '../fleet/fleet-spec.ts';
import type { RungQualityTable } from '../quality/surrogate.ts';
import { type SimRun, simulate } from './simulate.ts';

export type PoolName = 'replicas' | 'redis_shards' | 'ranker_nodes';

export interface PlanOptions {
  scenario: ScenarioDefinition;
  /** The fleet whose service times and policies are kept; only the pool sizes change. */
  fleet: FleetSpec;
  /** Offered rate of the busiest measured phase, requests/s (phases scale with it). */
  qps: number;
  /** Added as `http_req_duration p(99) <= budgetP99Ms` over all measured samples. */
  budgetP99Ms: number;
  seed: number;
  durationScale?: number;
  targetUtilisation?: number;
  /** Per-rung quality of scored runs: each candidate's quality assertions are checked on the surrogate. */
  qualityTable?: RungQualityTable;
  /** Shrinking stops before a pool would pass this utilisation; default 0.85. */
  maxUtilisation?: number;
  /** Most simulated runs, the probe included; default 12. */
  maxRuns?: number;
  log?: (line: string) => void;
}

export interface PlanRow {
  pool: PoolName;
  size: number;
  /** Highest utilisation over the measured phases of the chosen fleet's run, in [0, ∞). */
  utilisation: number;
  /** 1 − utilisation: the share of capacity left in the busiest phase. */
  headroom: number;
}

/** One simulated run of the search. */
export interface PlanStep {
  sizes: Record<PoolName, number>;
  passed: boolean;
  utilisation: Record<PoolName, number>;
  /** The failed assertions' expressions. */
  failed: string[];
}

export interface Plan {
  /** A fleet that passes was found. */
  passed: boolean;
  /** Why the search stopped without a passing fleet (absent when `passed`). */
  reason?: string;
  fleet: FleetSpec;
  rows: PlanRow[];
  /** The pool with the highest utilisation: the first to saturate as load grows. */
  saturatesFirst: PoolName;
  /** Rough rate at which that pool reaches utilisation 1 (qps ÷ its utilisation; linear scaling). */
  saturationQpsEstimate: number;
  steps: PlanStep[];
  /** The run of the returned fleet. */
  final: SimRun;
}

type Sizes = Record<PoolName, number>;

const POOLS: PoolName[] = ['replicas', 'redis_shards', 'ranker_nodes'];

const sized = (f: FleetSpec, z: Sizes): FleetSpec =>
  parseFleet({
    ...f,
    replicas: { ...f.replicas, count: z.replicas },
    redis: { ...f.redis, shards: z.redis_shards },
    ...(f.rankerPool ? { rankerPool: { ...f.rankerPool, nodes: z.ranker_nodes } } : {}),
  });

/**
 * Searches the smallest passing fleet; see the file header.
 * @throws ReclabError RECLAB_ERR_CONFIG_INVALID (bad core settings), SimError
 *   RECLAB_ERR_SIM_FLEET_INVALID (a size out of range)
 */
export function plan(o: PlanOptions): Plan {
  const target = o.targetUtilisation ?? 0.7;
  const maxRuns = o.maxRuns ?? 12;
  const maxUtil = o.maxUtilisation ?? 0.85;
  const budget: Assertion = { metric: 'http_req_duration', stat: 'p(99)', op: '<=', value: o.budgetP99Ms };
  const scenario: ScenarioDefinition = { ...o.scenario, assertions: [...o.scenario.assertions, budget] };
  const base =
    o.scenario.rankerTier && !o.fleet.rankerPool ? { ...o.fleet, rankerPool: DEFAULT_RANKER_POOL } : o.fleet;
  const hasPool = base.rankerPool !== undefined;
  const steps: PlanStep[] = [];
  const runs = new Map<string, SimRun>();

  const run = (z: Sizes): { r: SimRun; step: PlanStep } => {
    const r = simulate({
      scenario,
      fleet: sized(base, z),
      seed: o.seed,
      qps: o.qps,
      durationScale: o.durationScale,
      reclabVersion: 'plan',
      qualityTable: o.qualityTable,
    });
    runs.set(key(z), r);
    const step: PlanStep = {
      sizes: { ...z },
      passed: r.result.exitCode === 0,
      utilisation: peakUtil(r),
      failed: r.result.assertions.filter((a) => !a.passed).map((a) => a.expression),
    };
    steps.push(step);
    o.log?.(
      `run ${steps.length}: ${z.replicas} replicas, ${z.redis_shards} shards` +
        `${hasPool ? `, ${z.ranker_nodes} ranker nodes` : ''} → ${step.passed ? 'pass' : 'fail'}  ` +
        `utilisation ${POOLS.filter((p) => hasPool || p !== 'ranker_nodes')
          .map((p) => `${p} ${step.utilisation[p].toFixed(2)}`)
          .join(', ')}` +
        (step.failed.length ? `  failed: ${step.failed.join('; ')}` : ''),
    );
    return { r, step };
  };

  // 1. Probe: sized from rough per-request costs (4 ms CPU, 0.4 ms Redis, 1 ms ranker) at 30%.
  const probe: Sizes = {
    replicas: Math.max(1, Math.ceil((o.qps * 4e-3) / 0.3)),
    redis_shards: Math.max(1, Math.ceil((o.qps * 4e-4) / 0.3)),
    ranker_nodes: hasPool ? Math.max(1, Math.ceil((o.qps * 1e-3) / 0.3)) : 0,
  };
  const probed = run(probe);
  const u0 = probed.step.utilisation;
  // 2. Size each pool to the target utilisation.
  let z: Sizes = {
    replicas: Math.max(1, Math.ceil((probe.replicas * u0.replicas) / target)),
    redis_shards: Math.max(1, Math.ceil((probe.redis_shards * u0.redis_shards) / target)),
    ranker_nodes: hasPool ? Math.max(1, Math.ceil((probe.ranker_nodes * u0.ranker_nodes) / target)) : 0,
  };

  // 3. Grow until a candidate passes.
  let best: Sizes | undefined;
  let reason: string | undefined;
  let missBefore: Map<string, number> | undefined;
  // An ample fleet that fails with every pool under half the target: size is not the problem.
  const probeUtil = peakUtil(probed.r, failingPhases(probed.r, scenario.assertions));
  if (!probed.step.passed && Math.max(...Object.values(probeUtil)) < target / 2) {
    reason =
      `${probed.step.failed.join('; ')} fails on an ample fleet (every pool under ${target / 2} ` +
      `utilisation): more machines would not help (the budget, or the fault, is the limit)`;
  }
  while (!reason && steps.length < maxRuns) {
    const { r, step } = run(z);
    if (step.passed) {
      best = z;
      break;
    }
    const phases = failingPhases(r, scenario.assertions);
    const miss = misses(r);
    if (
      missBefore &&
      ![...miss].some(([e, m]) => m < (missBefore!.get(e) ?? Number.POSITIVE_INFINITY) * 0.95)
    ) {
      reason =
        `${step.failed.join('; ')}: growing the fleet did not bring it closer: more machines would ` +
        `not help (the budget, or the fault, is the limit)`;
      break;
    }
    missBefore = miss;
    const util = peakUtil(r, phases);
    const ranked = POOLS.filter((p) => hasPool || p !== 'ranker_nodes')
      .map((p) => [p, util[p]] as const)
      .sort((a, b) => b[1] - a[1]);
    if (ranked[0][1] < target / 2) {
      reason =
        `${step.failed.join('; ')} fails while every pool is under ${target / 2} utilisation in ` +
        `${phases.join(', ')}: more machines would not help (the budget, or the fault, is the limit)`;
      break;
    }
    // A deadline miss is queueing summed over stages, so it is not one pool's: grow every pool
    // near the target (the busiest at least); step 4 takes back what did not matter.
    const grow = ranked.filter(([, u], i) => i === 0 || u >= 0.8 * target);
    z = { ...z };
    for (const [p, u] of grow) z[p] = Math.ceil(z[p] * Math.max(1.15, u / target));
  }
  if (!best && !reason) reason = `no passing fleet within ${maxRuns} runs`;

  // 4. Shrink each pool, least utilised first, while the run still passes.
  if (best) {
    let passing: Sizes = best;
    const floor = new Set<PoolName>(hasPool ? [] : ['ranker_nodes']);
    while (steps.length < maxRuns && floor.size < POOLS.length) {
      const u = steps.find((s) => key(s.sizes) === key(passing))!.utilisation;
      const pool = POOLS.filter((p) => !floor.has(p)).sort((a, b) => u[a] - u[b])[0];
      const smaller = Math.floor(passing[pool] * 0.9);
      // Past `maxUtilisation` a pass is luck of the seed, not headroom: do not plan there.
      const predicted = (u[pool] * passing[pool]) / Math.max(smaller, 1);
      if (smaller < 1 || smaller === passing[pool] || predicted > maxUtil) {
        floor.add(pool);
        continue;
      }
      const candidate: Sizes = { ...passing, [pool]: smaller };
      if (run(candidate).step.passed) passing = candidate;
      else floor.add(pool);
    }
    best = passing;
  }

  const chosen = best ?? z;
  const final = runs.get(key(chosen)) ?? run(chosen).r;
  const u = peakUtil(final);
  const rows: PlanRow[] = POOLS.filter((p) => hasPool || p !== 'ranker_nodes').map((pool) => ({
    pool,
    size: chosen[pool],
    utilisation: round3(u[pool]),
    headroom: round3(1 - u[pool]),
  }));
  const first = [...rows].sort((a, b) => b.utilisation - a.utilisation)[0];
  return {
    passed: best !== undefined,
    ...(best ? {} : { reason }),
    fleet: sized(base, chosen),
    rows,
    saturatesFirst: first.pool,
    saturationQpsEstimate:
      first.utilisation > 0 ? Math.round(o.qps / first.utilisation) : Number.POSITIVE_INFINITY,
    steps,
    final,
  };
}

/** Each pool's highest utilisation over the given phases (default: the measured ones). */
function peakUtil(r: SimRun, phases?: string[]): Record<PoolName, number> {
  const names = phases ?? r.result.phases.filter((p) => !p.warmup).map((p) => p.name);
  const us = names.map((n) => r.result.fleet!.utilisation[n]);
  return {
    replicas: Math.max(0, ...us.map((x) => x.replicaCpu)),
    redis_shards: Math.max(0, ...us.map((x) => x.redis)),
    ranker_nodes: Math.max(0, ...us.map((x) => x.ranker ?? 0)),
  };
}

/** Each failed assertion's distance from its threshold, relative to the threshold (or absolute at 0). */
function misses(r: SimRun): Map<string, number> {
  return new Map(
    r.result.assertions
      .filter((a) => !a.passed)
      .map((a) => [a.expression, Math.abs(a.observed - a.threshold) / (Math.abs(a.threshold) || 1)]),
  );
}

/**
 * The phases named by failed assertions (results are in the order of `assertions`); an assertion
 * without a phase names every measured one.
 */
function failingPhases(r: SimRun, assertions: readonly Assertion[]): string[] {
  const measured = r.result.phases.filter((p) => !p.warmup).map((p) => p.name);
  const out = new Set<string>();
  r.result.assertions.forEach((a, i) => {
    if (a.passed) return;
    const spec = assertions[i];
    const phase = spec && 'phase' in spec ? spec.phase : undefined;
    for (const p of phase ? [phase] : measured) out.add(p);
  });
  return [...out];
}

const key = (z: Sizes) => `${z.replicas}/${z.redis_shards}/${z.ranker_nodes}`;
const round3 = (x: number) => Math.round(x * 1000) / 1000;
