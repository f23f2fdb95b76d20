/**
 * The composition root of the serving core (issue 13, "One composition root"; ARCHITECTURE.md, "The
 * seam the simulator needs"): `createCore` wires the core's own pieces — the L1 cache, the
 * model-independent retrieval sources, the popularity cache, the policy block list, the circuit
 * breakers, admission (bulkhead and brownout), the blue/green model slots and the sets pinned by experiments, the named
 * random streams — around the adapters it is given. core/main.ts (real drivers), the benchmarks,
 * the tests and the simulator build the core through it, so the wiring exists once.
 *
 * Nothing here reads the environment, the wall clock or an unseeded random: time comes from `clock`,
 * every draw from a named stream of `random`.
 */
import type { CoreSettings } from './config/config.ts';
import { withL1Cache } from './features/l1-feature-cache.ts';
import { NUM_REGIONS } from './features/schema.ts';
import { DriftMonitor } from './observability/drift-monitor.ts';
import type { CoreMetrics } from './observability/metrics.ts';
import { pinnedModelVersions } from './pipeline/experiments.ts';
import { type BlocklistSource, PolicyBlocklist } from './pipeline/policy-blocklist.ts';
import { PopularityCache } from './pipeline/popularity-cache.ts';
import { Breakers, type PipelineDeps, type RecentActivity } from './pipeline/recommend.ts';
import type { CandidateSource } from './ports/candidate-source.ts';
import type { Clock } from './ports/clock.ts';
import type { EventLog } from './ports/event-log.ts';
import type { FeatureStore } from './ports/feature-store.ts';
import type { ImpressionLog } from './ports/impression-log.ts';
import type { Random } from './ports/random.ts';
import { ModelSlots, type SlotEvent, type SwappableModelSet } from './registry/model-slots.ts';
import { AdmissionController } from './resilience/admission.ts';
import { Bulkhead } from './resilience/bulkhead.ts';
import type { BreakerTransition } from './resilience/circuit-breaker.ts';
import { FaultInjector } from './resilience/fault-injection.ts';
import { LoopLagProbe } from './resilience/loop-lag.ts';
import { ContentSource } from './retrieval/content-source.ts';
import { RegionalTopSource, type TopReader } from './retrieval/regional-top-source.ts';
import { type SubscriptionReader, SubscriptionsSource } from './retrieval/subscriptions-source.ts';
import type { Lifecycle } from './serve.ts';

/** Where POST /v1/videos/fresh records each upload under its creator; returns the uploads written. */
export interface UploadWriter {
  addUploads(uploads: { video: number; creator: number; uploadTsS: number }[]): Promise<number>;
}

/** Where the model sets come from: the first one, and how to load and warm any other version. */
export interface ModelSource<S extends SwappableModelSet> {
  /** The set served at start (already loaded; warmed by the caller when it needs to be). */
  initial: S;
  /**
   * Loads a version into a new set: hot swaps (`POST /admin/models/activate`) and the versions
   * experiment variants pin. @throws what core/registry/model-slots.ts passes through or wraps
   */
  load(version: string): Promise<S>;
  /** Warms a loaded set before it takes traffic (core/registry/warm-up.ts). */
  warmUp(set: S): Promise<unknown>;
  /** Swap and load events, for the log. */
  onEvent?(e: SlotEvent): void;
}

/**
 * The ports a core is built over (core/ports/; real drivers in core/adapters/, simulated ones in
 * sim/). Optional ones leave their feature out: no trending or subscriptions source, no
 * already-watched filter, no policy filter, no events route, no /metrics.
 */
