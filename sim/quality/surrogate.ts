/**
 * The fleet run's quality surrogate (issue 13: "a surrogate, with the quality measured for each
 * rung, supplies the ground-truth quality of what was served"). A fleet run builds no lists; what it
 * knows is how many 200s each rung served in each phase. A run that did build and score lists — a
 * live run or a `--fidelity high` run — measured the mean quality of each rung's lists. The
 * surrogate of a phase is then the rung-weighted mean: Σ_rung count × mean(rung) ÷ Σ count, per
 * metric, over the rungs the table knows (the others are named in `missingRungs`).
 *
 * What it assumes: a rung's lists are worth the same whatever the load, fault or phase that led to
 * it (docs/simulator.md measures how far that holds against high-fidelity runs). Coverage (distinct
 * videos ÷ catalogue) does not add up that way, so the surrogate has none.
 */
import type { RunResult } from '../../reports/model.ts';

/** Mean of each quality metric per rung, from one or more scored runs. */
export interface RungQualityTable {
  /** The runs it was measured on (run ids). */
  sources: string[];
  byRung: Record<string, { lists: number; metrics: Record<string, number> }>;
}

/**
 * The per-rung table of scored runs: every measured (non-warm-up) phase's lists pooled per rung,
 * each metric's mean weighted by lists.
 * @throws Error when no run has a `quality` section (fleet runs have none)
 */
export function rungQualityTable(runs: readonly RunResult[]): RungQualityTable {
  const sums = new Map<string, { lists: number; sums: Record<string, number> }>();
  const sources: string[] = [];
  for (const run of runs) {
    if (!run.quality) continue;
    sources.push(run.runId);
    const measured = new Set(run.phases.filter((p) => !p.warmup).map((p) => p.name));
    for (const [phase, scope] of Object.entries(run.quality.served.byPhase)) {
      if (!measured.has(phase)) continue;
      for (const [rung, g] of Object.entries(scope.byRung)) {
        const acc = sums.get(rung) ?? { lists: 0, sums: {} };
        sums.set(rung, acc);
        acc.lists += g.lists;
        for (const [k, m] of Object.entries(g.metrics)) acc.sums[k] = (acc.sums[k] ?? 0) + m.mean * g.lists;
      }
    }
  }
  if (sources.length === 0)
    throw new Error('no run with ground-truth quality (a live or --fidelity high run)');
  const byRung: RungQualityTable['byRung'] = {};
  for (const [rung, acc] of sums) {
    if (acc.lists === 0) continue;
    byRung[rung] = {
      lists: acc.lists,
      metrics: Object.fromEntries(Object.entries(acc.sums).map(([k, v]) => [k, v / acc.lists])),
    };
  }
  return { sources, byRung };
}

/** Surrogate quality by phase, in the shape assertions read (scenarios/assertions.ts `quality`). */
export interface SurrogateQuality {
  byPhase: Record<
    string,
    {
      overall: { lists: number; metrics: Record<string, { mean: number }> };
      byRung: Record<string, { lists: number; metrics: Record<string, { mean: number }> }>;
    }
  >;
  /** Rungs served in the run that the table has no lists for (left out of the means). */
  missingRungs: string[];
}

/** The surrogate quality of phases from their rung counts (file header). */
export function surrogateQuality(
  phases: readonly { name: string; rungCounts: Record<string, number> }[],
  table: RungQualityTable,
): SurrogateQuality {
  const missing = new Set<string>();
  const byPhase: SurrogateQuality['byPhase'] = {};
  for (const p of phases) {
    const sums: Record<string, number> = {};
    let lists = 0;
    const byRung: SurrogateQuality['byPhase'][string]['byRung'] = {};
    for (const [rung, n] of Object.entries(p.rungCounts)) {
      if (n === 0) continue;
      const t = table.byRung[rung];
      if (!t) {
        missing.add(rung);
        continue;
      }
      lists += n;
      byRung[rung] = {
        lists: n,
        metrics: Object.fromEntries(Object.entries(t.metrics).map(([k, v]) => [k, { mean: v }])),
      };
      for (const [k, v] of Object.entries(t.metrics)) sums[k] = (sums[k] ?? 0) + v * n;
    }
    byPhase[p.name] = {
      overall: {
        lists,
        metrics: Object.fromEntries(
          Object.entries(sums).map(([k, v]) => [k, { mean: lists ? v / lists : 0 }]),
        ),
      },
      byRung,
    };
  }
  return { byPhase, missingRungs: [...missing].sort() };
}
