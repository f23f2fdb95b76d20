/**
 * One simulated core replica: a single-threaded event loop (a FIFO CPU server) running the core's
 * own decision code — its admission controller (Bulkhead with CoDel shedding, brownout policy), a circuit
 * breaker per dependency (`Breakers`, core/pipeline/recommend.ts), deadlines through
 * `guardedCallback` (core/resilience/guard.ts) and the fallback ladder (`LadderPosition`,
 * core/resilience/fallback-ladder.ts), all on the virtual clock. The heavy computations (ANN
 * search, model inference, MMR) are CPU jobs with calibrated service times; Redis, the ranker pool
 * and Kafka are the fleet's models.
 *
 * The request flow follows `recommend()` stage by stage (core/pipeline/recommend.ts), with the same
 * rungs and reason codes:
 *  1. the core's AdmissionController (bulkhead + brownout policy, core/resilience/admission.ts) on
 *     arrival, then the request CPU (parse, A/B): `popularity` ⇒ the cache in the same job; `light`/`lean` ⇒ no
 *     main ranker (and, `lean`, fewer candidates: the per-candidate CPU and the MGET scale with
 *     them); `shed` ⇒ 503 RECLAB_ERR_OVERLOADED; every brownout with reason RECLAB_ERR_OVERLOADED;
 *  2. user record and recent watches from Redis in parallel (deadline userMs; breakers `features`,
 *     `activity`): user failed ⇒ `popularity`; recent watches failed ⇒ reason `watched_filter`;
 *     no user record ⇒ the loader's marker: there ⇒ a cold start, gone ⇒ `popularity`
 *     (RECLAB_ERR_FEATURES_MISSING);
 *  3. user tower (CPU, deadline encoderMs), then every source in parallel under retrievalMs with its
 *     own breaker: a failed source ⇒ `partial_retrieval`; none left ⇒ `popularity`;
 *  4. merge (CPU); 5. enrichment MGET (deadline enrichmentMs): failed ⇒ `default_features`;
 *     records missing ⇒ `default_features`, more than half missing ⇒ `popularity`;
 *  6. ranking: the main ranker (pool or in process, deadline rankingMs) ⇒ else the light ranker
 *     (`light_ranker`) ⇒ else merge order (`retrieval_scores`); 7. re-rank (CPU); 8. respond and
 *     publish the impression.
 * A phase of the pipeline that the live core runs is a CPU job here; what it computes is not.
 */
import { type ErrorCode, errorCode, ReclabError } from '../../core/errors.ts';
import { Breakers, MISSING_RECORDS_SHARE_MAX, type PipelineConfig } from '../../core/pipeline/recommend.ts';
import { AdmissionController } from '../../core/resilience/admission.ts';
import type { BrownoutLevel, BrownoutSettings } from '../../core/resilience/brownout.ts';
import type { Bulkhead } from '../../core/resilience/bulkhead.ts';
import type { CircuitBreaker } from '../../core/resilience/circuit-breaker.ts';
import { LadderPosition, type Rung } from '../../core/resilience/fallback-ladder.ts';
import { type GuardCodes, guardedCallback } from '../../core/resilience/guard.ts';
import { LoopLagProbe } from '../../core/resilience/loop-lag.ts';
import type { EventScheduler } from '../engine/scheduler.ts';
import type { VirtualClock } from '../engine/virtual-clock.ts';
import type { Sampler } from './distributions.ts';
import type { FifoServer } from './fifo-server.ts';
import type { FleetSource } from './fleet-spec.ts';
import type { KafkaModel } from './kafka-model.ts';
import { LoopClock } from './loop-clock.ts';
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
  /** Virtual time; the request's timers go through this replica's loop (loop-clock.ts). */
  clock: VirtualClock;
  cfg: PipelineConfig;
  bulkhead: Bulkhead;
  /** The brownout policy's settings (core/resilience/brownout.ts). */
  brownout: BrownoutSettings;
  cpu: CpuSamplers;
  /** GC pauses after a served request (fleet `replicas.gcPauses`), and the uniform draw deciding them. */
  gc?: { pauses: readonly { perRequest: number; pause: Sampler }[]; draw: () => number };
  sources: readonly FleetSource[];
  candidates: number;
  redis: RedisCluster;
  rankerPool: RankerPool | undefined;
  kafka: KafkaModel;
  /** The ANN index the `ann` sources search (a missing index fails them at once). */
  ann?: { missing: boolean };
  onOutcome: (o: RequestOutcome) => void;
  /** The replica's event loop (the run's `cpuServerOf`). */
  cpuServer: FifoServer;
}