export interface CoreAdapters<S extends SwappableModelSet> {
  /** Users, videos, popularity sets; the core puts its L1 cache in front (`settings.l1Cache`). */
  features: FeatureStore;
  /** The users' recent watches (streaming features): the already-watched filter reads them. */
  activity?: RecentActivity;
  /** Trending sets (streaming features): the `trending` source. */
  trending?: TopReader;
  /** Followed creators and their uploads: the `subscriptions` source. */
  subscriptions?: SubscriptionReader;
  /** The policy block list's store: the policy filter. */
  blocklist?: BlocklistSource;
  impressions: ImpressionLog;
  /** Where POST /v1/events hands events; the route exists only when given. */
  events?: Pick<EventLog, 'publish'> & Partial<Pick<EventLog, 'stats'>>;
  /** Where fresh uploads join their creators' recent uploads (subscription retrieval). */
  uploads?: UploadWriter;
  models: ModelSource<S>;
  /** Prometheus metrics (GET /metrics, L1 hit counters); none: not collected. */
  metrics?: CoreMetrics;
  /**
   * Watches served features against each model set's training distribution (PSI in `metrics`);
   * default with metrics: `new DriftMonitor()` (windows of 20,000 values).
   */
  drift?: DriftMonitor;
  /** Every breaker state change with its reason (counted in `metrics` too), e.g. for the log. */
  onBreakerTransition?(t: BreakerTransition): void;
}

/** One core instance, wired: what the HTTP app (core/app.ts), `serveRecommendation` and the simulator use. */
export interface Core<S extends SwappableModelSet = SwappableModelSet> {
  readonly clock: Clock;
  readonly settings: Readonly<CoreSettings>;
  /** What `recommend()` talks to (core/pipeline/recommend.ts). */
  readonly deps: PipelineDeps;
  /** Blue/green slots of the active model set (seed 000 §7). */
  readonly models: ModelSlots<S>;
  /** Sets pinned by experiment variants, by version: loaded and warmed at start, never swapped. */
  readonly pinned: ReadonlyMap<string, ModelSlots<S>>;
  readonly breakers: Breakers;
  /**
   * Admission of the recommendation pipeline: the bulkhead with CoDel-style shedding and the
   * brownout policy (core/resilience/admission.ts), fed by `loopLag`.
   */
  readonly admission: AdmissionController;
  /** Event-loop lag, the admission policy's CPU signal; ticks between `start()` and `stop()`. */
  readonly loopLag: LoopLagProbe;
  /** Starting/ready/draining: the caller flips `ready` once it takes traffic, `draining` when it stops. */
  readonly lifecycle: Lifecycle;
  readonly popularity: PopularityCache;
  readonly policy?: PolicyBlocklist;
  readonly metrics?: CoreMetrics;
  readonly events?: CoreAdapters<S>['events'];
  readonly uploads?: UploadWriter;
  /** Fills the popularity cache and the block list, then refreshes them in the background. */
  start(): Promise<void>;
  /**
   * Takes traffic: `lifecycle.ready`, and (with brownout on) the event-loop lag probe starts — only
   * now, so the start-up's own stalls (model loading, schema compilation) are not read as load.
   */
  markReady(): void;
  /** Stops the background refreshes and the lag probe. */
  stop(): void;
  /** Releases every model set (active, standby, pinned). */
  close(): Promise<void>;
}

/** Sizes of the in-process popularity cache (seed 000 §2.2: top-200 global, top-50 per region). */
const POPULARITY_GLOBAL = 200;
const POPULARITY_REGION = 50;

/**
 * Builds a core over `adapters` with `settings` (core/config/config.ts `loadSettings`/`settingsOf`),
 * time from `clock` and every random draw from a named stream of `random`:
 * `rerank.exploration` (exploration slots), `faults` (fault injection's ratios), and
 * `impression.id[.<instanceId>]` (impression ids; the instance id keeps two processes with one seed
 * apart). Loads and warms the versions experiment variants pin (`adapters.models.load`), so it
 * resolves once they are ready. The core starts not ready (`lifecycle.ready` false) and without
 * background refreshes: call `start()`, then `markReady()` once it takes traffic.
 * @throws what `adapters.models.load`/`warmUp` throw for a pinned version
 */
