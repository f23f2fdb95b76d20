/**
 * One segment's load (issue 14, `reclab load --segment i/N`): every phase of a scenario, in order,
 * with reclab's open-model driver sending only the segment's slots (scenarios/segments.ts) at a
 * running core, and the results as a partial run result (partial-result.ts).
 *
 * When a phase starts is the caller's: `phaseGate` is awaited once the phase's connection pool is
 * up, just before its schedule starts (and `beforePool` before the pool connects). Two gates exist:
 * - `timetableGate`: phase k starts at `startAtMs + Σ_{j<k} (durationS_j + PHASE_GAP_S)` — the
 *   fixed timetable N pods on a cluster agree on without talking to each other (k6's `startTime`);
 *   `timetablePoolWait` holds the pool back until POOL_LEAD_S before that time;
 * - the coordinator's barrier (instances.ts, `reclab run --load-instances N`): each process says it
 *   is ready and starts at the time the coordinator answers, so phases also start together.
 *
 * Requests: `POST /v1/recommendations` for a user drawn uniformly from the scenario's world (seeded
 * stream `loadtest.requests.segment-<i>-of-<N>`, so each segment's request stream is reproducible),
 * with the user's region as context — the same request mix as `reclab run`.
 */
import { REGIONS } from '../../core/features/schema.ts';
import { seededRandom } from '../../core/random/seeded-random.ts';
import type { Phase, ScenarioDefinition } from '../../scenarios/define.ts';
import type { SegmentSpec } from '../../scenarios/segments.ts';
import { generateWorld, worldHash } from '../../sim/world/index.ts';
import {
  type LiveProgress,
  type PhaseResult,
  type RequestSpec,
  runOpenModel,
} from '../drivers/autocannon/open-model.ts';
import { PARTIAL_FORMAT, type PartialResult, scenarioHash } from './partial-result.ts';

/** Items each request asks for (as reclab run). */
export const PAGE_COUNT = 30;
/** Seconds between two phases on the timetable: room for the drain of the last requests and the next pool. */
export const PHASE_GAP_S = 2;

/** The request mix's source: user ids and their regions, from the scenario's world. */
export interface RequestMix {
  users: number;
  regionOf(u: number): string;
  worldHash: string;
}

/** The world of `scenario` (seeded) as a request mix. Generating 20k × 10k takes about 2 s. */
export function requestMixOf(scenario: ScenarioDefinition, seed: number): RequestMix {
  const w = generateWorld({ seed, users: scenario.world.users, videos: scenario.world.videos });
  return { users: scenario.world.users, regionOf: (u) => REGIONS[w.userRegion[u]], worldHash: worldHash(w) };
}

/** A recommendation request for user `u` (the body `reclab run` sends). */
export function recommendationRequest(u: number, region: string): RequestSpec {
  return {
    method: 'POST',
    path: '/v1/recommendations',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: `u_${u}`, count: PAGE_COUNT, context: { region } }),
  };
}

export interface SegmentRunOptions {
  /** As run: already scaled. */
  scenario: ScenarioDefinition;
  seed: number;
  segment: SegmentSpec;
  /** Base URL of the core, e.g. http://10.0.0.7:8080. */
  target: string;
  /** Defaults to the scenario's world (requestMixOf). */
  mix?: RequestMix;
  /**
   * Awaited before each phase's pool connects. A long wait (a timetable minutes ahead) belongs here,
   * not in `phaseGate`: the driver's engine has a run-time limit from the moment its pool exists
   * (the phase's length plus a margin), and a server may close connections that sit idle.
   */
  beforePool?: (phase: Phase, index: number) => Promise<void>;
  /** Awaited before each phase's schedule starts (after its pool connected). Default: start at once. */
  phaseGate?: (phase: Phase, index: number) => Promise<void>;
  /** Each phase's result as soon as it has drained. */
  onPhase?: (result: PhaseResult) => void;
  onProgress?: (p: LiveProgress) => void;
  log: (line: string) => void;
}

/** The stream a segment draws its users from. */
export const requestStreamName = (s: SegmentSpec): string =>
  `loadtest.requests.segment-${s.index}-of-${s.count}`;

/**
 * Runs every phase of the segment and returns its partial result.
 * @throws OpenModelError from the driver (RECLAB_ERR_LOADTEST_*), e.g. a gate that rejects
 */
