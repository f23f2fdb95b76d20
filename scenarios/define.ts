/**
 * The scenario model, v2 (issue 12; ARCHITECTURE.md "scenarios/"): the contract of the whole lab.
 * A scenario is data plus assertions — the world, phases (each with an arrival process and faults
 * as data) and k6-like thresholds — and one definition serves both runners: the live runner
 * (loadtest/run.ts) and the simulator (sim/run/simulate.ts). docs/scenarios.md is the guide.
 *
 * `ScenarioSchema` is the source of truth; `defineScenario` validates with it and reports every
 * problem at once, one line each, with its path (`phases[2].faults[0].toS: …`).
 */
import { z } from 'zod';
import { loadConfig } from '../core/config/config.ts';
import type { ArrivalProcess } from './arrivals.ts';
import { CoreSettingsSchema, coreEnvOf } from './core-settings.ts';

/** Thrown for a scenario that does not validate, or that cannot be found or loaded (CLI exit 2). */
export class ScenarioError extends Error {
  readonly code = 'RECLAB_ERR_SCENARIO_INVALID';
  /** One line per problem. */
  readonly problems: readonly string[];
  constructor(message: string, problems: readonly string[] = []) {
    super(problems.length ? `${message}\n${problems.map((p) => `  - ${p}`).join('\n')}` : message);
    this.name = 'ScenarioError';
    this.problems = problems;
  }
}

const rate = z.number().nonnegative().finite();
const positiveS = z.number().positive().finite();
const spacing = z.enum(['even', 'poisson']).optional();

/** See scenarios/arrivals.ts for what each process means. */
export const ArrivalProcessSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('constant'), rateQps: rate, spacing }).strict(),
  z.object({ kind: z.literal('poisson'), rateQps: rate }).strict(),
  z.object({ kind: z.literal('ramp'), fromQps: rate, toQps: rate, spacing }).strict(),
  z
    .object({
      kind: z.literal('step'),
      fromQps: rate,
      stepQps: z.number().finite(),
      everyS: positiveS,
      spacing,
    })
    .strict(),
  z
    .object({
      kind: z.literal('spike'),
      baseQps: rate,
      peakQps: rate,
      atS: z.number().nonnegative().finite(),
      riseS: z.number().nonnegative().finite(),
      holdS: z.number().nonnegative().finite().optional(),
      decayS: z.number().nonnegative().finite(),
      spacing,
    })
    .strict(),
]);

/**
 * The fault window inside its phase, seconds from the phase start: applied at `fromS` (default 0),
 * reverted at `toS` (default the phase's end). `restart_empty` is an event, not a state: no `toS`.
 */
const windowFields = {
  fromS: z.number().nonnegative().finite().default(0),
  toS: positiveS.optional(),
};
/** Simulated runs only: how many nodes of the target's pool (Redis shards, ranker nodes), the first ones. */
const nodes = z.number().int().positive().optional();
const networkFields = {
  /** `latency`: added to every round trip, ms. */
  latencyMs: z.number().nonnegative().finite().optional(),
  /** `latency`: uniform ± jitter around `latencyMs`, ms (Toxiproxy's latency toxic). */
  jitterMs: z.number().nonnegative().finite().optional(),
  /** `timeout`: each connection closed after this long (0: held open); `reset_peer`: reset after it. */
  timeoutMs: z.number().nonnegative().finite().optional(),
  /** `bandwidth`: at most this many KB/s each way. */
  rateKBps: z.number().positive().finite().optional(),
};
const NETWORK_KINDS = ['latency', 'timeout', 'reset_peer', 'bandwidth'] as const;

/**
 * A fault as data (issue 12). Kinds by target:
 * - `redis`: `down` (container stopped; back with its data), `hang` (container paused: connections
 *   accepted, nothing answered), `restart_empty` (FLUSHALL, SIGKILL, started empty), and through
 *   the network (Toxiproxy): `latency` (`latencyMs` ± `jitterMs` on every round trip), `timeout`
 *   (nothing gets through; connections closed after `timeoutMs`, 0 = held), `reset_peer`
 *   (connections reset after `timeoutMs`, default 0), `bandwidth` (`rateKBps` each way);
 * - `kafka`: `down`, `hang`, and the same network kinds;
 * - `ranker_tier` (needs `rankerTier: true`): `down` (process SIGKILLed, restarted at the end),
 *   `hang` (SIGSTOP … SIGCONT), `slow` (each reply × `slowFactor`, default 10), `nan` (scores NaN);
 * - `ann_index`: `missing` (the ANN sources fail: two-tower and content retrieval), `stale`.
 */
