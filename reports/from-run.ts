import type { RunSummary } from '../loadtest/run.ts';
import { describeArrivals } from '../scenarios/arrivals.ts';
import type { ScenarioDefinition } from '../scenarios/define.ts';
import { type RunResult, SCHEMA_VERSION } from './model.ts';

export interface RunContext {
  scenario: ScenarioDefinition;
  seed: number;
  startedAt: Date;
  endedAt: Date;
  reclabVersion: string;
  machine: RunResult['machine'];
  images: Record<string, string>;
}

/** Turns the live runner's summary into the versioned RunResult every report renders. */
export function buildRunResult(s: RunSummary, ctx: RunContext): RunResult {
  return {
    schemaVersion: SCHEMA_VERSION,
    runId: s.runId,
    scenario: ctx.scenario.name,
    mode: 'live',
    seed: ctx.seed,
    worldHash: s.world.worldHash,
    versions: {
      reclab: ctx.reclabVersion,
      node: process.version,
      modelVersion: s.world.modelVersion,
      images: ctx.images,
    },
    machine: ctx.machine,
    startedAt: ctx.startedAt.toISOString(),
    endedAt: ctx.endedAt.toISOString(),
    phases: s.phases.map((p, i) => ({
      name: p.phase,
      warmup: ctx.scenario.phases[i]?.warmup === true,
      offeredQps: p.offeredQps,
      arrivals: ctx.scenario.phases[i] ? describeArrivals(ctx.scenario.phases[i].arrivals) : undefined,
      startedAt: p.startedAt,
      achievedQps: p.achievedQps,
      durationS: p.durationS,
      latencyMs: p.latencyMs,
      statusCounts: { ...p.statusCounts, shed: p.shed },
      late: p.late,
      dropped: p.dropped,
      rungCounts: p.rungCounts,
      reasonCounts: p.reasonCounts,
      shortLists: p.shortLists,
      unexplainedDegraded: p.unexplainedDegraded,
      histogramBase64: p.histogramBase64 || undefined,
      latencyFromSendMs: p.latencyFromSendMs,
      sendLagMs: p.sendLagMs,
      series: p.series,
      cpu: p.cpu,
    })),
    assertions: s.assertions,
    impressions: s.impressions
      ? { published: s.impressions.published, consumedOnTopic: s.impressions.distinctOnTopic }
      : undefined,
    faults: s.faults,
    warnings: s.warnings.length ? s.warnings : undefined,
    target: s.target,
    quality: s.quality,
    userEvents: s.userEvents,
    events: s.events,
    viral: s.viral,
    coldStart: s.coldStart,
    coreExitCode: s.coreExitCode,
    outcome: s.exitCode === 0 ? 'pass' : 'fail',
    exitCode: s.exitCode,
  };
}
