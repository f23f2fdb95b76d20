import { ReclabError } from '../../core/errors.ts';
import type { EventScheduler } from '../engine/scheduler.ts';
import type { Sampler } from './distributions.ts';
import type { FleetSpec } from './fleet-spec.ts';
import { HEALTHY, type Health } from './health.ts';

/** Errors the pool's client sees. */
export const RANKER_DOWN = new Error('ranker pool: connection refused');
export const RANKER_OVERLOADED = new Error('ranker pool: node queue full (RECLAB_ERR_RANKER_OVERLOADED)');
/** A node answering NaN scores: the core's output check refuses them. */
export const RANKER_INVALID = new ReclabError('RECLAB_ERR_RANKER_INVALID_OUTPUT', 'ranker pool: NaN scores');

interface Waiting {
  rows: number;
  done: (err: Error | undefined) => void;
}

interface RankerNode {
  health: Health;
  queue: Waiting[];
  queuedRows: number;
  busy: boolean;
  cancelBatchTimer: (() => void) | undefined;
  busyUs: number;
}

/**
 * The main ranker pool (seed 000 §2.5's GPU pool; core/ranker-tier/dynamic-batcher.ts is the live
 * tier): nodes with dynamic batching. A node that is idle runs what it holds at once when
 * `maxBatchDelayUs` is 0, otherwise after that delay or as soon as `maxBatchRows` rows wait; a
 * busy node runs the next batch as soon as the current one ends. A batch takes whole requests up
 * to `maxBatchRows` rows and costs `batchFixedUs + perRowUs × rows` (× a slow node's factor).
 *
 * Routing: each call goes to the node with the fewest rows waiting, among nodes that accept
 * connections (an L4 load balancer sees a refused connection at once; a hung node still accepts,
 * so it keeps receiving calls that never return — what makes a hang worse than a crash). With
 * every node down, the call fails after one round trip.
 */
export class RankerPool {
  readonly nodes: RankerNode[];
  readonly #scheduler: EventScheduler;
  readonly #spec: NonNullable<FleetSpec['rankerPool']>;
  readonly #rtt: Sampler;
  readonly #batchFixed: Sampler;
  /** Batches run and rows scored (for the report's batch-size figure). */
  batches = 0;
  rows = 0;

  constructor(
    scheduler: EventScheduler,
    spec: NonNullable<FleetSpec['rankerPool']>,
    samplers: { rtt: Sampler; batchFixed: Sampler },
  ) {
    this.#scheduler = scheduler;
    this.#spec = spec;
    this.#rtt = samplers.rtt;
    this.#batchFixed = samplers.batchFixed;
    this.nodes = Array.from({ length: spec.nodes }, () => ({
      health: { ...HEALTHY },
      queue: [],
      queuedRows: 0,
      busy: false,
      cancelBatchTimer: undefined,
      busyUs: 0,
    }));
  }

  /** Scores `rows` rows; `done(err)` when the reply reaches the caller (never, on a hung node). */
  score(rows: number, done: (err: Error | undefined) => void): void {
    const s = this.#scheduler;
    let best = -1;
    for (let i = 0; i < this.nodes.length; i++) {
      const n = this.nodes[i];
      if (n.health.state === 'down') continue;
      if (best < 0 || n.queuedRows < this.nodes[best].queuedRows) best = i;
    }
    const rtt = this.#rtt();
    if (best < 0) {
      s.after(rtt, () => done(RANKER_DOWN));
      return;
    }
    const node = this.nodes[best];
    const halfRtt = rtt / 2 + node.health.extraLatencyUs;
    s.after(halfRtt, () => {
      if (node.health.state === 'down') return done(RANKER_DOWN); // died on the way
      if (node.queue.length >= this.#spec.maxQueuedRequests) {
        s.after(halfRtt, () => done(RANKER_OVERLOADED));
        return;
      }
      node.queue.push({ rows, done: (err) => s.after(halfRtt, () => done(err)) });
      node.queuedRows += rows;
      this.#maybeStart(node);
    });
  }

  #maybeStart(node: RankerNode): void {
    if (node.busy || node.queue.length === 0 || node.health.state === 'hang') return;
    if (this.#spec.maxBatchDelayUs === 0 || node.queuedRows >= this.#spec.maxBatchRows) {
      this.#runBatch(node);
      return;
    }
    node.cancelBatchTimer ??= this.#scheduler.after(this.#spec.maxBatchDelayUs, () => {
      node.cancelBatchTimer = undefined;
      if (!node.busy) this.#runBatch(node);
    });
  }

  #runBatch(node: RankerNode): void {
    node.cancelBatchTimer?.();
    node.cancelBatchTimer = undefined;
    const batch: Waiting[] = [];
    let rows = 0;
    while (
      node.queue.length > 0 &&
      (batch.length === 0 || rows + node.queue[0].rows <= this.#spec.maxBatchRows)
    ) {
      const w = node.queue.shift()!;
      rows += w.rows;
      batch.push(w);
    }
    node.queuedRows -= rows;
    const serviceUs = (this.#batchFixed() + this.#spec.perRowUs * rows) * node.health.slowFactor;
    node.busy = true;
    node.busyUs += serviceUs;
    this.batches++;
    this.rows += rows;
    this.#scheduler.after(serviceUs, () => {
      node.busy = false;
      if (node.health.state === 'invalid') for (const w of batch) w.done(RANKER_INVALID);
      else if (node.health.state !== 'down' && node.health.state !== 'hang')
        for (const w of batch) w.done(undefined);
      else if (node.health.state === 'down') for (const w of batch) w.done(RANKER_DOWN);
      // A busy node runs what waited during the batch at once: it has waited long enough.
      if (node.queue.length > 0 && node.health.state !== 'hang') this.#runBatch(node);
    });
  }

  /** Applies `health` to `count` nodes, the first ones (e.g. 2 of 8 GPU nodes down). */
  setHealth(count: number, health: Health): void {
    for (let i = 0; i < Math.min(count, this.nodes.length); i++) {
      const node = this.nodes[i];
      const wasHung = node.health.state === 'hang';
      node.health = { ...health };
      if (health.state === 'down') {
        // A crashed node's queued calls see their connection reset.
        for (const w of node.queue.splice(0)) w.done(RANKER_DOWN);
        node.queuedRows = 0;
      } else if (wasHung && health.state !== 'hang') {
        this.#maybeStart(node);
      }
    }
  }
}