export const FaultSchema = z.discriminatedUnion('target', [
  z
    .object({
      target: z.literal('redis'),
      kind: z.enum(['down', 'hang', 'restart_empty', ...NETWORK_KINDS]),
      ...windowFields,
      ...networkFields,
      nodes,
    })
    .strict(),
  z
    .object({
      target: z.literal('kafka'),
      kind: z.enum(['down', 'hang', ...NETWORK_KINDS]),
      ...windowFields,
      ...networkFields,
    })
    .strict(),
  z
    .object({
      target: z.literal('ranker_tier'),
      kind: z.enum(['down', 'hang', 'slow', 'nan']),
      ...windowFields,
      /** For `slow`: each reply takes this many times as long (default 10). */
      slowFactor: z.number().min(1).finite().optional(),
      nodes,
    })
    .strict(),
  z.object({ target: z.literal('ann_index'), kind: z.enum(['missing', 'stale']), ...windowFields }).strict(),
]);

/**
 * A viral video inside a phase (issue 12, viral-spike): from `atS` (s from the phase start) to the
 * phase's end, `users` distinct simulated users send `watch` events for ONE video — drawn (seeded)
 * among recent, not-yet-popular videos of one region — at `eventsPerS` events/s in total. The live
 * runner measures how long until the video first appears in a list served to a user of that region
 * (`viral_time_to_list_s`); the simulator ignores it.
 */
export const ViralSchema = z
  .object({
    atS: z.number().nonnegative().finite(),
    users: z.number().int().positive().max(100_000),
    eventsPerS: z.number().positive().max(5_000),
  })
  .strict();

/**
 * A wave of new users signing up in a phase (issue 12, cold-start): `users` distinct users of the
 * world, drawn (seeded, stream `loadtest.cold.users`), have no record in Redis beyond what the
 * request's context carries (region): the live runner deletes their user record and subscriptions
 * before the core starts, and never asks for them before this phase. From this phase on, `share`
 * of the requests are theirs (cohort `cold`; everyone else is `warm`). The simulator ignores it.
 */
export const NewUsersSchema = z
  .object({
    users: z.number().int().positive().max(100_000),
    share: z.number().positive().max(1),
  })
  .strict();

/**
 * A wave of new uploads in a phase (issue 12, cold-start): the world's `videos` newest videos
 * (editorial ones excepted) are held back — not in Redis, the popularity sets or the creators'
 * uploads, their rows zeroed in the core's item and content embeddings — and uploaded from `atS`
 * over `overS` seconds (s from the phase start; one batch a second): the runner writes each record
 * (upload time now, no views) and announces it with `POST /v1/videos/fresh`, which puts it in the
 * core's fresh index. The simulator ignores it.
 */
export const UploadsSchema = z
  .object({
    videos: z.number().int().positive().max(5_000),
    atS: z.number().nonnegative().finite(),
    overS: z.number().nonnegative().finite(),
  })
  .strict();

export const PhaseSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9_-]*$/, 'lower case letters, digits, _ and -, starting with a letter'),
    durationS: positiveS,
    arrivals: ArrivalProcessSchema,
    /** Warm-up phases are driven but excluded from assertions (Measurement rules). */
    warmup: z.boolean().optional(),
    faults: z.array(FaultSchema).optional(),
    viral: ViralSchema.optional(),
    newUsers: NewUsersSchema.optional(),
    uploads: UploadsSchema.optional(),
  })
  .strict();

const op = z.enum(['<', '<=', '==', '>=', '>']);
const phaseTag = z.string().min(1).optional();
const countStat = z.literal('count');
const rateStat = z.literal('rate');

/**
 * Assertions (scenarios/assertions.ts evaluates them; docs/scenarios.md lists them). `phase`
 * filters by phase; absent means every measured (non-warm-up) phase, merged.
 */
