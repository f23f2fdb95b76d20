import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { EventLogStats } from '../ports/event-log.ts';
import type { ImpressionLogStats } from '../ports/impression-log.ts';
import type { BreakerState, BreakerTransition } from '../resilience/circuit-breaker.ts';
import type { DriftReading } from './drift-monitor.ts';

/** Latency buckets in seconds: 1 ms … 2.5 s, dense around the 50–200 ms budgets of seed 000 §3. */
const LATENCY_BUCKETS_S = [
  0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2.5,
];

const BREAKER_STATES: readonly BreakerState[] = ['closed', 'half_open', 'open'];

/** What admission reads and decides now (core/resilience/admission.ts, bulkhead.ts). */
export interface AdmissionReading {
  running: number;
  queued: number;
  maxConcurrent: number;
  maxQueue: number;
  /** How long the oldest queued request has waited, ms. */
  queueDelayMs: number;
  /** Whether the bulkhead's CoDel shedding refuses new arrivals now. */
  shedding: boolean;
  /** Refusals since start because the queue was full / while shedding (cumulative). */
  rejectedFull: number;
  rejectedShed: number;
  /** CPU admitted to the pipeline and not yet finished, ms (the brownout policy's signal). */
  inFlightCpuMs: number;
  /** The event loop's standing lag, ms (the brownout policy's other signal). */
  standingLagMs: number;
}

/** What the streaming-features consumer reports (core/streaming/event-consumer.ts `stats()`). */
export interface ConsumerReading {
  running: boolean;
  /** Messages behind the partitions' end offsets. */
  lag: number;
  processed: number;
  invalid: number;
  duplicates: number;
  errors: number;
  streamErrors: number;
  /** Clock time of the last applied chunk, ms since epoch (0 = none yet). */
  lastAppliedMs: number;
}

/** Readers the metrics call at scrape time; each optional (absent: its series stay empty). */
export interface MetricsProbes {
  admission: () => AdmissionReading;
  events: () => EventLogStats | undefined;
  consumer: () => ConsumerReading;
  drift: () => readonly DriftReading[];
}

/**
 * A counter whose value is a cumulative count kept elsewhere (a log's `stats()`): each scrape adds
 * the difference since the last one, so the series stays a counter (`_total`, never decreasing
 * within a process) without a second copy of the count.
 */
class MirroredCounter<L extends string> {
  readonly counter: Counter<L>;
  readonly #seen = new Map<string, number>();

  constructor(counter: Counter<L>) {
    this.counter = counter;
  }