export async function runSegment(opts: SegmentRunOptions): Promise<PartialResult> {
  const { scenario, seed, segment } = opts;
  const target = opts.target.replace(/\/+$/, '');
  const mix = opts.mix ?? requestMixOf(scenario, seed);
  const modelVersion = await readModelVersion(target);
  const random = seededRandom(seed);
  const rnd = random.stream(requestStreamName(segment));
  const startedAt = new Date().toISOString();
  const phases: PhaseResult[] = [];
  for (const [k, phase] of scenario.phases.entries()) {
    await opts.beforePool?.(phase, k);
    const result = await runOpenModel({
      url: target,
      arrivals: phase.arrivals,
      // The whole schedule's stream: every segment walks the same schedule and keeps its slots.
      random: random.stream(`arrivals.${phase.name}`),
      durationS: phase.durationS,
      phase: phase.name,
      segment,
      beforeStart: opts.phaseGate ? () => opts.phaseGate!(phase, k) : undefined,
      onProgress: opts.onProgress,
      makeRequest: () => {
        const u = rnd.int(mix.users);
        return recommendationRequest(u, mix.regionOf(u));
      },
    });
    phases.push(result);
    opts.onPhase?.(result);
    opts.log(
      `segment ${segment.index}/${segment.count} phase ${phase.name}: offered ${result.offeredQps} QPS, ` +
        `achieved ${result.achievedQps.toFixed(1)} QPS, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, ` +
        `late ${result.late} dropped ${result.dropped}`,
    );
  }
  return {
    format: PARTIAL_FORMAT,
    scenario,
    scenarioHash: scenarioHash(scenario),
    seed,
    segment,
    target,
    worldHash: mix.worldHash,
    modelVersion,
    driver: 'open-model',
    startedAt,
    endedAt: new Date().toISOString(),
    phases,
  };
}

/** Epoch ms at which phase `k` starts on the fixed timetable that begins at `startAtMs`. */
export function timetableStartMs(scenario: ScenarioDefinition, startAtMs: number, k: number): number {
  let at = startAtMs;
  for (let j = 0; j < k; j++) at += (scenario.phases[j].durationS + PHASE_GAP_S) * 1000;
  return at;
}

/**
 * The fixed-timetable gate: waits until the phase's time (a phase already late starts at once and
 * says so on `log`: its segments no longer start together).
 */
export function timetableGate(
  scenario: ScenarioDefinition,
  startAtMs: number,
  log: (line: string) => void,
): (phase: Phase, k: number) => Promise<void> {
  return async (phase, k) => {
    const at = timetableStartMs(scenario, startAtMs, k);
    const waitMs = at - Date.now();
    if (waitMs < -1000)
      log(`phase ${phase.name} starts ${(-waitMs / 1000).toFixed(1)} s after its time on the timetable`);
    await sleepUntil(at);
  };
}

/**
 * Seconds before its time on the timetable that a phase opens its connection pool: enough to
 * connect, short enough that the driver's run-time limit and idle connections are no issue.
 */
export const POOL_LEAD_S = 5;

/**
 * The wait before a phase's pool connects on the fixed timetable: until POOL_LEAD_S before the
 * phase's time (`timetableGate` waits the rest once the pool is up). With `--start-at` minutes
 * ahead, as on a cluster, the long wait happens here, with no pool open.
 */
export function timetablePoolWait(
  scenario: ScenarioDefinition,
  startAtMs: number,
): (phase: Phase, k: number) => Promise<void> {
  return (_phase, k) => sleepUntil(timetableStartMs(scenario, startAtMs, k) - POOL_LEAD_S * 1000);
}

/** Resolves at epoch ms `at` (at once when it has passed). */
export async function sleepUntil(at: number): Promise<void> {
  const waitMs = at - Date.now();
  if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
}

/** The target's active model version from GET /readyz, or `unknown`. */
async function readModelVersion(target: string): Promise<string> {
  try {
    const r = await fetch(`${target}/readyz`, { signal: AbortSignal.timeout(2000) });
    const v = ((await r.json()) as { model_version?: unknown }).model_version;
    return typeof v === 'string' && v ? v : 'unknown';
  } catch {
    return 'unknown';
  }
}