export const AssertionSchema = z.discriminatedUnion('metric', [
  z
    .object({
      metric: z.literal('http_req_duration'),
      /** `p(N)` for any 0 < N ≤ 100 (`p(99.9)`), or `max`; ms from the intended send time. */
      stat: z.string().regex(/^(p\((100|[1-9]?\d(\.\d+)?)\)|max)$/, 'p(N) with 0 < N ≤ 100, or max'),
      op,
      value: z.number().finite(),
      phase: phaseTag,
    })
    .strict(),
  z
    .object({
      metric: z.enum([
        'errors_5xx',
        'errors_5xx_other',
        'errors_shed',
        'errors_transport',
        'short_lists',
        'degraded_unexplained',
      ]),
      stat: countStat,
      op,
      value: z.number().finite(),
      phase: phaseTag,
    })
    .strict(),
  z
    .object({
      metric: z.literal('achieved_rate_ratio'),
      stat: rateStat,
      op,
      value: z.number(),
      phase: phaseTag,
    })
    .strict(),
  z
    .object({
      metric: z.literal('rung_share'),
      rung: z.string().min(1),
      stat: rateStat,
      op,
      value: z.number(),
      phase: phaseTag,
    })
    .strict(),
  z
    .object({
      metric: z.literal('reason_share'),
      /** One degradation reason as `"<stage> <code>"` (`meta.reasons`). */
      reason: z.string().min(1),
      stat: rateStat,
      op,
      value: z.number(),
      phase: phaseTag,
    })
    .strict(),
  z
    .object({ metric: z.enum(['impressions_lost', 'events_lost']), stat: countStat, op, value: z.number() })
    .strict(),
  z
    .object({
      /** Seconds from the first viral event until the video is in a list served to its region. */
      metric: z.literal('viral_time_to_list_s'),
      stat: z.literal('max').default('max'),
      op,
      value: z.number().finite(),
    })
    .strict(),
  z
    .object({
      metric: z.enum([
        'quality.expected_watch_time',
        'quality.ndcg_at_10',
        'quality.fresh_share',
        'quality.coverage',
      ]),
      /**
       * `mean` over the phase's served lists (coverage: distinct videos served ÷ catalogue), or
       * `ratio_to` that figure in the `baseline` phase.
       */
      stat: z.enum(['mean', 'ratio_to']),
      phase: z.string().min(1),
      baseline: phaseTag,
      /** Only lists served by this rung. */
      rung: z.string().min(1).optional(),
      /** Only lists served to this cohort (needs a phase with `newUsers`): new users or the others. */
      cohort: z.enum(['cold', 'warm']).optional(),
      /** `ratio_to`: the baseline's cohort (default: every user). */
      baselineCohort: z.enum(['cold', 'warm']).optional(),
      op,
      value: z.number().finite(),
    })
    .strict(),
  z
    .object({
      /** Seconds from each upload's 202 until it is first in a served list; never served = ∞. */
      metric: z.literal('uploads_time_to_list_s'),
      stat: z.string().regex(/^(p\((100|[1-9]?\d(\.\d+)?)\)|max)$/, 'p(N) with 0 < N ≤ 100, or max'),
      op,
      value: z.number().finite(),
    })
    .strict(),
  z
    .object({
      /**
       * `uploads_served_share`: uploads that were in at least one served list ÷ uploads (the whole
       * run); `uploads_item_share`: served items that are new uploads ÷ served items (the phase's
       * fresh-content share); `uploads_exploration_share`: served new-upload items placed by an
       * exploration slot ÷ served new-upload items.
       */
      metric: z.enum(['uploads_served_share', 'uploads_item_share', 'uploads_exploration_share']),
      stat: rateStat,
      op,
      value: z.number(),
      phase: phaseTag,
    })
    .strict(),
  z
    .object({
      /** Held-back videos served before their upload (the held-back set leaked): must be 0. */
      metric: z.literal('uploads_leaked'),
      stat: countStat,
      op,
      value: z.number(),
    })
    .strict(),
  z
    .object({
      metric: z.literal('recovery_time_s'),
      /** The longest recovery over the faults selected (by `phase` and `target`). */
      stat: z.literal('max').default('max'),
      op,
      value: z.number().finite(),
      /** Faults of this phase; absent: every fault of the run. */
      phase: phaseTag,
      target: z.enum(['redis', 'kafka', 'ranker_tier', 'ann_index']).optional(),
      /** The phase whose p99 and rung mix are "normal". */
      baseline: z.string().min(1),
      /** A second is within bounds when its p99 ≤ baseline p99 × this (default 1.5). */
      p99Factor: z.number().min(1).finite().optional(),
      /** … and its rung mix is within this total-variation distance of the baseline's (default 0.1). */
      rungMixTolerance: z.number().min(0).max(1).optional(),
      /** Consecutive seconds within bounds that count as recovered (default 3). */
      stableS: z.number().int().min(1).optional(),
    })
    .strict(),
]);

