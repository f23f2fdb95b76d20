/**
 * A scenario is data plus assertions (ARCHITECTURE.md, "scenarios/"): the world, traffic phases
 * with their faults, and k6-like thresholds. One definition serves the live runner (loadtest/) and,
 * later, the virtual-time runner (sim/).
 */

/**
 * A fault applied during a phase. Containers (`redis`, `kafka`): engine-level actions; `stop` keeps
 * the container, so a later `start` restores the service. `restart_empty` (`redis` only): Redis
 * loses its data — FLUSHALL, SIGKILL, start, nothing reloaded (loadtest/faults/redis-data-loss.ts).
 * The ranker tier process (`ranker_tier`, needs `rankerTier: true`): `stop` = SIGKILL (a crashed GPU
 * host), `start` = a new process on the same port, `pause`/`unpause` = SIGSTOP/SIGCONT (a host that
 * hangs).
 */
export interface FaultStep {
  target: 'redis' | 'kafka' | 'ranker_tier';
  action: 'stop' | 'start' | 'pause' | 'unpause' | 'restart_empty';
  /** Seconds after the phase starts. */
  atS: number;
  /**
   * Simulated runs only (reclab sim): how many nodes of the target's pool the fault hits — Redis
   * shards or ranker nodes, the first ones — e.g. 2 of 8 ranker nodes. Absent: all of them. The
   * live runner has one of each and ignores it.
   */
  nodes?: number;
}

export interface Phase {
  name: string;
  /** Open-model constant arrival rate (requests per second). */
  rateQps: number;
  durationS: number;
  /** Warm-up phases are driven but excluded from assertions (Measurement rules). */
  warmup?: boolean;
  faults?: FaultStep[];
}

/** Metrics an assertion can read (see scenarios/assertions.ts for their meaning). */
export type AssertionMetric =
  | 'http_req_duration'
  | 'errors_5xx'
  | 'errors_transport'
  | 'achieved_rate_ratio'
  | 'rung_share'
  | 'reason_share'
  | 'short_lists'
  | 'impressions_lost'
  | 'events_lost';

export interface Assertion {
  metric: AssertionMetric;
  /** `p(50)` … `p(99.9)` for durations (ms), `count`, or `rate` (a share in [0, 1]). */
  stat: 'p(50)' | 'p(95)' | 'p(99)' | 'count' | 'rate';
  op: '<' | '<=' | '==' | '>=' | '>';
  value: number;
  /** Tag filters, k6 style: `{phase:steady}`, `{rung:popularity}`. Absent: all measured phases. */
  phase?: string;
  rung?: string;
  /** For `reason_share`: one degradation reason as `"<stage> <code>"` (`meta.reasons`). */
  reason?: string;
}

export interface ScenarioDefinition {
  name: string;
  description: string;
  world: { users: number; videos: number };
  phases: Phase[];
  assertions: Assertion[];
  /** Core settings the scenario needs (RECLAB_* variables), on top of the defaults. */
  coreEnv?: Record<string, string>;
  /**
   * Run the main ranker as its own tier process (core/ranker-tier/, the stand-in for the GPU pool)
   * instead of inside the core; the light ranker stays in the core.
   */
  rankerTier?: boolean;
  /**
   * The simulated users send click/watch/like events for what they are served to POST /v1/events
   * (loadtest/user-activity.ts); default true. False: requests only.
   */
  userEvents?: boolean;
}

/** Identity helper that type-checks a scenario definition. */
export function defineScenario(s: ScenarioDefinition): ScenarioDefinition {
  return s;
}

/** The assertion as a k6-like string: `http_req_duration{phase:steady} p(99) <= 200`. */
export function formatAssertion(a: Assertion): string {
  const tags = [a.phase && `phase:${a.phase}`, a.rung && `rung:${a.rung}`, a.reason && `reason:${a.reason}`]
    .filter(Boolean)
    .join(',');
  return `${a.metric}${tags ? `{${tags}}` : ''} ${a.stat} ${a.op} ${a.value}`;
}