  set(labels: Partial<Record<L, string>>, total: number): void {
    const key = JSON.stringify(labels);
    const delta = total - (this.#seen.get(key) ?? 0);
    if (delta > 0) this.counter.inc(labels, delta);
    else if (delta === 0 && !this.#seen.has(key)) this.counter.inc(labels, 0);
    if (delta >= 0) this.#seen.set(key, total);
  }
}

/**
 * The core's Prometheus metrics (prom-client), one registry per core instance (seed 000 §8,
 * "Tier 2 — System Health" and "Tier 3 — Model Quality"). Names follow the Prometheus naming guide
 * (counters end in `_total`, base units `_seconds`/`_bytes`, one meaning per metric); prom-client's
 * process and Node.js defaults are unprefixed (`process_cpu_seconds_total`,
 * `nodejs_eventloop_lag_seconds`, …) so stock dashboards match. Every name, its labels and its
 * alert: docs/observability.md; the lint: test/integration/metrics-lint.test.ts.
 */
export class CoreMetrics {
  readonly registry = new Registry();
  readonly requestSeconds: Histogram<'route' | 'status' | 'rung'>;
  readonly stageSeconds: Histogram<'stage'>;
  readonly degradations: Counter<'stage' | 'code'>;
  /** One series per breaker and state: 1 for the state the breaker is in, 0 for the others. */
  readonly breakerState: Gauge<'breaker' | 'state'>;
  /**
   * Breaker state changes by breaker, new state and reason: `to="open"` with `reason="failure_rate"`
   * (errors) or `"slow_call_rate"` (deadline misses); `half_open`/`wait_elapsed`; `closed`/`trials_passed`.
   */
  readonly breakerTransitions: Counter<'breaker' | 'to' | 'reason'>;
  /** The calls each breaker judges now (window or trials), and the share (0–1) failed or slow. */
  readonly breakerCalls: Gauge<'breaker'>;
  readonly breakerCallRatio: Gauge<'breaker' | 'kind'>;
  /** L1 feature-cache lookups by cache (`video`) and result (`hit`/`miss`); hit rate = hit / all. */
  readonly featureCache: Counter<'cache' | 'result'>;
  /** Admission decisions (core/resilience/brownout.ts): full, light, lean, popularity, shed. */
  readonly admissions: Counter<'decision'>;
  readonly #impressionCounts: MirroredCounter<'outcome'>;
  readonly #impressionLevels: Gauge<'level'>;
  readonly #impressionSpoolBytes: Gauge;
  readonly #probes: Partial<MetricsProbes> = {};

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.requestSeconds = new Histogram({
      name: 'reclab_http_request_duration_seconds',
      help: 'HTTP request latency in seconds, by route, status code and fallback rung',
      labelNames: ['route', 'status', 'rung'],
      buckets: LATENCY_BUCKETS_S,
      registers,
    });
    this.stageSeconds = new Histogram({
      name: 'reclab_pipeline_stage_duration_seconds',
      help: 'Pipeline stage latency in seconds (user, retrieval, merge, enrichment, ranking, reranking)',
      labelNames: ['stage'],
      buckets: LATENCY_BUCKETS_S,
      registers,
    });
    this.degradations = new Counter({
      name: 'reclab_degradations_total',
      help: 'Steps down the fallback ladder, by stage and error code',
      labelNames: ['stage', 'code'],
      registers,
    });
    this.breakerState = new Gauge({
      name: 'reclab_circuit_breaker_state',
      help: 'Circuit breaker state: 1 for the state (closed, half_open, open) the breaker is in, 0 for the others',
      labelNames: ['breaker', 'state'],
      registers,
    });
    this.breakerTransitions = new Counter({
      name: 'reclab_circuit_breaker_transitions_total',
      help: 'Circuit breaker state changes, by breaker, new state (to) and reason (failure_rate, slow_call_rate, wait_elapsed, trials_passed)',
      labelNames: ['breaker', 'to', 'reason'],
      registers,
    });
    this.breakerCalls = new Gauge({
      name: 'reclab_circuit_breaker_calls',
      help: 'Calls a circuit breaker judges now: its sliding window while closed, its trial calls while half-open, 0 while open',
      labelNames: ['breaker'],
      registers,
    });
    this.breakerCallRatio = new Gauge({
      name: 'reclab_circuit_breaker_call_ratio',
      help: 'Share (0-1) of the judged calls that failed (kind="failure") or missed their deadline (kind="slow")',
      labelNames: ['breaker', 'kind'],
      registers,
    });
    this.featureCache = new Counter({
      name: 'reclab_feature_cache_requests_total',
      help: 'In-process L1 feature cache lookups (ids), by cache and result (hit, miss)',
      labelNames: ['cache', 'result'],
      registers,
    });
    this.admissions = new Counter({
      name: 'reclab_admission_decisions_total',
      help: 'Recommendation requests by admission decision: full, light, lean, popularity (brownouts), shed (503)',
      labelNames: ['decision'],
      registers,
    });
    this.#impressionCounts = new MirroredCounter(
      new Counter({
        name: 'reclab_impressions_total',
        help: 'Impressions by outcome since start: published (acknowledged by Kafka), dropped (lost), spooled (written to the disk spool), replayed (acknowledged after the spool)',
        labelNames: ['outcome'],
        registers,
      }),
    );
    this.#impressionLevels = new Gauge({
      name: 'reclab_impressions_pending',
      help: 'Impressions accepted and not yet acknowledged, by where they wait: memory or spool (on disk)',
      labelNames: ['level'],
      registers,
    });
    this.#impressionSpoolBytes = new Gauge({
      name: 'reclab_impressions_spool_bytes',
      help: 'Bytes the impression spool segment files hold now',
      registers,
    });
    this.#registerAdmission();
    this.#registerEvents();
    this.#registerConsumer();
    this.#registerDrift();
  }

  /** Adds readers called at each scrape (admission, event log, consumer, drift); later ones replace earlier. */
  watch(probes: Partial<MetricsProbes>): void {
    Object.assign(this.#probes, probes);
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

  /** Sets each breaker's state series and, when given, the calls and rates it judges now. */
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
      for (const s of BREAKER_STATES)
        this.breakerState.set({ breaker: b.name, state: s }, b.state === s ? 1 : 0);
      if (b.calls === undefined) continue;
      this.breakerCalls.set({ breaker: b.name }, b.calls);
      const ratio = (n = 0) => (b.calls ? n / b.calls : 0);
      this.breakerCallRatio.set({ breaker: b.name, kind: 'failure' }, ratio(b.failures));
      this.breakerCallRatio.set({ breaker: b.name, kind: 'slow' }, ratio(b.slow));
    }
  }

  /** Counts one breaker state change (pass as the breakers' `onTransition`). */
  onBreakerTransition(t: BreakerTransition): void {
    this.breakerTransitions.inc({ breaker: t.breaker, to: t.to, reason: t.reason });
  }

  /** Mirrors an impression log's `stats()`: its cumulative counts as counters, its backlog as gauges. */
  setImpressions(stats: ImpressionLogStats): void {
    const counts = this.#impressionCounts;
    counts.set({ outcome: 'published' }, stats.published);
    counts.set({ outcome: 'dropped' }, stats.dropped);
    if (stats.spooled !== undefined) counts.set({ outcome: 'spooled' }, stats.spooled);
    if (stats.replayed !== undefined) counts.set({ outcome: 'replayed' }, stats.replayed);
    const onDisk = stats.spoolPending ?? 0;
    this.#impressionLevels.set({ level: 'memory' }, stats.buffered ?? stats.pending - onDisk);
    this.#impressionLevels.set({ level: 'spool' }, onDisk);
    this.#impressionSpoolBytes.set(stats.spoolBytes ?? 0);
  }

  #registerAdmission(): void {
    const registers = [this.registry];
    const read = () => this.#probes.admission?.();
    const gauge = (name: string, help: string, value: (a: AdmissionReading) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const a = read();
          if (a) this.set(value(a));
        },
      });
    gauge('reclab_bulkhead_running', 'Recommendation requests running in the bulkhead now', (a) => a.running);
    gauge(
      'reclab_bulkhead_queued',
      'Recommendation requests waiting for a bulkhead slot now',
      (a) => a.queued,
    );
    gauge(
      'reclab_bulkhead_max_running',
      'Bulkhead limit: requests allowed to run at once',
      (a) => a.maxConcurrent,
    );
    gauge('reclab_bulkhead_max_queued', 'Bulkhead limit: requests allowed to wait', (a) => a.maxQueue);
    gauge(
      'reclab_bulkhead_queue_delay_seconds',
      'How long the oldest waiting request has waited for a bulkhead slot, seconds',
      (a) => a.queueDelayMs / 1000,
    );
    gauge(
      'reclab_bulkhead_shedding',
      '1 while the bulkhead sheds load (CoDel: a standing queue), else 0',
      (a) => (a.shedding ? 1 : 0),
    );
    gauge(
      'reclab_admission_in_flight_cpu_seconds',
      'CPU admitted to the pipeline and not yet finished, seconds (the brownout policy signal)',
      (a) => a.inFlightCpuMs / 1000,
    );
    gauge(
      'reclab_admission_standing_loop_lag_seconds',
      'Standing event-loop lag the brownout policy reads, seconds',
      (a) => a.standingLagMs / 1000,
    );
    const rejections = new MirroredCounter(
      new Counter({
        name: 'reclab_bulkhead_rejections_total',
        help: 'Requests the bulkhead refused a slot, by reason: queue_full or shedding (each then served from the popularity cache or shed)',
        labelNames: ['reason'],
        registers,
        collect() {
          const a = read();
          if (!a) return;
          rejections.set({ reason: 'queue_full' }, a.rejectedFull);
          rejections.set({ reason: 'shedding' }, a.rejectedShed);
        },
      }),
    );
  }

  #registerEvents(): void {
    const registers = [this.registry];
    const read = () => this.#probes.events?.();
    const counts = new MirroredCounter(
      new Counter({
        name: 'reclab_events_total',
        help: 'User events (POST /v1/events) by outcome since start: published, refused (503), dropped, spooled, replayed',
        labelNames: ['outcome'],
        registers,
        collect() {
          const s = read();
          if (!s) return;
          for (const outcome of ['published', 'refused', 'dropped', 'spooled', 'replayed'] as const) {
            counts.set({ outcome }, s[outcome]);
          }
        },
      }),
    );
    new Gauge({
      name: 'reclab_events_pending',
      help: 'User events accepted and not yet acknowledged, by where they wait: memory or spool (on disk)',
      labelNames: ['level'],
      registers,
      collect() {
        const s = read();
        if (!s) return;
        this.set({ level: 'memory' }, s.buffered);
        this.set({ level: 'spool' }, s.spoolPending);
      },
    });
    new Gauge({
      name: 'reclab_events_spool_bytes',
      help: 'Bytes the event spool segment files hold now',
      registers,
      collect() {
        const s = read();
        if (s) this.set(s.spoolBytes);
      },
    });
  }

  #registerConsumer(): void {
    const registers = [this.registry];
    const read = () => this.#probes.consumer?.();
    new Gauge({
      name: 'reclab_event_consumer_lag',
      help: 'Messages of the events topic behind its end offsets, for the streaming-features consumer',
      registers,
      collect() {
        const c = read();
        if (c) this.set(c.lag);
      },
    });
    new Gauge({
      name: 'reclab_event_consumer_up',
      help: '1 while the streaming-features consumer runs, else 0',
      registers,
      collect() {
        const c = read();
        if (c) this.set(c.running ? 1 : 0);
      },
    });
    new Gauge({
      name: 'reclab_event_consumer_last_applied_timestamp_seconds',
      help: 'Unix time of the last chunk of events the consumer applied to Redis (0: none yet)',
      registers,
      collect() {
        const c = read();
        if (c) this.set(c.lastAppliedMs / 1000);
      },
    });
    const messages = new MirroredCounter(
      new Counter({
        name: 'reclab_event_consumer_messages_total',
        help: 'Messages the consumer handled, by result: processed, duplicate, invalid',
        labelNames: ['result'],
        registers,
        collect() {
          const c = read();
          if (!c) return;
          messages.set({ result: 'processed' }, c.processed);
          messages.set({ result: 'duplicate' }, c.duplicates);
          messages.set({ result: 'invalid' }, c.invalid);
        },
      }),
    );
    const errors = new MirroredCounter(
      new Counter({
        name: 'reclab_event_consumer_errors_total',
        help: 'Consumer failures, by kind: apply (a Redis write failed, retried) or stream (a Kafka fetch stream lost, re-created)',
        labelNames: ['kind'],
        registers,
        collect() {
          const c = read();
          if (!c) return;
          errors.set({ kind: 'apply' }, c.errors);
          errors.set({ kind: 'stream' }, c.streamErrors);
        },
      }),
    );
  }

  #registerDrift(): void {
    const registers = [this.registry];
    const read = () => this.#probes.drift?.() ?? [];
    new Gauge({
      name: 'reclab_drift_psi',
      help: 'Population stability index of a served feature (or ranker score) over its window against the training distribution of the model version; 0.1 warn, 0.25 act (seed 003 §9)',
      labelNames: ['feature', 'model_version'],
      registers,
      collect() {
        this.reset();
        for (const d of read()) {
          if (d.psi !== undefined) this.set({ feature: d.feature, model_version: d.modelVersion }, d.psi);
        }
      },
    });
    new Gauge({
      name: 'reclab_drift_window_samples',
      help: 'Served values in the drift window of a feature (the PSI is exported once the window is full)',
      labelNames: ['feature', 'model_version'],
      registers,
      collect() {
        this.reset();
        for (const d of read()) this.set({ feature: d.feature, model_version: d.modelVersion }, d.samples);
      },
    });
  }
}