export const ScenarioSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9-]*$/, 'lower case letters, digits and -'),
    description: z.string().min(1),
    world: z.object({ users: z.number().int().positive(), videos: z.number().int().positive() }).strict(),
    phases: z.array(PhaseSchema).min(1),
    assertions: z.array(AssertionSchema),
    /** Core settings the scenario needs, on top of the core's defaults (scenarios/core-settings.ts). */
    core: CoreSettingsSchema.optional(),
    /**
     * Run the main ranker as its own tier process (core/ranker-tier/, the stand-in for the GPU pool)
     * instead of inside the core; the light ranker stays in the core.
     */
    rankerTier: z.boolean().optional(),
    /**
     * The simulated users send click/watch/like events for what they are served to POST /v1/events
     * (loadtest/user-activity.ts); default true. False: requests only.
     */
    userEvents: z.boolean().optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    const problem = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: 'custom', path, message });
    const names = new Map<string, number>();
    s.phases.forEach((p, i) => {
      if (names.has(p.name)) problem(['phases', i, 'name'], `duplicate phase name '${p.name}'`);
      names.set(p.name, i);
      const a = p.arrivals;
      if (a.kind === 'spike') {
        const end = a.atS + a.riseS + (a.holdS ?? 0) + a.decayS;
        if (end > p.durationS + 1e-9)
          problem(
            ['phases', i, 'arrivals'],
            `spike ends at ${end} s (atS + riseS + holdS + decayS), after the phase's ${p.durationS} s`,
          );
      }
      if (a.kind === 'step') {
        const last = a.fromQps + Math.max(0, Math.ceil(p.durationS / a.everyS) - 1) * a.stepQps;
        if (last < 0) problem(['phases', i, 'arrivals', 'stepQps'], `the rate falls below 0 (${last}/s)`);
      }
      const offers =
        a.kind === 'constant' || a.kind === 'poisson'
          ? a.rateQps > 0
          : a.kind === 'ramp'
            ? a.fromQps + a.toQps > 0
            : a.kind === 'step'
              ? a.fromQps > 0 || a.stepQps > 0
              : a.baseQps + a.peakQps > 0;
      if (!offers) problem(['phases', i, 'arrivals'], 'the process offers no request');
      if (p.viral && p.viral.atS >= p.durationS)
        problem(['phases', i, 'viral', 'atS'], `${p.viral.atS} s is not inside the phase (${p.durationS} s)`);
      if (p.viral && s.userEvents === false)
        problem(
          ['phases', i, 'viral'],
          "a viral video needs the simulated users' events (userEvents not false)",
        );
      if (p.uploads && p.uploads.atS + p.uploads.overS > p.durationS + 1e-9)
        problem(
          ['phases', i, 'uploads'],
          `uploads end at ${p.uploads.atS + p.uploads.overS} s (atS + overS), after the phase's ${p.durationS} s`,
        );
      if (p.uploads && p.uploads.videos > s.world.videos / 2)
        problem(['phases', i, 'uploads', 'videos'], `at most half the catalogue (${s.world.videos / 2})`);
      if (p.newUsers && p.newUsers.users > s.world.users / 2)
        problem(['phases', i, 'newUsers', 'users'], `at most half the users (${s.world.users / 2})`);
      (p.faults ?? []).forEach((f, j) => {
        const at = ['phases', i, 'faults', j];
        if (f.fromS >= p.durationS)
          problem([...at, 'fromS'], `${f.fromS} s is not inside the phase (${p.durationS} s)`);
        if (f.toS !== undefined) {
          if (f.kind === 'restart_empty') problem([...at, 'toS'], 'restart_empty is an event: no toS');
          else if (f.toS > p.durationS + 1e-9)
            problem([...at, 'toS'], `${f.toS} s is after the phase's end (${p.durationS} s)`);
          else if (f.toS <= f.fromS) problem([...at, 'toS'], `toS must be after fromS (${f.fromS} s)`);
        }
        if (f.target === 'redis' || f.target === 'kafka') {
          const owner: Record<string, readonly string[]> = {
            latencyMs: ['latency'],
            jitterMs: ['latency'],
            timeoutMs: ['timeout', 'reset_peer'],
            rateKBps: ['bandwidth'],
          };
          for (const [field, kinds] of Object.entries(owner))
            if (f[field as keyof typeof f] !== undefined && !kinds.includes(f.kind))
              problem([...at, field], `${field} belongs to kind ${kinds.map((k) => `'${k}'`).join(' or ')}`);
          const needs: Record<string, string> = {
            latency: 'latencyMs',
            timeout: 'timeoutMs',
            bandwidth: 'rateKBps',
          };
          const need = needs[f.kind];
          if (need && f[need as keyof typeof f] === undefined)
            problem([...at, need], `kind '${f.kind}' needs ${need}`);
        }
        if (f.target === 'ranker_tier') {
          if (!s.rankerTier) problem(at, 'a ranker_tier fault needs rankerTier: true');
          if (f.slowFactor !== undefined && f.kind !== 'slow')
            problem(at, "slowFactor belongs to kind 'slow'");
        }
      });
    });
    for (const field of ['newUsers', 'uploads'] as const) {
      const at = s.phases.flatMap((p, i) => (p[field] ? [i] : []));
      if (at.length > 1) problem(['phases', at[1], field], `only one phase may have ${field}`);
    }
    const hasUploads = s.phases.some((p) => p.uploads);
    const hasNewUsers = s.phases.some((p) => p.newUsers);
    const measured = (name: string | undefined, path: (string | number)[]) => {
      if (name === undefined) return;
      const i = names.get(name);
      if (i === undefined) problem(path, `no phase '${name}' (phases: ${[...names.keys()].join(', ')})`);
      else if (s.phases[i].warmup) problem(path, `phase '${name}' is a warm-up: never measured`);
    };
    s.assertions.forEach((a, i) => {
      if ('phase' in a) measured(a.phase, ['assertions', i, 'phase']);
      if (
        a.metric === 'quality.expected_watch_time' ||
        a.metric === 'quality.ndcg_at_10' ||
        a.metric === 'quality.fresh_share' ||
        a.metric === 'quality.coverage'
      ) {
        if (a.stat === 'ratio_to' && a.baseline === undefined)
          problem(['assertions', i, 'baseline'], 'ratio_to needs a baseline phase');
        if (a.stat === 'mean' && a.baseline !== undefined)
          problem(['assertions', i, 'baseline'], "baseline belongs to stat 'ratio_to'");
        measured(a.baseline, ['assertions', i, 'baseline']);
      }
      if (a.metric.startsWith('uploads_') && !hasUploads)
        problem(['assertions', i], `${a.metric} needs a phase with uploads`);
      if (
        (a.metric === 'quality.expected_watch_time' ||
          a.metric === 'quality.ndcg_at_10' ||
          a.metric === 'quality.fresh_share' ||
          a.metric === 'quality.coverage') &&
        (a.cohort || a.baselineCohort)
      ) {
        if (!hasNewUsers) problem(['assertions', i], 'a cohort needs a phase with newUsers');
        if (a.baselineCohort && a.stat !== 'ratio_to')
          problem(['assertions', i, 'baselineCohort'], "baselineCohort belongs to stat 'ratio_to'");
      }
      if (a.metric === 'viral_time_to_list_s' && !s.phases.some((p) => p.viral))
        problem(['assertions', i], 'viral_time_to_list_s needs a phase with viral');
      if (a.metric === 'recovery_time_s') {
        measured(a.baseline, ['assertions', i, 'baseline']);
        const pi = a.phase === undefined ? undefined : names.get(a.phase);
        const faults = s.phases
          .filter((_, k) => pi === undefined || k === pi)
          .flatMap((p) => p.faults ?? [])
          .filter((f) => a.target === undefined || f.target === a.target);
        if (faults.length === 0) problem(['assertions', i], 'recovery_time_s selects no fault');
      }
    });
    if (s.core) {
      try {
        loadConfig({
          ...coreEnvOf(s.core),
          RECLAB_REDIS_URL: 'redis://scenario.invalid:6379',
          RECLAB_KAFKA_BROKERS: 'scenario.invalid:9092',
          RECLAB_ARTIFACTS_DIR: '/scenario',
        });
      } catch (err) {
        problem(
          ['core'],
          `the core refuses these settings: ${(err as Error).message.replace(/\s*\n\s*/g, ' ')}`,
        );
      }
    }
  });

