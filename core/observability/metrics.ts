import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { BreakerState, BreakerTransition } from '../resilience/circuit-breaker.ts';

/** Latency buckets in seconds: 1 ms … 2.5 s, dense around the 50–200 ms budgets of seed 000 §3. */
const LATENCY_BUCKETS_S = [
  0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2.5,
];

const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

/**
 * The core's Prometheus metrics (prom-client), one registry per core instance (seed 000 §8,
 * "Tier 2 — System Health"): request latency by route, status and rung; stage latencies; breaker
 * states, transitions with their reasons, and the rates each breaker judges; fallback reasons
 * (brownouts among them: reason RECLAB_ERR_OVERLOADED); admission decisions; impressions; L1
 * feature-cache hits and misses; process defaults (event-loop lag, GC, memory).
 */
export class CoreMetrics {
  readonly registry = new Registry();
  readonly requestSeconds: Histogram<'route' | 'status' | 'rung'>;
  readonly stageSeconds: Histogram<'stage'>;
  readonly degradations: Counter<'stage' | 'code'>;
  readonly breakerState: Gauge<'breaker'>;
  /**
   * Breaker state changes by breaker, new state and reason: `to="open"` with `reason="failure_rate"`
   * (errors) or `"slow_call_rate"` (deadline misses); `half_open`/`wait_elapsed`; `closed`/`trials_passed`.
   */
  readonly breakerTransitions: Counter<'breaker' | 'to' | 'reason'>;
  /** The calls, failure rate and slow-call rate each breaker judges now (window or trials). */
  readonly breakerCalls: Gauge<'breaker'>;
  readonly breakerRate: Gauge<'breaker' | 'kind'>;
  readonly impressions: Gauge<'state'>;
  /** L1 feature-cache lookups by cache (`video`) and result (`hit`/`miss`); hit rate = hit / all. */
  readonly featureCache: Counter<'cache' | 'result'>;
  /** Admission decisions (core/resilience/brownout.ts): full, light, lean, popularity, shed. */
  readonly admissions: Counter<'decision'>;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'reclab_' });
    this.requestSeconds = new Histogram({
      name: 'reclab_http_request_duration_seconds',
      help: 'HTTP request latency in seconds, by route, status code and fallback rung',
      labelNames: ['route', 'status', 'rung'],
      buckets: LATENCY_BUCKETS_S,
      registers: [this.registry],
    });
    this.stageSeconds = new Histogram({
      name: 'reclab_pipeline_stage_duration_seconds',
      help: 'Pipeline stage latency in seconds (user, retrieval, merge, enrichment, ranking, reranking)',
      labelNames: ['stage'],
      buckets: LATENCY_BUCKETS_S,
      registers: [this.registry],
    });
    this.degradations = new Counter({
      name: 'reclab_degradations_total',
      help: 'Steps down the fallback ladder, by stage and error code',
      labelNames: ['stage', 'code'],
      registers: [this.registry],
    });
    this.breakerState = new Gauge({
      name: 'reclab_circuit_breaker_state',
      help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open',
      labelNames: ['breaker'],
      registers: [this.registry],
    });
    this.breakerTransitions = new Counter({
      name: 'reclab_circuit_breaker_transitions_total',
      help: 'Circuit breaker state changes, by breaker, new state (to) and reason (failure_rate, slow_call_rate, wait_elapsed, trials_passed)',
      labelNames: ['breaker', 'to', 'reason'],
      registers: [this.registry],
    });
    this.breakerCalls = new Gauge({
      name: 'reclab_circuit_breaker_calls',
      help: 'Calls a circuit breaker judges now: its sliding window while closed, its trial calls while half-open, 0 while open',
      labelNames: ['breaker'],
      registers: [this.registry],
    });
    this.breakerRate = new Gauge({
      name: 'reclab_circuit_breaker_rate',
      help: 'Share (0–1) of the judged calls that failed (kind="failure") or missed their deadline (kind="slow")',
      labelNames: ['breaker', 'kind'],
      registers: [this.registry],
    });
    this.impressions = new Gauge({
      name: 'reclab_impressions',
      help: 'Impression log counters: published, pending, dropped (and spooled when a spool is used)',
      labelNames: ['state'],
      registers: [this.registry],
    });
    this.featureCache = new Counter({
      name: 'reclab_feature_cache_requests_total',
      help: 'In-process L1 feature cache lookups (ids), by cache and result (hit, miss)',
      labelNames: ['cache', 'result'],
      registers: [this.registry],
    });
    this.admissions = new Counter({
      name: 'reclab_admission_decisions_total',
      help: 'Recommendation requests by admission decision: full, light, lean, popularity (brownouts), shed (503)',
      labelNames: ['decision'],
      registers: [this.registry],
    });
  }

  /** Records one served recommendation: its timings (ms, as in `meta.timings_ms`) and reasons. */
  observeRecommendation(
    timingsMs: Record<string, number>,
    reasons: readonly { stage: string; code: string }[],
  ): void {
    for (const [stage, ms] of Object.entries(timingsMs)) {
      if (stage !== 'total') this.stageSeconds.observe({ stage }, ms / 1000);
    }
    for (const r of reasons) this.degradations.inc({ stage: r.stage, code: r.code });
  }

  /** Sets each breaker's state gauge and, when given, the calls and rates it judges now. */
  setBreakers(
    breakers: readonly {
      name: string;
      state: BreakerState;
      calls?: number;
      failures?: number;
      slow?: number;
    }[],
  ): void {
    for (const b of breakers) {
      this.breakerState.set({ breaker: b.name }, BREAKER_VALUE[b.state]);
      if (b.calls === undefined) continue;
      this.breakerCalls.set({ breaker: b.name }, b.calls);
      const rate = (n = 0) => (b.calls ? n / b.calls : 0);
      this.breakerRate.set({ breaker: b.name, kind: 'failure' }, rate(b.failures));
      this.breakerRate.set({ breaker: b.name, kind: 'slow' }, rate(b.slow));
    }
  }

  /** Counts one breaker state change (pass as the breakers' `onTransition`). */
  onBreakerTransition(t: BreakerTransition): void {
    this.breakerTransitions.inc({ breaker: t.breaker, to: t.to, reason: t.reason });
  }

  setImpressions(stats: Record<string, number>): void {
    for (const [state, n] of Object.entries(stats)) this.impressions.set({ state }, n);
  }
}
