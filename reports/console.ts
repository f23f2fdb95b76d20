import type { RunSummary } from '../loadtest/run.ts';

/**
 * Prints the end-of-run summary for people: per measured phase offered/achieved QPS, p50/p95/p99
 * (ms, from the intended send time), errors and the count per fallback rung; then every assertion,
 * the impression and event checks, the core's exit code, the report paths, and on failure the seed and the replay command.
 */
export function printSummary(s: RunSummary, out: (line: string) => void, replay: string): void {
  out('');
  out(`== ${s.runId}: ${s.passed ? 'PASS' : 'FAIL'} (exit ${s.exitCode})`);
  out(
    `world: ${s.world.users} users × ${s.world.videos} videos, hash ${s.world.worldHash.slice(0, 16)}…, model ${s.world.modelVersion}`,
  );
  for (const p of s.phases) {
    const st = p.statusCounts;
    const errors = st['5xx'] + st.errors + st.timeouts;
    out(
      `phase ${p.phase.padEnd(8)} offered ${p.offeredQps} QPS  achieved ${p.achievedQps.toFixed(1)} QPS  ` +
        `p50 ${p.latencyMs.p50.toFixed(1)} ms  p95 ${p.latencyMs.p95.toFixed(1)} ms  p99 ${p.latencyMs.p99.toFixed(1)} ms  ` +
        `errors ${errors} (5xx ${st['5xx']}, 4xx ${st['4xx']}, transport ${st.errors + st.timeouts})`,
    );
    out(
      `  rungs: ${
        Object.entries(p.rungCounts)
          .map(([r, n]) => `${r}=${n}`)
          .join('  ') || '-'
      }`,
    );
    if (p.cpu) {
      const core =
        p.cpu.coreUsPerRequest !== undefined ? `, core ${(p.cpu.coreUsPerRequest / 1000).toFixed(3)} ms` : '';
      const main =
        p.cpu.runnerMainThreadUsPerRequest !== undefined
          ? `, main thread ${(p.cpu.runnerMainThreadUsPerRequest / 1000).toFixed(3)} ms`
          : '';
      const sys =
        p.cpu.runnerMs > 0
          ? ` (${Math.round((100 * (p.cpu.runnerSystemMs ?? 0)) / p.cpu.runnerMs)}% system${main})`
          : '';
      const scoring =
        p.cpu.scoringAfterPhaseMs !== undefined
          ? `; after the phase: scoring ${p.cpu.scoringAfterPhaseMs.toFixed(0)} ms`
          : '';
      out(
        `  CPU per request: runner ${(p.cpu.runnerUsPerRequest / 1000).toFixed(3)} ms${sys}${core}${scoring}`,
      );
    }
    const reasons = Object.entries(p.reasonCounts ?? {}).sort((a, b) => b[1] - a[1]);
    if (reasons.length > 0) {
      out(
        `  reasons: ${reasons
          .slice(0, 4)
          .map(([r, n]) => `${r} ×${n}`)
          .join('; ')}`,
      );
    }
  }
  const fmt = (g: { lists: number; metrics: Record<string, { mean: number }> }) =>
    `watch ${g.metrics.expectedWatchTimeS.mean.toFixed(1)} s, clicks ${g.metrics.expectedClicks.mean.toFixed(3)}, ` +
    `NDCG@10 ${g.metrics.ndcgAt10.mean.toFixed(3)}, diversity ${g.metrics.intraListDiversity.mean.toFixed(2)} (${g.lists} lists)`;
  out('quality (ground truth, expected per list):');
  for (const [phase, scope] of Object.entries(s.quality.served.byPhase)) {
    for (const [rung, g] of Object.entries(scope.byRung))
      out(`  ${phase.padEnd(8)} ${rung.padEnd(17)} ${fmt(g)}`);
  }
  for (const [ref, g] of Object.entries(s.quality.references.all.byRung))
    out(`  reference ${ref.padEnd(15)} ${fmt(g)}`);
  for (const f of s.faults) {
    const when = f.startedAt
      ? ` ${f.startedAt.slice(11, 23)} → ${f.endedAt?.slice(11, 23) ?? 'not ended'}`
      : '';
    out(
      `fault ${f.target} ${f.kind} (phase ${f.phase}, ${f.fromS}–${f.toS ?? f.fromS} s): ${f.status}${when}` +
        (f.message ? ` (${f.message})` : ''),
    );
  }
  for (const a of s.assertions) out(`  ${assertionLine(a)}`);
  if (s.impressions) {
    out(
      `impressions: ${s.impressions.responses200} responses 200, ${s.impressions.published} published by the core, ` +
        `${s.impressions.distinctOnTopic} distinct on the topic (${s.impressions.messagesOnTopic} messages)`,
    );
  }
  if (s.events) {
    out(
      `events: ${s.events.accepted} accepted by the core, ${s.events.distinctOnTopic} distinct on the topic ` +
        `(${s.events.messagesOnTopic} messages), ${s.events.lost} accepted but missing`,
    );
  }
  if (s.coreExitCode !== undefined)
    out(
      `core: exit ${s.coreExitCode}${s.coreExitCode === 0 ? '' : ' (not a clean stop: data it held may be lost)'}`,
    );
  for (const w of s.warnings) out(`warning: ${w}`);
  out(
    `reports: ${s.outDir}/summary.json  ${s.outDir}/junit.xml  ${s.outDir}/index.html${s.target ? '' : `  (core log: ${s.outDir}/core.log)`}`,
  );
  if (!s.passed) out(`seed=${s.world.seed} rerun: ${replay}`);
}

/** `✓ expression   observed x`, `✗ … (note)`, or `- … skipped: why`. */
export function assertionLine(a: {
  expression: string;
  observed: number;
  passed: boolean;
  skipped?: string;
  note?: string;
}): string {
  if (a.skipped) return `- ${a.expression}   skipped: ${a.skipped}`;
  return `${a.passed ? '✓' : '✗'} ${a.expression}   observed ${a.observed}${a.note ? ` (${a.note})` : ''}`;
}
