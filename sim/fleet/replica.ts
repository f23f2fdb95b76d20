/**
 * One simulated core replica: a single-threaded event loop (a FIFO CPU server) running the core's
 * own decision code — its Bulkhead with CoDel shedding (core/resilience/bulkhead.ts), a circuit
 * breaker per dependency (`Breakers`, core/pipeline/recommend.ts), deadlines through
 * `guardedCallback` (core/resilience/guard.ts) and the fallback ladder (`LadderPosition`,
 * core/resilience/fallback-ladder.ts), all on the virtual clock. The heavy computations (ANN
 * search, model inference, MMR) are CPU jobs with calibrated service times; Redis, the ranker pool
 * and Kafka are the fleet's models.
 *
 * The request flow follows `recommend()` stage by stage (core/pipeline/recommend.ts), with the same
 * rungs and reason codes:
 *  1. request CPU (parse, A/B, admission) → bulkhead: refused ⇒ 503 RECLAB_ERR_OVERLOADED;
 *  2. user record and recent watches from Redis in parallel (deadline userMs; breakers `features`,
 *     `activity`): user failed ⇒ `popularity`; recent watches failed ⇒ reason `watched_filter`;
 *  3. user tower (CPU, deadline encoderMs), then every source in parallel under retrievalMs with its
 *     own breaker: a failed source ⇒ `partial_retrieval`; none left ⇒ `popularity`;
 *  4. merge (CPU); 5. enrichment MGET (deadline enrichmentMs): failed ⇒ `default_features`;
 *  6. ranking: the main ranker (pool or in process, deadline rankingMs) ⇒ else the light ranker
 *     (`light_ranker`) ⇒ else merge order (`retrieval_scores`); 7. re-rank (CPU); 8. respond and
 *     publish the impression.
 * A phase of the pipeline that the live core runs is a CPU job here; what it computes is not.
 */
import { type ErrorCode, errorCode, type ReclabError } from '../../core/errors.ts';
import { Breakers, type PipelineConfig } from '../../core/pipeline/recommend.ts';
import type { Clock } from '../../core/ports/clock.ts';
import type { Bulkhead } from '../../core/resilience/bulkhead.ts';
import { LadderPosition, type Rung } from '../../core/resilience/fallback-ladder.ts';
import { type GuardCodes, guardedCallback } from '../../core/resilience/guard.ts';
import type { EventScheduler } from '../engine/scheduler.ts';
import type { Sampler } from './distributions.ts';
import { FifoServer } from './fifo-server.ts';
import type { FleetSource } from './fleet-spec.ts';
import type { KafkaModel } from './kafka-model.ts';
import type { RankerPool } from './ranker-pool.ts';
import type { RedisCluster } from './redis-cluster.ts';

const FEATURES: GuardCodes = {
  timeout: 'RECLAB_ERR_FEATURES_TIMEOUT',
  unavailable: 'RECLAB_ERR_FEATURES_UNAVAILABLE',
};
const RETRIEVAL: GuardCodes = {
  timeout: 'RECLAB_ERR_RETRIEVAL_TIMEOUT',
  unavailable: 'RECLAB_ERR_RETRIEVAL_UNAVAILABLE',
};
const RANKING: GuardCodes = {
  timeout: 'RECLAB_ERR_RANKER_TIMEOUT',
  unavailable: 'RECLAB_ERR_RANKER_UNAVAILABLE',
};

/** CPU cost samplers of one replica (µs), from the fleet spec's `replicas.cpu`. */
export interface CpuSamplers {
  request: Sampler;
  userEncoder: Sampler;
  ann: Sampler;
  redisReply: Sampler;
  merge: Sampler;
  enrichment: Sampler;
  mainRanker: Sampler;
  rankerClient: Sampler;
  lightRanker: Sampler;
  rerank: Sampler;
  popularity: Sampler;
  reject: Sampler;
}

/** What a finished request reports to the run's recorder. */
export interface RequestOutcome {
  /** Intended send time, µs (open model: latency is measured from it). */
  intendedUs: number;
  doneUs: number;
  status: 200 | 503;
  rung: Rung | undefined;
  reasons: readonly { stage: string; code: ErrorCode }[];
}