export async function createCore<S extends SwappableModelSet>(
  adapters: CoreAdapters<S>,
  settings: Readonly<CoreSettings>,
  clock: Clock,
  random: Random,
): Promise<Core<S>> {
  const { metrics } = adapters;
  // Video records through the in-process L1 cache (user records pass through).
  const features = withL1Cache(adapters.features, clock, settings.l1Cache, metrics?.featureCache);
  const popularity = new PopularityCache(features, clock, {
    refreshMs: settings.popularityRefreshMs,
    globalSize: POPULARITY_GLOBAL,
    regionSize: POPULARITY_REGION,
    regions: NUM_REGIONS,
  });
  // Model-independent sources; each model set brings its own (two-tower, content over its indexes).
  const sources: CandidateSource[] = [
    new RegionalTopSource('popularity', (r, n) => features.topPopular(r, n)),
  ];
  if (adapters.trending) sources.push(new RegionalTopSource('trending', adapters.trending));
  if (adapters.subscriptions) sources.push(new SubscriptionsSource(adapters.subscriptions, clock));
  const policy = adapters.blocklist && new PolicyBlocklist(adapters.blocklist, clock, settings.policy);
  const initial = adapters.models.initial;
  const breakers = new Breakers(
    clock,
    // `content` too when the first set lacks it: a set swapped in later may bring it.
    [...new Set([...initial.sources, ...sources].map((s) => s.name)).add(ContentSource.NAME)],
    settings.pipeline.breaker,
    (t) => {
      metrics?.onBreakerTransition(t);
      adapters.onBreakerTransition?.(t);
    },
  );
  const deps: PipelineDeps = {
    clock,
    features,
    sources,
    popularity,
    impressions: adapters.impressions,
    exploration: random.stream('rerank.exploration'),
    impressionIds: random.stream(
      settings.instanceId === undefined ? 'impression.id' : `impression.id.${settings.instanceId}`,
    ),
  };
  if (adapters.activity) deps.activity = adapters.activity;
  if (policy) deps.policy = policy;
  if (settings.faultInjection) deps.faults = new FaultInjector(clock, random.stream('faults'));
  const drift = adapters.drift ?? (metrics ? new DriftMonitor() : undefined);
  if (drift) deps.drift = drift;

  const { load, warmUp, onEvent } = adapters.models;
  const nowMs = () => clock.now();
  const models = new ModelSlots<S>(initial, { load, warmUp, onEvent, nowMs });
  // Versions pinned by experiment variants: loaded and warmed once, served next to the active set.
  const pinned = new Map<string, ModelSlots<S>>();
  for (const version of pinnedModelVersions(settings.pipeline.experiments)) {
    if (version === initial.modelVersion) continue;
    const set = await load(version);
    await warmUp(set);
    pinned.set(version, new ModelSlots<S>(set, { load: () => load(version), warmUp, nowMs }));
  }

  const loopLag = new LoopLagProbe(clock);
  const lifecycle: Lifecycle = { ready: false, draining: false };
  const admission = new AdmissionController(
    new Bulkhead(clock, settings.bulkhead),
    settings.brownout,
    loopLag,
  );

  metrics?.watch({
    admission: () => {
      const b = admission.bulkhead.stats();
      return {
        ...b,
        maxConcurrent: settings.bulkhead.maxConcurrent,
        maxQueue: settings.bulkhead.maxQueue,
        queueDelayMs: admission.bulkhead.queueDelayMs(),
        inFlightCpuMs: admission.stats().inFlightCpuMs,
        standingLagMs: loopLag.standingLagMs(),
      };
    },
    events: () => adapters.events?.stats?.(),
    ...(drift ? { drift: () => drift.readings() } : {}),
  });

  return {
    clock,
    settings,
    deps,
    models,
    pinned,
    breakers,
    admission,
    loopLag,
    lifecycle,
    popularity,
    policy,
    metrics,
    events: adapters.events,
    uploads: adapters.uploads,
    async start() {
      await Promise.all([popularity.start(), policy?.start()]);
    },
    markReady() {
      lifecycle.ready = true;
      if (settings.brownout.enabled) loopLag.start();
    },
    stop() {
      loopLag.stop();
      popularity.stop();
      policy?.stop();
    },
    async close() {
      await Promise.all([models.close(), ...[...pinned.values()].map((p) => p.close())]);
    },
  };
}