const ANN_MISSING = new ReclabError('RECLAB_ERR_RETRIEVAL_UNAVAILABLE', 'ANN index missing');

const NO_REASONS: readonly { stage: string; code: ErrorCode }[] = [];

export class Replica {
  /** Its event loop (`ReplicaDeps.cpuServer`). */
  readonly cpuServer: FifoServer;
  readonly breakers: Breakers;
  /** `breakers.sources` in the order of `d.sources`: no lookup by name per request and source. */
  readonly sourceBreakers: readonly CircuitBreaker[];
  /** Requests accepted and not yet answered (the least-outstanding balancer reads it). */
  outstanding = 0;
  readonly d: ReplicaDeps;
  /**
   * The core's admission controller over this replica's bulkhead, reading the core's own
   * event-loop lag probe (core/resilience/loop-lag.ts) whose ticks run on this replica's loop
   * (loop-clock.ts), as the live core's do.
   */
  readonly admission: AdmissionController;
  /** The clock of the request's deadlines: their timers run on this replica's loop (loop-clock.ts). */
  readonly loopClock: LoopClock;
  readonly #lagProbe: LoopLagProbe;

  constructor(deps: ReplicaDeps) {
    this.d = deps;
    this.cpuServer = deps.cpuServer;
    this.loopClock = new LoopClock(deps.clock, deps.scheduler, deps.cpuServer);
    // The core's own lag probe, ticking on this replica's loop as it does on the live one.
    this.#lagProbe = new LoopLagProbe(this.loopClock);
    this.#lagProbe.start();
    this.admission = new AdmissionController(deps.bulkhead, deps.brownout, this.#lagProbe);
    this.breakers = new Breakers(
      deps.clock,
      deps.sources.map((s) => s.name),
      deps.cfg.breaker,
    );
    this.sourceBreakers = deps.sources.map((s) => this.breakers.sources.get(s.name)!);
  }

  /**
   * No request arrives from now on (the run drains): stops the lag probe, which admission alone
   * reads and which would otherwise tick through the drain.
   */
  arrivalsEnded(): void {
    this.#lagProbe.stop();
  }

  /** Runs `costUs` of CPU on this replica's event loop, then `then`. */
  cpu(costUs: number, then: () => void): void {
    const s = this.d.scheduler;
    s.post(this.cpuServer.submit(s.nowUs, costUs), then);
  }

  /**
   * Runs `costUs` of CPU at once, as the synchronous continuation of the job whose callback calls
   * it (FifoServer.submitNext), then `then`: the live pipeline's code between two awaits of I/O.
   */
  cpuNext(costUs: number, then: () => void): void {
    const s = this.d.scheduler;
    s.post(this.cpuServer.submitNext(s.nowUs, costUs), then);
  }

  /** A request for user `userIdx` arriving now, intended at `intendedUs`. */
  handle(userIdx: number, intendedUs: number): void {
    const d = this.d;
    this.outstanding++;
    // Admission decides on arrival, from the lag probe on this replica's loop (the live core decides
    // when its handler runs, after the loop's lag, which that probe reads). A popularity answer or a
    // refusal then runs in the handler's own job, as in Node (its continuation is a microtask, not a
    // new turn of the loop); a pipeline level parses once it has its slot.
    this.admission.admit((a) => {
      if (a.decision === 'shed')
        this.cpu(d.cpu.request() + d.cpu.reject(), () => this.finish(intendedUs, 503, undefined, NO_REASONS));
      else if (a.decision === 'popularity')
        new SimRequest(this, userIdx, intendedUs, a.release, 'popularity').start(d.cpu.request());
      else
        this.cpu(d.cpu.request(), () =>
          new SimRequest(this, userIdx, intendedUs, a.release, a.decision).start(0),
        );
    });
  }

  finish(
    intendedUs: number,
    status: 200 | 503,
    rung: Rung | undefined,
    reasons: RequestOutcome['reasons'],
  ): void {
    this.outstanding--;
    const d = this.d;
    if (d.gc) {
      // The allocation of this request may trigger a collection: a pause on the loop, no callback.
      for (const g of d.gc.pauses)
        if (d.gc.draw() < g.perRequest) this.cpuServer.submitFixed(d.scheduler.nowUs, g.pause());
    }
    if (status === 200) d.kafka.publish(d.index);
    d.onOutcome({ intendedUs, doneUs: d.scheduler.nowUs, status, rung, reasons });
  }
}

/**
 * One admitted request's way through the pipeline. Its stages are methods and its callbacks are
 * inline arrows, not named closures built per request: at 50K requests per simulated second that
 * allocation is the simulator's main cost.
 */
class SimRequest {
  readonly #r: Replica;
  readonly #userShard: number;
  readonly #intendedUs: number;
  readonly #release: () => void;
  readonly #ladder = new LadderPosition();
  /** Recent watches read: undefined while in flight. */
  #recentOk: boolean | undefined;
  /** Why that read failed, when it did. */
  #recentCode: ErrorCode = 'RECLAB_ERR_FEATURES_UNAVAILABLE';
  #recentWaiters: (() => void)[] | undefined;
  #sourcesLeft = 0;
  #sourcesOk = 0;
  #mainCode: ErrorCode = 'RECLAB_ERR_RANKER_UNAVAILABLE';
  readonly #level: BrownoutLevel;
  /** Candidates this request ranks (fewer at the `lean` level). */
  readonly #rows: number;
  /** CPU of the per-candidate stages (enrichment, light ranker, re-rank) relative to `candidates`. */
  readonly #rowShare: number;