export interface ReplicaDeps {
  index: number;
  scheduler: EventScheduler;
  clock: Clock;
  cfg: PipelineConfig;
  bulkhead: Bulkhead;
  cpu: CpuSamplers;
  sources: readonly FleetSource[];
  candidates: number;
  redis: RedisCluster;
  rankerPool: RankerPool | undefined;
  kafka: KafkaModel;
  onOutcome: (o: RequestOutcome) => void;
}

const NO_REASONS: readonly { stage: string; code: ErrorCode }[] = [];

export class Replica {
  readonly cpuServer = new FifoServer();
  readonly breakers: Breakers;
  /** Requests accepted and not yet answered (the least-outstanding balancer reads it). */
  outstanding = 0;
  readonly #d: ReplicaDeps;

  constructor(deps: ReplicaDeps) {
    this.#d = deps;
    this.breakers = new Breakers(
      deps.clock,
      deps.sources.map((s) => s.name),
      deps.cfg.breaker,
    );
  }

  /** Runs `costUs` of CPU on this replica's event loop, then `then`. */
  #cpu(costUs: number, then: () => void): void {
    const s = this.#d.scheduler;
    s.at(this.cpuServer.submit(s.nowUs, costUs), then);
  }

  /** A request for user `userIdx` arriving now, intended at `intendedUs`. */
  handle(userIdx: number, intendedUs: number): void {
    const d = this.#d;
    this.outstanding++;
    this.#cpu(d.cpu.request(), () => {
      const refused = d.bulkhead.tryAcquire((release) => this.#pipeline(userIdx, intendedUs, release));
      if (refused) {
        this.#cpu(d.cpu.reject(), () => this.#finish(intendedUs, 503, undefined, NO_REASONS));
      }
    });
  }

  #finish(
    intendedUs: number,
    status: 200 | 503,
    rung: Rung | undefined,
    reasons: RequestOutcome['reasons'],
  ): void {
    this.outstanding--;
    const d = this.#d;
    if (status === 200) d.kafka.publish(d.index);
    d.onOutcome({ intendedUs, doneUs: d.scheduler.nowUs, status, rung, reasons });
  }

  #pipeline(userIdx: number, intendedUs: number, release: () => void): void {
    const d = this.#d;
    const { cfg, clock, redis } = d;
    const b = this.breakers;
    const ladder = new LadderPosition();
    const userShard = redis.shardOfUser(userIdx);
    const respond = () => {
      release();
      this.#finish(intendedUs, 200, ladder.rung, ladder.reasons.length ? ladder.reasons : NO_REASONS);
    };
    const servePopular = (stage: string, code: ErrorCode) => {
      // The popularity cache is in process and filled at start (core/pipeline/popularity-cache.ts).
      ladder.degrade('popularity', stage, code);
      this.#cpu(d.cpu.popularity(), respond);
    };
    const redisRead = (keys: number) => (done: (err: unknown) => void) =>
      redis.command(userShard, keys, (err) => done(err));

    // 2. Recent watches and the user record, in parallel.
    let recentOk: boolean | undefined;
    const recentWaiters: (() => void)[] = [];
    guardedCallback(clock, b.activity, cfg.deadlines.userMs, FEATURES, redisRead(1), (err) => {
      recentOk = err === undefined;
      if (err) ladder.degrade('full', 'watched_filter', errorCode(err, 'RECLAB_ERR_FEATURES_UNAVAILABLE'));
      for (const w of recentWaiters.splice(0)) w();
    });
    guardedCallback(clock, b.features, cfg.deadlines.userMs, FEATURES, redisRead(1), (err) => {
      if (err) {
        this.#cpu(d.cpu.redisReply(), () =>
          servePopular('user_context', errorCode(err, 'RECLAB_ERR_FEATURES_UNAVAILABLE')),
        );
        return;
      }
      this.#cpu(d.cpu.redisReply(), afterUser);
    });

    // 3. User tower, then the retrieval fan-out.
    const afterUser = () => {
      guardedCallback(
        clock,
        b.encoder,
        cfg.deadlines.encoderMs,
        RETRIEVAL,
        (done) => this.#cpu(d.cpu.userEncoder(), () => done(undefined)),
        (err) => {
          if (err)
            ladder.degrade(
              'partial_retrieval',
              'user_encoder',
              errorCode(err, 'RECLAB_ERR_RETRIEVAL_UNAVAILABLE'),
            );
          retrieve(err === undefined);
        },
      );
    };
    const retrieve = (haveEmbedding: boolean) => {
      let left = d.sources.length;
      let ok = 0;
      const settle = (source: FleetSource, err: ReclabError | undefined) => {
        if (err)
          ladder.degrade(
            'partial_retrieval',
            `retrieval.${source.name}`,
            errorCode(err, 'RECLAB_ERR_RETRIEVAL_UNAVAILABLE'),
          );
        else ok++;
        if (--left === 0) afterRetrieval(ok);
      };
      for (const source of d.sources) {
        guardedCallback(
          clock,
          b.sources.get(source.name)!,
          cfg.deadlines.retrievalMs,
          RETRIEVAL,
          (done) => this.#retrieveFrom(source, userShard, haveEmbedding, () => recentOk, recentWaiters, done),
          (err) => settle(source, err),
        );
      }
    };

    // 4–5. Merge, then one batched enrichment read.
    const afterRetrieval = (ok: number) => {
      if (ok === 0) {
        servePopular('retrieval', 'RECLAB_ERR_RETRIEVAL_EMPTY');
        return;
      }
      this.#cpu(d.cpu.merge(), () =>
        guardedCallback(
          clock,
          b.features,
          cfg.deadlines.enrichmentMs,
          FEATURES,
          (done) => redis.spreadRead(d.candidates, (err) => done(err)),
          (err) => {
            if (err)
              ladder.degrade(
                'default_features',
                'enrichment',
                errorCode(err, 'RECLAB_ERR_FEATURES_UNAVAILABLE'),
              );
            this.#cpu(d.cpu.enrichment(), rankMain);
          },
        ),
      );
    };

    // 6. Ranking: main ranker, else the light ranker, else merge order.
    const rankMain = () => {
      guardedCallback(
        clock,
        b.ranker,
        cfg.deadlines.rankingMs,
        RANKING,
        (done) => {
          const pool = d.rankerPool;
          if (pool) this.#cpu(d.cpu.rankerClient(), () => pool.score(d.candidates, (err) => done(err)));
          else this.#cpu(d.cpu.mainRanker(), () => done(undefined));
        },
        (err) => {
          if (!err) return this.#cpu(d.cpu.rerank(), respond);
          const mainCode = errorCode(err, 'RECLAB_ERR_RANKER_UNAVAILABLE');
          guardedCallback(
            clock,
            b.lightRanker,
            cfg.deadlines.rankingMs,
            RANKING,
            (done) => this.#cpu(d.cpu.lightRanker(), () => done(undefined)),
            (lightErr) => {
              const by: Rung = lightErr ? 'retrieval_scores' : 'light_ranker';
              ladder.degrade(by, 'ranking', mainCode);
              if (lightErr)
                ladder.degrade(by, 'light_ranking', errorCode(lightErr, 'RECLAB_ERR_RANKER_UNAVAILABLE'));
              this.#cpu(d.cpu.rerank(), respond);
            },
          );
        },
      );
    };
  }

  /** One retrieval source's work: an ANN search on this CPU, or sequential Redis round trips. */
  #retrieveFrom(
    source: FleetSource,
    userShard: number,
    haveEmbedding: boolean,
    recentOk: () => boolean | undefined,
    recentWaiters: (() => void)[],
    done: (err: unknown) => void,
  ): void {
    const d = this.#d;
    const run = () => {
      if (source.needsRecentWatches && recentOk() === false) {
        done(new Error('recent watches unavailable'));
        return;
      }
      if (source.kind === 'ann') {
        // Without a user embedding the two-tower source has nothing to search with: no CPU, no items.
        if (!haveEmbedding && !source.needsRecentWatches) return done(undefined);
        this.#cpu(d.cpu.ann(), () => done(undefined));
        return;
      }
      let left = source.redisCommands;
      const next = () =>
        d.redis.command(userShard, source.keysPerCommand, (err) => {
          if (err) return done(err);
          this.#cpu(d.cpu.redisReply(), () => (--left === 0 ? done(undefined) : next()));
        });
      next();
    };
    // Content retrieval needs the recent watches the pipeline is still reading: wait for them.
    if (source.needsRecentWatches && recentOk() === undefined) recentWaiters.push(run);
    else run();
  }
}
