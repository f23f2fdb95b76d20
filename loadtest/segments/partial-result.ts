/**
 * A partial run result (issue 14): what one segment's load generator measured (`reclab load
 * --segment i/N`), and the merge of N of them into one RunResult (`reclab merge`).
 *
 * A partial carries the scenario as it was run (scaled), the seed and its segment, and per phase the
 * driver's full result: HdrHistograms (compressed base64), counts, rung mix, per-second series. The
 * merge checks that the parts are the N segments of one schedule — same scenario (hash), seed and
 * N, each index once, and per phase the slots they scheduled add up to the whole schedule's slots —
 * then merges each phase with merge-phases.ts and evaluates the scenario's assertions on the
 * merged phases. What a segment cannot see is skipped, never guessed: impressions and events on the
 * topics, ground-truth quality (no world scoring in a load process), fault records.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { seededRandom } from '../../core/random/seeded-random.ts';
import type { RunResult } from '../../reports/model.ts';
import { SCHEMA_VERSION } from '../../reports/model.ts';
import { arrivalSchedule, describeArrivals } from '../../scenarios/arrivals.ts';
import { evaluate, type PhaseMeasurement } from '../../scenarios/assertions.ts';
import { parseScenario, type ScenarioDefinition } from '../../scenarios/define.ts';
import { formatSegment, type SegmentSpec } from '../../scenarios/segments.ts';
import type { PhaseResult } from '../drivers/autocannon/open-model.ts';
import { EXIT } from '../run-verdict.ts';
import { MergeError, mergePhaseResults } from './merge-phases.ts';

export const PARTIAL_FORMAT = 'reclab.partial-result/1';

export interface PartialResult {
  format: typeof PARTIAL_FORMAT;
  /** The scenario as run (rates and durations already scaled). */
  scenario: ScenarioDefinition;
  /** sha256 of the scenario's JSON: the merge refuses parts of different scenarios. */
  scenarioHash: string;
  seed: number;
  segment: SegmentSpec;
  /** The core that was driven. */
  target: string;
  /** The world the requests were drawn from, and the target's model version (`unknown` if unread). */
  worldHash: string;
  modelVersion: string;
  /** Which driver measured: `open-model` (reclab's) or `vegeta`. */
  driver: string;
  startedAt: string;
  endedAt: string;
  phases: PhaseResult[];
}

/** sha256 (hex) of a scenario's canonical JSON. */
export function scenarioHash(s: ScenarioDefinition): string {
  return createHash('sha256').update(JSON.stringify(s)).digest('hex');
}

/**
 * Reads and checks a partial result file.
 * @throws MergeError RECLAB_ERR_MERGE_INVALID for an unreadable file, another format, or a scenario
 *   that does not validate
 */
export async function readPartial(path: string): Promise<PartialResult> {
  let value: PartialResult;
  try {
    value = JSON.parse(await readFile(path, 'utf8')) as PartialResult;
  } catch (err) {
    throw new MergeError(`${path}: not a readable partial result (${(err as Error).message})`);
  }
  if (value?.format !== PARTIAL_FORMAT)
    throw new MergeError(`${path}: format is ${JSON.stringify(value?.format)}, expected ${PARTIAL_FORMAT}`);
  try {
    parseScenario(value.scenario, `${path} scenario`);
  } catch (err) {
    throw new MergeError((err as Error).message);
  }
  return value;
}

/** Slots of a phase's whole schedule (the count one generator would send), for the merge's check. */
export function wholeScheduleSlots(phase: ScenarioDefinition['phases'][number], seed: number): number {
  const schedule = arrivalSchedule(
    phase.arrivals,
    phase.durationS,
    seededRandom(seed).stream(`arrivals.${phase.name}`),
  );
  let n = 0;
  while (schedule.next() !== undefined) n++;
  return n;
}

/**
 * Checks that `parts` are exactly the N segments of one run of one scenario, and that per phase
 * their scheduled slots (warm-up and measured windows) add up to the whole schedule's.
 * @throws MergeError RECLAB_ERR_MERGE_INVALID naming every problem found
 */