  constructor(r: Replica, userIdx: number, intendedUs: number, release: () => void, level: BrownoutLevel) {
    this.#r = r;
    this.#userShard = r.d.redis.shardOfUser(userIdx);
    this.#intendedUs = intendedUs;
    this.#release = release;
    this.#level = level;
    const { candidates, cfg } = r.d;
    this.#rows =
      level === 'lean'
        ? Math.max(1, Math.round(candidates * Math.min(1, cfg.leanCandidatesMax / cfg.candidatesMax)))
        : candidates;
    this.#rowShare = this.#rows / candidates;
  }

  #respond(): void {
    this.#release();
    const reasons = this.#ladder.reasons;
    this.#r.finish(this.#intendedUs, 200, this.#ladder.rung, reasons.length ? reasons : NO_REASONS);
  }

  /**
   * The popularity cache is in process and filled at start (core/pipeline/popularity-cache.ts);
   * `extraUs`: CPU of the same job before it (the request's parse, for a brownout). A request's
   * first job, or one decided at a dependency's answer (`onLoop` false), waits its turn on the
   * loop; one decided inside a job continues it.
   */
  #servePopular(stage: string, code: ErrorCode, extraUs = 0, onLoop = extraUs === 0): void {
    this.#ladder.degrade('popularity', stage, code);
    const costUs = extraUs + this.#r.d.cpu.popularity();
    if (onLoop) this.#r.cpuNext(costUs, () => this.#respond());
    else this.#r.cpu(costUs, () => this.#respond());
  }

  /**
   * 2. Recent watches and the user record, in parallel (after the brownout's own steps);
   * `parseUs`: the request's parse CPU when it has not run yet (the popularity brownout).
   */
  start(parseUs: number): void {
    // Brownout, as recommend() does: the cache at once, or fewer candidates and no main ranker.
    if (this.#level === 'popularity') {
      this.#servePopular('admission', 'RECLAB_ERR_OVERLOADED', parseUs);
      return;
    }
    if (this.#level === 'lean')
      this.#ladder.degrade('partial_retrieval', 'retrieval', 'RECLAB_ERR_OVERLOADED');
    const { cfg, redis } = this.#r.d;
    const clock = this.#r.loopClock;
    const b = this.#r.breakers;
    const shard = this.#userShard;
    guardedCallback(
      clock,
      b.activity,
      cfg.deadlines.userMs,
      FEATURES,
      (done) => redis.command(shard, 1, done),
      (err) => {
        this.#recentOk = err === undefined;
        if (err) {
          this.#recentCode = errorCode(err, 'RECLAB_ERR_FEATURES_UNAVAILABLE');
          this.#ladder.degrade('full', 'watched_filter', this.#recentCode);
        }
        const waiters = this.#recentWaiters;
        this.#recentWaiters = undefined;
        // The sources waiting for this answer start in its turn on the loop.
        if (waiters)
          this.#r.cpu(0, () => {
            for (const w of waiters) w();
          });
      },
    );
    guardedCallback<number>(
      clock,
      b.features,
      cfg.deadlines.userMs,
      FEATURES,
      (done) => redis.command(shard, 1, done),
      (err, missing) => {
        const cpu = this.#r.d.cpu;
        if (err) {
          const code = errorCode(err, 'RECLAB_ERR_FEATURES_UNAVAILABLE');
          this.#r.cpu(cpu.redisReply(), () => this.#servePopular('user_context', code));
        } else if (missing) this.#r.cpu(cpu.redisReply(), () => this.#readLoadMarker());
        else this.#r.cpu(cpu.redisReply(), () => this.#encodeUser());
      },
    );
  }

  /**
   * 2b. No user record: a new user while the loader's marker is there (a cold start: the pipeline
   * goes on with default features), lost data without it (`popularity`,
   * RECLAB_ERR_FEATURES_MISSING), as recommend() decides.
   */
  #readLoadMarker(): void {
    const { cfg, redis, cpu } = this.#r.d;
    const clock = this.#r.loopClock;
    guardedCallback<number>(
      clock,
      this.#r.breakers.features,
      cfg.deadlines.userMs,
      FEATURES,
      (done) => redis.command(redis.markerShard, 1, done),
      (err, missing) => {
        if (err) {
          const code = errorCode(err, 'RECLAB_ERR_FEATURES_UNAVAILABLE');
          this.#r.cpu(cpu.redisReply(), () => this.#servePopular('user_context', code));
        } else if (missing)
          this.#r.cpu(cpu.redisReply(), () =>
            this.#servePopular('user_context', 'RECLAB_ERR_FEATURES_MISSING'),
          );
        else this.#r.cpu(cpu.redisReply(), () => this.#encodeUser());
      },
    );
  }

  /** 3. User tower, then the retrieval fan-out. */
  #encodeUser(): void {
    const d = this.#r.d;
    guardedCallback(
      this.#r.loopClock,
      this.#r.breakers.encoder,
      d.cfg.deadlines.encoderMs,
      RETRIEVAL,
      (done) => this.#r.cpu(d.cpu.userEncoder(), () => done(undefined)),
      (err) => {
        if (err)
          this.#ladder.degrade(
            'partial_retrieval',
            'user_encoder',
            errorCode(err, 'RECLAB_ERR_RETRIEVAL_UNAVAILABLE'),
          );
        this.#retrieve(err === undefined);
      },
    );
  }

  #retrieve(haveEmbedding: boolean): void {
    const sources = this.#r.d.sources;
    this.#sourcesLeft = sources.length;
    for (let i = 0; i < sources.length; i++) {
      // As the live pipeline (CandidateSource.needsRecentWatches): content retrieval starts once the
      // recent watches are read, and is skipped without asking its breaker when that read failed.
      if (sources[i].needsRecentWatches && this.#recentOk === undefined) {
        this.#recentWaiters ??= [];
        this.#recentWaiters.push(() => this.#startSource(i, haveEmbedding));
      } else this.#startSource(i, haveEmbedding);
    }
  }

  #startSource(i: number, haveEmbedding: boolean): void {
    const d = this.#r.d;
    const source = d.sources[i];
    const settle = (err: ReclabError | undefined) => {
      if (err)
        this.#ladder.degrade(
          'partial_retrieval',
          `retrieval.${source.name}`,
          errorCode(err, 'RECLAB_ERR_RETRIEVAL_UNAVAILABLE'),
        );
      else this.#sourcesOk++;
      if (--this.#sourcesLeft === 0) this.#merge();
    };
    if (source.needsRecentWatches && this.#recentOk === false) {
      settle(new ReclabError(this.#recentCode, 'recent watches unavailable'));
      return;
    }
    guardedCallback(
      this.#r.loopClock,
      this.#r.sourceBreakers[i],
      d.cfg.deadlines.retrievalMs,
      RETRIEVAL,
      (done) => this.#retrieveFrom(source, haveEmbedding, done),
      settle,
    );
  }

  /** One retrieval source's work: an ANN search on this CPU, or sequential Redis round trips. */
  #retrieveFrom(source: FleetSource, haveEmbedding: boolean, done: (err: unknown) => void): void {
    const d = this.#r.d;
    if (source.kind === 'ann') {
      if (d.ann?.missing) {
        done(ANN_MISSING);
        return;
      }
      // Without a user embedding the two-tower source has nothing to search with: no CPU, no items.
      if (!haveEmbedding && !source.needsRecentWatches) done(undefined);
      // FAISS searches synchronously, in the turn that has the query (the user tower's answer).
      else this.#r.cpuNext(d.cpu.ann(), () => done(undefined));
      return;
    }
    this.#redisChain(source, source.redisCommands, done);
  }

  #redisChain(source: FleetSource, left: number, done: (err: unknown) => void): void {
    const d = this.#r.d;
    d.redis.command(this.#userShard, source.keysPerCommand, (err) => {
      if (err) done(err);
      else
        this.#r.cpu(d.cpu.redisReply(), () =>
          left === 1 ? done(undefined) : this.#redisChain(source, left - 1, done),
        );
    });
  }

  /** 4–5. Merge, then one batched enrichment read. */
  #merge(): void {
    if (this.#sourcesOk === 0) {
      this.#servePopular('retrieval', 'RECLAB_ERR_RETRIEVAL_EMPTY');
      return;
    }
    const d = this.#r.d;
    // In the turn of the last source's answer (Promise.all's continuation).
    this.#r.cpuNext(d.cpu.merge(), () =>
      guardedCallback<number>(
        this.#r.loopClock,
        this.#r.breakers.features,
        d.cfg.deadlines.enrichmentMs,
        FEATURES,
        (done) => d.redis.spreadRead(this.#rows, done),
        (err, missing) => {
          if (err)
            this.#ladder.degrade(
              'default_features',
              'enrichment',
              errorCode(err, 'RECLAB_ERR_FEATURES_UNAVAILABLE'),
            );
          else if (missing && missing > this.#rows * MISSING_RECORDS_SHARE_MAX) {
            // Most candidates have no record: the store lost its data (recommend() step 5).
            this.#servePopular('enrichment', 'RECLAB_ERR_FEATURES_MISSING', 0, false);
            return;
          } else if (missing)
            this.#ladder.degrade('default_features', 'enrichment', 'RECLAB_ERR_FEATURES_MISSING');
          this.#r.cpu(d.cpu.enrichment() * this.#rowShare, () => this.#rankMain());
        },
      ),
    );
  }

  /** 6. Ranking: main ranker, else the light ranker, else merge order. */
  #rankMain(): void {
    const d = this.#r.d;
    if (this.#level === 'light' || this.#level === 'lean') {
      this.#mainCode = 'RECLAB_ERR_OVERLOADED'; // browned out: the main ranker is not asked
      this.#rankLight();
      return;
    }
    guardedCallback(
      this.#r.loopClock,
      this.#r.breakers.ranker,
      d.cfg.deadlines.rankingMs,
      RANKING,
      (done) => {
        const pool = d.rankerPool;
        // The request to the ranker tier is built in the enrichment's turn; an in-process
        // inference answers in a later turn (ONNX Runtime's run is asynchronous).
        if (pool) this.#r.cpuNext(d.cpu.rankerClient(), () => pool.score(d.candidates, done));
        else this.#r.cpu(d.cpu.mainRanker(), () => done(undefined));
      },
      (err) => {
        // Re-ranking runs in the turn of the ranker's answer: the tier's reply waits its turn on
        // the loop; the in-process inference's completion is one.
        if (!err) {
          if (d.rankerPool) this.#r.cpu(d.cpu.rerank(), () => this.#respond());
          else this.#r.cpuNext(d.cpu.rerank(), () => this.#respond());
        } else {
          this.#mainCode = errorCode(err, 'RECLAB_ERR_RANKER_UNAVAILABLE');
          this.#rankLight();
        }
      },
    );
  }

  #rankLight(): void {
    const d = this.#r.d;
    guardedCallback(
      this.#r.loopClock,
      this.#r.breakers.lightRanker,
      d.cfg.deadlines.rankingMs,
      RANKING,
      (done) => this.#r.cpu(d.cpu.lightRanker() * this.#rowShare, () => done(undefined)),
      (err) => {
        const by: Rung = err ? 'retrieval_scores' : 'light_ranker';
        this.#ladder.degrade(by, 'ranking', this.#mainCode);
        if (err) this.#ladder.degrade(by, 'light_ranking', errorCode(err, 'RECLAB_ERR_RANKER_UNAVAILABLE'));
        this.#r.cpuNext(d.cpu.rerank() * this.#rowShare, () => this.#respond());
      },
    );
  }
}
