/**
 * `reclab sim <scenario|path>`: runs `simulate()`, prints progress (virtual time, simulated ÷ wall
 * speed, rung mix), the phases with each one's rung mix (shares of its 2xx responses; the counts are
 * `phases[].rungCounts` in summary.json), the rung sequence, the assertions and the trace hash; writes
 * summary.json, junit.xml and index.html; returns the exit code (docs/exit-codes.md: 0 pass, 3 a budget breached). A failing
 * run prints its seed and the replay command.
 */
import { join } from 'node:path';
import { assertionLine } from '../../reports/console.ts';
import { writeRunReports } from '../../reports/write.ts';
import type { ScenarioDefinition } from '../../scenarios/define.ts';
import { rungMix } from '../../scenarios/rung-mix.ts';
import { type FleetSpec, parseFleet } from '../fleet/fleet-spec.ts';
import { type HifiInputs, simulateHigh } from '../hifi/simulate-high.ts';
import type { RungQualityTable } from '../quality/surrogate.ts';
import { type SimProgress, type SimRun, simulate } from './simulate.ts';

export interface SimCommandOptions {
  scenario: ScenarioDefinition;
  /** The argument as given (name or path), for the replay command. */
  scenarioArg: string;
  fleet: FleetSpec;
  /** `--fidelity high`: the real recommend() over the world (sim/hifi/); absent: the fleet model. */
  hifi?: HifiInputs;
  /** Per-rung quality of scored runs: the fleet run's quality surrogate (`--quality-from`). */
  qualityTable?: RungQualityTable;
  seed: number;
  qps?: number;
  durationScale?: number;
  outRoot: string;
  reclabVersion: string;
  /** Progress every virtual second (a terminal) or every 10 (CI, logs). */
  progressEveryS: number;
  out: (line: string) => void;
  /** Wall clock in ms, for the speed figure (read between slices, never inside one). */
  wallMs: () => number;
}