export function checkSegmentsComplete(parts: readonly PartialResult[]): void {
  if (parts.length === 0) throw new MergeError('no partial results');
  const problems: string[] = [];
  const first = parts[0];
  const n = first.segment.count;
  const seen = new Map<number, number>();
  for (const p of parts) {
    const who = `segment ${formatSegment(p.segment)}`;
    if (p.scenarioHash !== first.scenarioHash || scenarioHash(p.scenario) !== p.scenarioHash)
      problems.push(`${who}: another scenario (hash ${p.scenarioHash.slice(0, 12)})`);
    if (p.seed !== first.seed) problems.push(`${who}: seed ${p.seed}, not ${first.seed}`);
    if (p.segment.count !== n) problems.push(`${who}: of ${p.segment.count} segments, not ${n}`);
    seen.set(p.segment.index, (seen.get(p.segment.index) ?? 0) + 1);
  }
  for (let i = 0; i < n; i++) {
    const c = seen.get(i) ?? 0;
    if (c === 0) problems.push(`segment ${i}/${n} missing`);
    if (c > 1) problems.push(`segment ${i}/${n} given ${c} times`);
  }
  if (problems.length === 0) {
    for (const phase of first.scenario.phases) {
      const whole = wholeScheduleSlots(phase, first.seed);
      let got = 0;
      for (const p of parts) {
        const r = p.phases.find((x) => x.phase === phase.name);
        if (!r) {
          problems.push(`segment ${formatSegment(p.segment)}: no result for phase ${phase.name}`);
          continue;
        }
        got += r.scheduled + r.warmup.scheduled;
      }
      if (got !== whole)
        problems.push(
          `phase ${phase.name}: the segments scheduled ${got} slots, the whole schedule has ${whole}`,
        );
    }
  }
  if (problems.length)
    throw new MergeError(`the partial results are not one whole run:\n  - ${problems.join('\n  - ')}`);
}

/** A merged phase as the assertions read it. */
export function measurementOf(p: PhaseResult, warmup: boolean): PhaseMeasurement {
  return {
    phase: p.phase,
    warmup,
    offeredQps: p.offeredQps,
    achievedQps: p.achievedQps,
    latencyMs: p.latencyMs,
    histogramBase64: p.histogramBase64,
    statusCounts: { ...p.statusCounts, shed: p.shed },
    rungCounts: p.rungCounts,
    reasonCounts: p.reasonCounts,
    shortLists: p.shortLists,
    unexplainedDegraded: p.unexplainedDegraded,
    startedAtMs: Date.parse(p.startedAt),
    series: p.series,
  };
}

export interface MergeContext {
  runId: string;
  reclabVersion: string;
  machine: RunResult['machine'];
}

/**
 * N partial results → one RunResult: phases merged from histograms, assertions evaluated on them.
 * Impressions, events and quality are not measured by load processes (their assertions are
 * skipped, with the reason); warnings say so.
 * @throws MergeError RECLAB_ERR_MERGE_INVALID when the parts are not one whole run
 */
export function mergePartials(parts: readonly PartialResult[], ctx: MergeContext): RunResult {
  checkSegmentsComplete(parts);
  const sorted = [...parts].sort((a, b) => a.segment.index - b.segment.index);
  const scenario = sorted[0].scenario;
  const phases = scenario.phases.map((ph) =>
    mergePhaseResults(sorted.map((p) => p.phases.find((x) => x.phase === ph.name)!)),
  );
  const measurements = phases.map((p, i) => measurementOf(p, scenario.phases[i].warmup === true));
  const responses200 = phases.reduce((a, p) => a + p.statusCounts['2xx'] + p.warmup.statusCounts['2xx'], 0);
  const assertions = scenario.assertions.map((a) =>
    evaluate(a, { phases: measurements, responses200, impressionsOnTopic: undefined, eventsLost: undefined }),
  );
  const passed = assertions.every((a) => a.passed);
  // Seconds with answered requests but no merged histogram: a part predates bucket histograms.
  const boundedSeconds = phases
    .flatMap((p) => [...p.series.buckets, ...p.warmup.series.buckets])
    .filter((b) => b.p99Ms > 0 && !b.histogramBase64).length;
  const warnings = [
    `merged from ${sorted.length} segment(s) of ${sorted[0].driver} load generators against ${[...new Set(sorted.map((p) => p.target))].join(', ')}`,
    'impressions, events and ground-truth quality are not measured by load generators: their assertions are skipped',
    ...(boundedSeconds > 0
      ? [
          `per-second p99 of ${boundedSeconds} second(s) is the highest of the segments’ (an upper bound): a segment recorded no histogram for them`,
        ]
      : []),
  ];
  return {
    schemaVersion: SCHEMA_VERSION,
    runId: ctx.runId,
    scenario: scenario.name,
    mode: 'live',
    seed: sorted[0].seed,
    worldHash: sorted[0].worldHash,
    versions: {
      reclab: ctx.reclabVersion,
      node: process.version,
      modelVersion: sorted[0].modelVersion,
      images: {},
    },
    machine: ctx.machine,
    startedAt: sorted.map((p) => p.startedAt).sort()[0],
    endedAt: sorted
      .map((p) => p.endedAt)
      .sort()
      .at(-1)!,
    phases: phases.map((p, i) => ({
      name: p.phase,
      warmup: scenario.phases[i].warmup === true,
      offeredQps: p.offeredQps,
      arrivals: describeArrivals(scenario.phases[i].arrivals),
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
    })),
    assertions,
    faults: [],
    warnings,
    target: sorted[0].target,
    outcome: passed ? 'pass' : 'fail',
    exitCode: passed ? EXIT.pass : EXIT.budgetBreached,
  };
}