export type Phase = z.output<typeof PhaseSchema>;
export type Fault = z.output<typeof FaultSchema>;
export type FaultTarget = Fault['target'];
export type Assertion = z.output<typeof AssertionSchema>;
export type AssertionMetric = Assertion['metric'];
export type ScenarioDefinition = z.output<typeof ScenarioSchema>;
/** What a scenario file writes (defaults not yet filled in). */
export type ScenarioInput = z.input<typeof ScenarioSchema>;

// The schema's arrival shapes are the ones scenarios/arrivals.ts schedules.
type SameShape<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const _arrivalsMatch: SameShape<z.output<typeof ArrivalProcessSchema>, ArrivalProcess> = true;
void _arrivalsMatch;

/** Every problem of a zod error, one line each: `phases[2].faults[0].toS: message`. */
export function problemsOf(error: z.ZodError): string[] {
  return error.issues.map((i) => {
    const path = i.path
      .map((k, n) => (typeof k === 'number' ? `[${k}]` : `${n ? '.' : ''}${String(k)}`))
      .join('');
    const msg =
      i.code === 'unrecognized_keys'
        ? `unknown field(s) ${i.keys.map((k) => `'${k}'`).join(', ')}${hintV1(i.keys)}`
        : i.message;
    return path ? `${path}: ${msg}` : msg;
  });
}