/** Fleet size overrides from the command line applied to a fleet spec (validated again). */
export function withSizes(
  fleet: FleetSpec,
  o: { replicas?: number; redisShards?: number; rankerNodes?: number; lb?: string },
): FleetSpec {
  return parseFleet({
    ...fleet,
    replicas: {
      ...fleet.replicas,
      ...(o.replicas ? { count: o.replicas } : {}),
      ...(o.lb ? { lb: o.lb } : {}),
    },
    redis: { ...fleet.redis, ...(o.redisShards ? { shards: o.redisShards } : {}) },
    ...(o.rankerNodes ? { rankerPool: { ...(fleet.rankerPool ?? {}), nodes: o.rankerNodes } } : {}),
  });
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/**
 * The rung sequence of a run: each measured phase and the rung that served most of it, with its
 * share (`steady full 100.0% → outage light_ranker 99.5% → recovery full 87.2%`).
 */
export function rungSequence(
  phases: readonly { name: string; warmup?: boolean; rungCounts: Record<string, number> }[],
): string {
  return phases
    .filter((p) => !p.warmup)
    .map((p) => {
      const top = rungMix(p.rungCounts)[0];
      return `${p.name} ${top ? `${top[0]} ${pct(top[1])}` : '-'}`;
    })
    .join(' → ');
}

export async function runSimCommand(
  o: SimCommandOptions,
): Promise<{ exitCode: number; run: SimRun; dir: string }> {
  const t0 = o.wallMs();
  const onProgress = (p: SimProgress) => {
    if (Math.round(p.virtualS) % o.progressEveryS !== 0 && p.virtualS < p.totalS) return;
    const wallS = (o.wallMs() - t0) / 1000;
    const mix = Object.entries(p.rungShare)
      .sort((a, b) => b[1] - a[1])
      .map(([r, s]) => `${r} ${pct(s)}`)
      .join(', ');
    o.out(
      `sim ${p.virtualS.toFixed(0)}/${p.totalS.toFixed(0)} s  phase ${p.phase}  ` +
        `${(p.virtualS / Math.max(wallS, 1e-3)).toFixed(2)}× real time  ${p.completed} requests  ` +
        `rungs ${mix || '-'}${p.shed ? `  shed ${p.shed}/s` : ''}`,
    );
  };
  const simOpts = {
    scenario: o.scenario,
    fleet: o.fleet,
    seed: o.seed,
    qps: o.qps,
    durationScale: o.durationScale,
    reclabVersion: o.reclabVersion,
    onProgress,
    qualityTable: o.qualityTable,
  };
  const run = o.hifi ? await simulateHigh(simOpts, o.hifi) : simulate(simOpts);
  const wallS = (o.wallMs() - t0) / 1000;
  const r = run.result;
  const dir = join(o.outRoot, r.runId);
  const paths = await writeRunReports(dir, r);

  const f = r.fleet!;
  o.out('');
  o.out(`== ${r.runId}: ${r.outcome.toUpperCase()} (exit ${r.exitCode})`);
  o.out(
    `fleet ${f.name}: ${f.replicas} replicas, ${f.redisShards} Redis shards, ${f.rankerNodes} ranker nodes`,
  );
  for (const p of r.phases) {
    const st = p.statusCounts;
    const mix = rungMix(p.rungCounts)
      .map(([k, share]) => `${k} ${pct(share)} (${p.rungCounts[k]})`)
      .join(', ');
    const u = f.utilisation[p.name];
    o.out(
      `phase ${p.name.padEnd(10)} offered ${p.offeredQps} QPS  achieved ${p.achievedQps} QPS  ` +
        `p50 ${p.latencyMs.p50.toFixed(1)} ms  p99 ${p.latencyMs.p99.toFixed(1)} ms  ` +
        `2xx ${st['2xx']}  503 ${st['5xx']}  timeouts ${st.timeouts}${p.warmup ? '  (warm-up)' : ''}`,
    );
    o.out(
      `  rungs ${mix || '-'}  utilisation: cpu ${pct(u.replicaCpu)}, redis ${pct(u.redis)}` +
        (u.ranker !== undefined ? `, ranker ${pct(u.ranker)}` : ''),
    );
  }
  o.out(`rung sequence: ${rungSequence(r.phases)}`);
  const quality = r.quality?.served.byPhase ?? run.surrogate?.byPhase;
  if (quality) {
    const how = run.surrogate
      ? `surrogate from ${o.qualityTable!.sources.join(', ')}${run.surrogate.missingRungs.length ? `; rungs not in it: ${run.surrogate.missingRungs.join(', ')}` : ''}`
      : 'scored lists';
    o.out(`quality (${how}):`);
    for (const p of r.phases) {
      const m = quality[p.name]?.overall.metrics;
      if (!m) continue;
      o.out(
        `  ${p.name.padEnd(10)} expected watch time ${(m.expectedWatchTimeS?.mean ?? 0).toFixed(1)} s per list, NDCG@10 ${(m.ndcgAt10?.mean ?? 0).toFixed(3)}`,
      );
    }
  }
  for (const f of r.faults ?? [])
    o.out(
      `fault ${f.target} ${f.kind} (phase ${f.phase}, ${f.fromS}–${f.toS ?? f.fromS} s)${f.message ? `: ${f.message}` : ''}`,
    );
  for (const a of r.assertions) o.out(`  ${assertionLine(a)}`);
  o.out(
    `trace hash ${f.traceHash}  ${run.events} events  ${run.requests} requests  ` +
      `${((Date.parse(r.endedAt) - Date.parse(r.startedAt)) / 1000 / wallS).toFixed(2)}× real time ` +
      `(${Math.round(run.events / wallS)} events/s)`,
  );
  o.out(`reports: ${paths.summary}  ${paths.junit}  ${paths.html}`);
  if (r.exitCode !== 0) {
    const scale = o.durationScale && o.durationScale !== 1 ? ` --duration-scale ${o.durationScale}` : '';
    const qps = o.qps ? ` --qps ${o.qps}` : '';
    const fidelity = o.hifi ? ' --fidelity high' : '';
    o.out(
      `seed=${o.seed} rerun: npm run reclab -- sim ${o.scenarioArg} --seed ${o.seed}${qps}${scale}${fidelity} (same fleet)`,
    );
  }
  return { exitCode: r.exitCode, run, dir };
}
