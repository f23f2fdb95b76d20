import type { Assertion } from './define.ts';
import { formatAssertion } from './define.ts';

/** What the assertions read of one phase (a subset of the driver's PhaseResult). */
export interface PhaseMeasurement {
  phase: string;
  warmup: boolean;
  offeredQps: number;
  achievedQps: number;
  /** Latency from the intended send time, ms. */
  latencyMs: { count: number; p50: number; p95: number; p99: number };
  statusCounts: { '2xx': number; '4xx': number; '5xx': number; errors: number; timeouts: number };
  rungCounts: Record<string, number>;
  /** Responses per degradation reason `"<stage> <code>"` (a response counts once per reason). */
  reasonCounts?: Record<string, number>;
  /** 200 responses with fewer items than the request's `count`. */
  shortLists?: number;
}

export interface RunMeasurements {
  phases: PhaseMeasurement[];
  /** 200 responses served (all phases, warm-up included: each one published an impression). */
  responses200: number;
  /** Distinct impression ids read back from the topic by a real consumer. */
  impressionsOnTopic: number;
  /**
   * Events the core accepted (202) whose ids a real consumer did not find on the events topic;
   * absent (read as 0) for runs without user events, or without a live topic (the simulator).
   */
  eventsLost?: number;
}

export interface AssertionOutcome {
  expression: string;
  observed: number;
  threshold: number;
  passed: boolean;
}

function compare(observed: number, op: Assertion['op'], value: number): boolean {
  switch (op) {
    case '<':
      return observed < value;
    case '<=':
      return observed <= value;
    case '==':
      return observed === value;
    case '>=':
      return observed >= value;
    case '>':
      return observed > value;
  }
}

/**
 * Evaluates one assertion against a run (k6 threshold semantics: filters by tag, then a statistic).
 * Warm-up phases are never included. Metrics:
 * - `http_req_duration` p(50|95|99): ms from the intended send time; the worst phase when unfiltered;
 * - `errors_5xx`, `errors_transport` (connection errors + timeouts) count;
 * - `achieved_rate_ratio` rate: achieved ÷ offered QPS (the lowest phase when unfiltered);
 * - `rung_share{rung:X}` rate: share of 2xx responses served by rung X;
 * - `reason_share{reason:"S C"}` rate: share of 2xx responses whose `meta.reasons` has stage S, code C;
 * - `short_lists` count: 200 responses with fewer items than their request's `count`;
 * - `impressions_lost` count: 200 responses minus distinct impressions found on the topic;
 * - `events_lost` count: events accepted (202) whose `event_id` is not on the events topic.
 */
export function evaluate(a: Assertion, run: RunMeasurements): AssertionOutcome {
  const phases = run.phases.filter((p) => !p.warmup && (a.phase === undefined || p.phase === a.phase));
  let observed: number;
  switch (a.metric) {
    case 'http_req_duration': {
      const key = a.stat === 'p(50)' ? 'p50' : a.stat === 'p(95)' ? 'p95' : 'p99';
      observed = Math.max(0, ...phases.map((p) => p.latencyMs[key]));
      break;
    }
    case 'errors_5xx':
      observed = phases.reduce((s, p) => s + p.statusCounts['5xx'], 0);
      break;
    case 'errors_transport':
      observed = phases.reduce((s, p) => s + p.statusCounts.errors + p.statusCounts.timeouts, 0);
      break;
    case 'achieved_rate_ratio':
      observed = phases.length
        ? Math.min(...phases.map((p) => (p.offeredQps ? p.achievedQps / p.offeredQps : 0)))
        : 0;
      break;
    case 'rung_share': {
      const total = phases.reduce((s, p) => s + p.statusCounts['2xx'], 0);
      const rung = phases.reduce((s, p) => s + (p.rungCounts[a.rung ?? ''] ?? 0), 0);
      observed = total ? rung / total : 0;
      break;
    }
    case 'reason_share': {
      const total = phases.reduce((s, p) => s + p.statusCounts['2xx'], 0);
      const withReason = phases.reduce((s, p) => s + (p.reasonCounts?.[a.reason ?? ''] ?? 0), 0);
      observed = total ? withReason / total : 0;
      break;
    }
    case 'short_lists':
      observed = phases.reduce((s, p) => s + (p.shortLists ?? 0), 0);
      break;
    case 'impressions_lost':
      observed = run.responses200 - run.impressionsOnTopic;
      break;
    case 'events_lost':
      observed = run.eventsLost ?? 0;
      break;
  }
  const rounded = Math.round(observed * 1000) / 1000;
  return {
    expression: formatAssertion(a),
    observed: rounded,
    threshold: a.value,
    passed: compare(rounded, a.op, a.value),
  };
}