/** A pointer for files written against the v1 model. */
function hintV1(keys: readonly string[]): string {
  if (keys.includes('rateQps')) return " (v1: write arrivals: { kind: 'constant', rateQps })";
  if (keys.includes('action') || keys.includes('atS'))
    return ' (v1: faults are { target, kind, fromS, toS })';
  if (keys.includes('coreEnv')) return ' (v1: core settings are typed, under core: {…})';
  return '';
}

/**
 * Validates a scenario and returns it with defaults filled in.
 * @throws ScenarioError RECLAB_ERR_SCENARIO_INVALID listing every problem, one per line
 */
export function parseScenario(value: unknown, origin = 'scenario'): ScenarioDefinition {
  const parsed = ScenarioSchema.safeParse(value);
  if (!parsed.success) {
    const name = (value as { name?: unknown } | null)?.name;
    throw new ScenarioError(
      `${origin}${typeof name === 'string' ? ` '${name}'` : ''} is not a valid scenario:`,
      problemsOf(parsed.error),
    );
  }
  return parsed.data;
}

/**
 * Type-checks and validates a scenario definition (what a scenario file exports).
 * @throws ScenarioError RECLAB_ERR_SCENARIO_INVALID listing every problem
 */
export function defineScenario(s: ScenarioInput): ScenarioDefinition {
  return parseScenario(s);
}

/**
 * The assertion as a k6-like string: `http_req_duration{phase:steady} p(99) <= 200`,
 * `quality.expected_watch_time{phase:outage} ratio_to{phase:steady} >= 0.6`,
 * `recovery_time_s{baseline:steady} < 10`.
 */
export function formatAssertion(a: Assertion): string {
  const tags: string[] = [];
  if ('phase' in a && a.phase) tags.push(`phase:${a.phase}`);
  if ('rung' in a && a.rung) tags.push(`rung:${a.rung}`);
  if ('reason' in a && a.reason) tags.push(`reason:${a.reason}`);
  if ('cohort' in a && a.cohort) tags.push(`cohort:${a.cohort}`);
  if (a.metric === 'recovery_time_s') {
    if (a.target) tags.push(`target:${a.target}`);
    tags.push(`baseline:${a.baseline}`);
  }
  const head = `${a.metric}${tags.length ? `{${tags.join(',')}}` : ''}`;
  let stat: string = a.stat;
  if (a.metric === 'recovery_time_s' || a.metric === 'viral_time_to_list_s') stat = '';
  else if ('baseline' in a && a.stat === 'ratio_to')
    stat = `ratio_to{phase:${a.baseline}${'baselineCohort' in a && a.baselineCohort ? `,cohort:${a.baselineCohort}` : ''}}`;
  return `${head}${stat ? ` ${stat}` : ''} ${a.op} ${a.value}`;
}
