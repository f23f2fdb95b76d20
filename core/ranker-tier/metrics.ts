import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { BatchStats } from './dynamic-batcher.ts';

/** Seconds: 0.1 ms … 1 s, dense in the 1–20 ms range of batched inference (seed 000 §2.5: 15–60 ms). */
const SECONDS_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 1,
];
const ROWS_BUCKETS = [1, 50, 100, 200, 300, 600, 900, 1200, 1800, 2400, 4800, 9600];
const REQUESTS_BUCKETS = [1, 2, 3, 4, 5, 6, 8, 12, 16, 24, 32, 64];

/**
 * The ranker tier's Prometheus metrics (prom-client, one registry per process): what dynamic
 * batching does (rows and requests per batch, queue wait, inference time, what triggered each
 * batch), request outcomes by code, queue depth and loaded models, plus prom-client's process and
 * Node.js defaults, unprefixed.
 * Metric names: docs/ranker-tier.md.
 */
export class RankerTierMetrics {
  readonly registry = new Registry();
  readonly batchRows: Histogram<'model_version'>;
  readonly batchRequests: Histogram<'model_version'>;
  readonly queueWaitSeconds: Histogram<'model_version'>;
  readonly inferenceSeconds: Histogram<'model_version'>;
  readonly batches: Counter<'model_version' | 'trigger' | 'result'>;
  readonly requests: Counter<'code'>;
  readonly requestSeconds: Histogram<'code'>;
  readonly modelLoads: Counter<'result'>;

  constructor(
    probes: { queueRows: () => number; modelsLoaded: () => number },
    opts: { defaultMetrics?: boolean } = {},
  ) {
    const registers = [this.registry];
    // Unprefixed (`process_cpu_seconds_total`, `nodejs_*`): the Prometheus job tells the tier apart.
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.batchRows = new Histogram({
      name: 'reclab_ranker_tier_batch_rows',
      help: 'Rows (candidates) per inference batch',
      labelNames: ['model_version'],
      buckets: ROWS_BUCKETS,
      registers,
    });
    this.batchRequests = new Histogram({
      name: 'reclab_ranker_tier_batch_requests',
      help: 'Requests merged into one inference batch',
      labelNames: ['model_version'],
      buckets: REQUESTS_BUCKETS,
      registers,
    });
    this.queueWaitSeconds = new Histogram({
      name: 'reclab_ranker_tier_queue_wait_seconds',
      help: 'Per request: seconds from arrival in the batch queue to dispatch of its batch',
      labelNames: ['model_version'],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.inferenceSeconds = new Histogram({
      name: 'reclab_ranker_tier_inference_seconds',
      help: 'Per batch: seconds of the ONNX Runtime run',
      labelNames: ['model_version'],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.batches = new Counter({
      name: 'reclab_ranker_tier_batches_total',
      help: 'Batches run, by what dispatched them (full, delay, drain) and result (ok, failed)',
      labelNames: ['model_version', 'trigger', 'result'],
      registers,
    });
    this.requests = new Counter({
      name: 'reclab_ranker_tier_requests_total',
      help: 'POST /v1/rank requests by outcome: ok or the error code',
      labelNames: ['code'],
      registers,
    });
    this.requestSeconds = new Histogram({
      name: 'reclab_ranker_tier_request_duration_seconds',
      help: 'POST /v1/rank latency in the tier (body parsed → reply sent), by outcome',
      labelNames: ['code'],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.modelLoads = new Counter({
      name: 'reclab_ranker_tier_model_loads_total',
      help: 'Model sessions loaded and warmed up (ok) or failed',
      labelNames: ['result'],
      registers,
    });
    new Gauge({
      name: 'reclab_ranker_tier_queue_rows',
      help: 'Rows waiting in the batch queues (all models)',
      registers,
      collect() {
        this.set(probes.queueRows());
      },
    });
    new Gauge({
      name: 'reclab_ranker_tier_models_loaded',
      help: 'Model sessions loaded (or loading)',
      registers,
      collect() {
        this.set(probes.modelsLoaded());
      },
    });
  }

  /** Records one finished batch of `modelVersion`. */
  observeBatch(modelVersion: string, s: BatchStats): void {
    const labels = { model_version: modelVersion };
    this.batchRows.observe(labels, s.rows);
    this.batchRequests.observe(labels, s.requests);
    for (const ms of s.queueWaitsMs) this.queueWaitSeconds.observe(labels, ms / 1000);
    this.inferenceSeconds.observe(labels, s.runMs / 1000);
    this.batches.inc({ ...labels, trigger: s.trigger, result: s.ok ? 'ok' : 'failed' });
  }
}
