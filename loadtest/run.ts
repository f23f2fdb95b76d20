/**
 * The live runner: one scenario on real infrastructure (ARCHITECTURE.md, "loadtest/").
 *
 * provision Redis + Kafka (Testcontainers, or external URLs) → build the seeded world, its models and
 * index (cached by world hash) → load Redis → start the core as its own process → drive each phase
 * in the open model, applying the phase's faults → stop the core gracefully (impressions and events
 * flushed) → read the impressions and events back from their topics with a real consumer → check
 * assertions and invariants (nothing lost, the core exited 0) → write reports.
 * Containers are stopped on every path out, Ctrl-C included.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, release as osRelease, type as osType, totalmem } from 'node:os';
import { join } from 'node:path';
import { REGIONS } from '../core/features/schema.ts';
import { seededRandom } from '../core/random/seeded-random.ts';
import type { FaultRecord } from '../reports/model.ts';
import { describeArrivals, meanRateQps } from '../scenarios/arrivals.ts';
import { type AssertionOutcome, evaluate, type PhaseMeasurement } from '../scenarios/assertions.ts';
import { coreEnvOf } from '../scenarios/core-settings.ts';
import type { Fault, ScenarioDefinition } from '../scenarios/define.ts';
import { faultEndS, scaleScenario } from '../scenarios/scale.ts';
import { ARTIFACT_FILES } from '../sim/models/index.ts';
import { progressFactory, progressMode } from '../sim/progress.ts';
import { publishVersion } from '../sim/registry/publish.ts';
import { ColdStart, type ColdStartOutcome } from './cold-start.ts';
import { type CoreProcess, startCore } from './core-process.ts';
import { applyPinning, type CpuPinning, containerRootPid, cpuPinningPlan, unpin } from './cpu-pinning.ts';
import {
  type LiveProgress,
  type PhaseResult,
  type RequestSpec,
  type ResponseInfo,
  runOpenModel,
} from './drivers/autocannon/open-model.ts';
import { type DriverHalf, runPairedPhase } from './drivers/paired.ts';
import { runVegetaPhase, vegetaUnsupported } from './drivers/vegeta/vegeta.ts';
import {
  faultParams,
  injectFault,
  type LiveFaultTargets,
  type Revert,
  unsupportedReason,
} from './faults/live-faults.ts';
import type { NetworkFaultInjector, NetworkPath, NetworkPathFactory } from './faults/network.ts';
import { type RankerFaultProxy, startRankerFaultProxy } from './faults/ranker-fault-proxy.ts';
import { configureContainerEngine } from './infra/container-engine.ts';
import { externalKafka, type StartedKafka, startKafka } from './infra/kafka.ts';
import { createTopic } from './infra/kafka-topics.ts';
import { externalRedis, type StartedRedis, startRedis } from './infra/redis.ts';
import { labAdminToken } from './lab-env.ts';
import { foreignCpuShare, machineStealShare, type PhaseCpu, startCpuMeter } from './phase-cpu.ts';
import { PhaseTimers } from './phase-timers.ts';
import { PrefetchedDraws } from './prefetched-draws.ts';
import { type PreparedWorld, prepareWorld } from './prepare-world.ts';
import { descendantPids } from './proc-tree.ts';
import { QualityRecorder, type RunQuality } from './quality-recorder.ts';
import { type RankerProcess, startRankerTier } from './ranker-process.ts';
import { JSON_HEADERS, PAGE_COUNT, recommendationBody } from './recommendation-request.ts';
import { EXIT, runVerdict } from './run-verdict.ts';
import { LoadInstances } from './segments/instances.ts';
import { parseServed, reasonsOf, type ServedResponse, scanServed } from './served-response.ts';
import { countImpressions, readTopicIds } from './topic-counter.ts';
import { SimulatedUserActivity, type UserActivityStats } from './user-activity.ts';
import { type ViralOutcome, ViralVideo } from './viral-video.ts';

export { EXIT } from './run-verdict.ts';

export interface RunOptions {
  scenario: ScenarioDefinition;
  seed: number;
  /** `testcontainers` provisions Redis and Kafka; `external` takes REDIS_URL / KAFKA_BROKERS. */
  infra: 'testcontainers' | 'external';
  env: Record<string, string | undefined>;
  outRoot: string;
  cacheDir: string;
  /** Every phase's rates × this; measured phases' times × `durationScale` (scenarios/scale.ts). */
  rateScale?: number;
  durationScale?: number;
  /** Instead of `durationScale`: every measured phase lasts this long, s (the v1 `--duration`). */
  measuredDurationS?: number;
  /** World size overrides. */
  users?: number;
  videos?: number;
  /**
   * Drive this already running core (a staging deployment) instead of starting infrastructure and
   * a core: faults are skipped (warnings in the report), impressions and events are not read back.
   */
  target?: string;
  /**
   * Network faults (`latency`, `timeout`, `reset_peer`, `bandwidth`): builds the path (Toxiproxy)
   * in front of the run's Redis and Kafka; the core dials through it.
   */
  network?: NetworkPathFactory;
  log: (line: string) => void;
  /** Observers of the run for tools built on it (`reclab calibrate`); none by default. */
  probe?: RunProbe;
  /** Live figures while a phase runs (every second). */
  onProgress?: (p: LiveProgress) => void;
  /**
   * Drive the load from this many `reclab load --segment i/N` processes (loadtest/segments/), their
   * phases merged from histograms, instead of from this process (default 1: this process).
   */
  loadInstances?: number;
  /**
   * `open-model` (reclab's driver, default), `vegeta` (loadtest/drivers/vegeta/: constant-rate
   * phases only; the cross-check of issue 14), or `paired`: both at once, each half the slots
   * (loadtest/drivers/paired.ts), each half's figures in the phase's `drivers`.
   */
  driver?: 'open-model' | 'vegeta' | 'paired';
  /**
   * `--pin-core`: the core process alone on the machine's last CPU, everything else the run
   * started (the runner, the ranker tier, Redis, Kafka) on the others (loadtest/cpu-pinning.ts),
   * re-applied at each phase's start; the runner gets every CPU back at the end. Linux with ≥ 2
   * CPUs and taskset.
   */
  pinCore?: boolean;
}

/**
 * Hooks into a live run. `phaseStart`/`phaseEnd` are awaited around each phase's load (e.g. to
 * scrape the core's /metrics); `served` sees every 200 response of a phase, parsed. They run on
 * the runner's event loop: keep `served` cheap.
 */
export interface RunProbe {
  /** `corePid`: the core process the run started (undefined with `--target`). */
  phaseStart?(phase: string, coreUrl: string, corePid: number | undefined): Promise<void>;
  phaseEnd?(phase: string, coreUrl: string): Promise<void>;
  served?(phase: string, served: ServedResponse | undefined): void;
}

/** A scenario fault the live lab cannot inject in this run (exit 2, before anything starts). */
export class FaultUnsupportedError extends Error {
  readonly code = 'RECLAB_ERR_FAULT_UNSUPPORTED';
}

export interface RunSummary {
  runId: string;
  outDir: string;
  exitCode: number;
  passed: boolean;
  phases: RunPhase[];
  assertions: AssertionOutcome[];
  /** Undefined with `--target` (the run cannot read the target's topics). */
  impressions?: { responses200: number; published: number; distinctOnTopic: number; messagesOnTopic: number };
  /** 200 responses, all phases. */
  responses200: number;
  /** Every fault, when it started and ended. */
  faults: FaultRecord[];
  /** What the run could not do as the scenario asks. */
  warnings: string[];
  /** `--target`: the core that was driven. */
  target?: string;
  /**
   * Events the simulated users had accepted (202) vs what a real consumer read on the events topic:
   * `lost` = accepted ids missing from the topic. Undefined when the scenario has no user events.
   */
  events?: { accepted: number; distinctOnTopic: number; messagesOnTopic: number; lost: number };
  /** The core's exit code after the graceful stop (null: killed by a signal; undefined with `--target`). */
  coreExitCode: number | null | undefined;
  /** The CPU split of `--pin-core` (absent without it). */
  cpuPinning?: CpuPinning;
  world: PreparedWorld['info'];
  /** Ground-truth quality of the served lists, by phase and rung, with reference lists. */
  quality: RunQuality;
  /** What the simulated users sent to POST /v1/events; undefined when the scenario turns them off. */
  userEvents?: UserActivityStats;
  /** The viral video of a phase with `viral` (the first such phase); undefined without one. */
  viral?: ViralOutcome;
  /** Cold start's new users and new uploads (phases with `newUsers` / `uploads`); undefined without. */
  coldStart?: ColdStartOutcome;
}

/** One phase's driver figures, with the CPU the runner and the core spent during it. */
export interface RunPhase extends PhaseResult {
  cpu?: PhaseCpu;
  /** `--driver paired`: what each driver measured of its half of the slots. */
  drivers?: DriverHalf[];
}

/** The API's largest page (core/app.ts): the scan reads at most this many items. */
const PAGE_COUNT_MAX = 100;

function runIdOf(scenario: string, seed: number): string {
  const ts = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  return `${scenario}-${ts}-s${seed}`;
}

/** Runs one scenario end to end. Never throws for a failed budget: that is `exitCode` 3. */
export async function runScenario(opts: RunOptions): Promise<RunSummary> {
  const { seed, log } = opts;
  const scenario = scaleScenario(opts.scenario, {
    rateScale: opts.rateScale,
    durationScale: opts.durationScale,
    measuredDurationS: opts.measuredDurationS,
  });
  const runId = runIdOf(scenario.name, seed);
  const outDir = join(opts.outRoot, runId);
  await mkdir(outDir, { recursive: true });
  const startedAt = new Date();
  const warnings: string[] = [];
  const warn = (line: string) => {
    warnings.push(line);
    log(`warning: ${line}`);
  };
  log(`reclab run ${scenario.name}: seed=${seed} run=${runId}${opts.target ? ` target=${opts.target}` : ''}`);

  // Faults the lab cannot inject refuse the run before anything starts (exit 2), except with
  // --target, where faults needing the infrastructure are skipped and reported.
  const faults = scenario.phases.flatMap((p) => p.faults ?? []);
  if (!opts.target) {
    const capable: LiveFaultTargets = {
      redis: opts.infra === 'testcontainers' ? ({ container: {} } as LiveFaultTargets['redis']) : undefined,
      kafka: opts.infra === 'testcontainers' ? ({ container: {} } as LiveFaultTargets['kafka']) : undefined,
      tier: scenario.rankerTier ? ({} as LiveFaultTargets['tier']) : undefined,
      rankerProxy: {} as RankerFaultProxy,
      core: { url: '', adminToken: '' },
      network: opts.network ? ({} as NetworkFaultInjector) : undefined,
    };
    const refused = faults.flatMap((f) => unsupportedReason(f, capable) ?? []);
    if (refused.length) throw new FaultUnsupportedError(`cannot inject: ${[...new Set(refused)].join('; ')}`);
  }

  if (opts.driver === 'vegeta' || opts.driver === 'paired') {
    const why = vegetaUnsupported(scenario);
    if (why.length) throw new FaultUnsupportedError(`--driver ${opts.driver}: ${why.join('; ')}`);
  }

  // Refused before anything starts: a machine that cannot pin (RECLAB_ERR_PIN_UNAVAILABLE).
  const pinning = opts.pinCore ? cpuPinningPlan() : undefined;

  const cleanups: (() => Promise<unknown>)[] = [];
  // A pinned runner gets every CPU back (a bench runs several runs in one process).
  if (pinning) cleanups.push(() => unpin(process.pid));
  const cleanup = async () => {
    while (cleanups.length) await cleanups.pop()!().catch(() => {});
  };
  const onSignal = () => {
    log('interrupted: stopping the core and the containers');
    void cleanup().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    // 1. Infrastructure (none with --target).
    let redis: StartedRedis | undefined;
    let kafka: StartedKafka | undefined;
    if (opts.target) {
      // The target's own infrastructure is out of reach.
    } else if (opts.infra === 'external') {
      if (!opts.env.REDIS_URL || !opts.env.KAFKA_BROKERS)
        throw new Error('external infra needs REDIS_URL and KAFKA_BROKERS');
      redis = externalRedis(opts.env.REDIS_URL);
      kafka = externalKafka(opts.env.KAFKA_BROKERS.split(','));
    } else {
      configureContainerEngine(process.env);
      const t0 = Date.now();
      const r = await startRedis({ image: opts.env.RECLAB_REDIS_IMAGE });
      redis = r;
      cleanups.push(() => r.stop());
      const k = await startKafka({ image: opts.env.RECLAB_KAFKA_IMAGE });
      kafka = k;
      cleanups.push(() => k.stop());
      log(
        `infra: redis ${r.url}, kafka ${k.brokers.join(',')} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      );
    }

    let network: NetworkPath | undefined;
    if (opts.network && redis && kafka) {
      const path = await opts.network({ redis, kafka });
      network = path;
      cleanups.push(() => path.stop());
      log(`network path: redis ${path.redisUrl}, kafka ${path.kafkaBrokers.join(',')}`);
    }

    // 2. World, models, index (cached), then Redis. With --target the world only picks users and
    //    scores quality: it is meaningful when the target serves the same world (same seed and size).
    const world = await prepareWorld({
      seed,
      users: opts.users ?? scenario.world.users,
      videos: opts.videos ?? scenario.world.videos,
      cacheDir: opts.cacheDir,
      redisUrl: redis?.url,
      log,
      progress: progressFactory({ mode: progressMode(process.stderr, opts.env), env: opts.env }),
    });
    if (opts.target)
      warn(
        `--target: the requests are for world seed ${seed} (${world.info.users} users); quality scores hold only if ${opts.target} serves that world`,
      );

    // 2b. Cold start (phases with `newUsers` / `uploads`, loadtest/cold-start.ts): the new users'
    //     and the held-back videos' keys deleted, the core's embeddings without the held-back rows.
    let cold: ColdStart | undefined;
    let coldArtifactsDir: string | undefined;
    let videoRecords: Float32Array | undefined;
    if (scenario.phases.some((p) => p.newUsers || p.uploads)) {
      if (!redis) {
        warn(
          '--target: the cold-start waves need the infrastructure (the users and uploads are not held back)',
        );
      } else {
        cold = new ColdStart(world.world, world.editorial, seededRandom(seed), scenario.phases);
        const r = await cold.prepareRedis(redis.url);
        if (cold.heldBack.length) {
          coldArtifactsDir = await cold.prepareArtifacts(world.artifactsDir, join(outDir, 'artifacts'));
          const bytes = await readFile(join(world.artifactsDir, ARTIFACT_FILES.videoRecords));
          videoRecords = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
        }
        log(
          `cold start: ${r.usersCleared} new users without a record, ${r.videosHeld} videos held back for upload`,
        );
      }
    }

    // 3. Topics, one per run, so counting is exact even on a shared Kafka: impressions, and the
    //    simulated users' events (POST /v1/events → Kafka → the streaming consumer).
    const topic = `impressions.${runId}`;
    const eventsTopic = `events.${runId}`;
    if (kafka) {
      await createTopic(kafka.brokers, topic);
      await createTopic(kafka.brokers, eventsTopic);
    }

    // 4. The ranker tier (when the scenario has one) and the core, each as its own process. With a
    //    tier both serve the same registry version, published from the world's artifacts. A scenario
    //    with a slow or NaN tier fault puts the lab's proxy between them.
    const artifactsDir = coldArtifactsDir ?? world.artifactsDir;
    let modelEnv: Record<string, string> = { RECLAB_ARTIFACTS_DIR: artifactsDir };
    let tier: { current: RankerProcess } | undefined;
    let rankerProxy: RankerFaultProxy | undefined;
    if (scenario.rankerTier && !opts.target) {
      const registryDir = join(outDir, 'registry');
      const { card } = await publishVersion({
        registryDir,
        sourceDir: artifactsDir,
        codeVersion: { package: 'reclab', gitCommit: 'run' },
      });
      const current = await startRankerTier(
        { RECLAB_RANKER_TIER_REGISTRY_DIR: registryDir, RECLAB_RANKER_TIER_PRELOAD: card.modelVersion },
        join(outDir, 'ranker-tier.log'),
      );
      const t = { current };
      tier = t;
      cleanups.push(() => t.current.stop());
      if (faults.some((f) => f.target === 'ranker_tier' && (f.kind === 'slow' || f.kind === 'nan'))) {
        const proxy = await startRankerFaultProxy(current.url);
        rankerProxy = proxy;
        cleanups.push(() => proxy.close());
      }
      modelEnv = {
        RECLAB_MODEL_REGISTRY_DIR: registryDir,
        RECLAB_MODEL_VERSION: card.modelVersion,
        RECLAB_RANKER_TIER_URL: rankerProxy?.url ?? current.url,
      };
      log(
        `ranker tier: ${current.url}${rankerProxy ? ` (via the fault proxy ${rankerProxy.url})` : ''} model ${card.modelVersion}`,
      );
    }
    let core: CoreProcess | undefined;
    let coreUrl: string;
    if (opts.target) {
      coreUrl = opts.target.replace(/\/+$/, '');
    } else {
      const needsFaultInjection = faults.some((f) => f.target === 'ann_index');
      core = await startCore(
        {
          RECLAB_REDIS_URL: network ? network.redisUrl : redis!.url,
          RECLAB_KAFKA_BROKERS: (network ? network.kafkaBrokers : kafka!.brokers).join(','),
          RECLAB_IMPRESSION_TOPIC: topic,
          ...modelEnv,
          RECLAB_IMPRESSION_SPOOL_DIR: join(outDir, 'impression-spool'),
          RECLAB_EVENTS_TOPIC: eventsTopic,
          RECLAB_EVENT_SPOOL_DIR: join(outDir, 'event-spool'),
          RECLAB_LOG_LEVEL: 'info',
          RECLAB_ADMIN_TOKEN: labAdminToken(seed),
          ...(needsFaultInjection ? { RECLAB_FAULT_INJECTION: 'on' } : {}),
          ...coreEnvOf(scenario.core),
        },
        join(outDir, 'core.log'),
      );
      const c = core;
      cleanups.push(() => c.stop());
      coreUrl = c.url;
      log(`core: ${c.url} model ${c.modelVersion}`);
    }
    const faultTargets: LiveFaultTargets = opts.target
      ? {}
      : {
          redis,
          kafka,
          tier,
          rankerProxy,
          core: { url: coreUrl, adminToken: core!.adminToken },
          network: network?.injector,
        };

    // 5. Phases, open model. Request mix: known users (uniform), region context from the user.
    const random = seededRandom(seed);
    const rnd = random.stream('loadtest.requests');
    // The requests' users, drawn ahead of each phase (issue 10: the simulated users' sessions for
    // them are started before the phase, not during it); the same users in the same order as
    // drawing at each write. Not with cold start, whose draws depend on the phase.
    const requestUsers = cold ? undefined : new PrefetchedDraws(() => rnd.int(world.info.users));
    const phaseIndex = new Map(scenario.phases.map((p, i) => [p.name, i]));
    const quality = new QualityRecorder(
      world.world,
      world.editorial,
      seed,
      undefined,
      undefined,
      cold?.newUsers.length ? (phase, u) => cold!.cohortOf(phaseIndex.get(phase) ?? -1, u) : undefined,
    );
    const listScratch = new Int32Array(PAGE_COUNT_MAX); // one response's video indices (scanServed)
    const reasons = new Map<string, Record<string, number>>(); // phase → "stage code" → responses
    const shortLists = new Map<string, number>(); // phase → 200 responses with fewer than PAGE_COUNT items
    const unexplained = new Map<string, number>(); // phase → 200 responses off `full` that name no reason
    // The simulated users act on what they are served: clicks, watches and likes go to the core's
    // events route, so streaming features (watched filter, trending, recent watches) follow them.
    const activity =
      scenario.userEvents === false ? undefined : new SimulatedUserActivity(world.world, seed, coreUrl);
    cleanups.push(async () => activity?.close(0));
    // With several load processes the runner only coordinates: it does not see the responses.
    let instances: LoadInstances | undefined;
    if ((opts.loadInstances ?? 1) > 1) {
      const li = await LoadInstances.start({
        count: opts.loadInstances!,
        scenario: { ...scenario, world: { users: world.info.users, videos: world.info.videos } },
        seed,
        target: coreUrl,
        outDir,
        log,
      });
      instances = li;
      cleanups.push(async () => li.kill());
      warn(
        `--load-instances ${opts.loadInstances}: the load processes keep the responses, so ground-truth quality, ` +
          "the simulated users' events and the viral clock are not measured; the runner's CPU is the coordinator's only",
      );
    }
    const phases: RunPhase[] = [];
    const faultRecords: FaultRecord[] = [];
    const faultsDone: Promise<void>[] = [];
    let responses200 = 0;
    // The viral video (the first phase with `viral`): seeded pick, its watchers' events on the
    // simulated users' sender, the clock stopped by the first list of its region that holds it.
    const viralPhase = scenario.phases.find((p) => p.viral);
    const viral =
      viralPhase?.viral && activity
        ? new ViralVideo(world.world, random, seed, viralPhase.viral, (e) => activity.send(e))
        : undefined;
    if (viral)
      log(
        `viral: video ${viral.outcome().videoId} (region ${viral.outcome().region}), ${viral.outcome().users} users, ` +
          `${viralPhase!.viral!.eventsPerS} watch events/s from +${viralPhase!.viral!.atS} s of phase ${viralPhase!.name}`,
      );
    for (const phase of scenario.phases) {
      const timers = new PhaseTimers();
      const startFaults = () => {
        for (const f of phase.faults ?? []) {
          const rec: FaultRecord = {
            phase: phase.name,
            target: f.target,
            kind: f.kind,
            params: faultParams(f),
            fromS: f.fromS,
            toS: faultEndS(f, phase),
            status: 'applied',
          };
          faultRecords.push(rec);
          const reason = unsupportedReason(f, faultTargets);
          if (reason) {
            rec.status = 'skipped';
            rec.message = reason;
            warn(`fault ${f.target} ${f.kind} in phase ${phase.name} skipped: ${reason}`);
            continue;
          }
          faultsDone.push(scheduleFault(f, rec, phase.name, faultTargets, timers, log));
        }
      };
      const userOf = new Map<number, number>(); // request slot → user index, until its response
      if (pinning) {
        const pinned = await applyPinning(pinning, {
          corePid: core?.child.pid,
          labPids: [process.pid, ...(tier ? [tier.current.pid] : [])],
          containers: [redis?.container, kafka?.container].flatMap((c) => (c ? [c] : [])),
        });
        if (phase === scenario.phases[0])
          log(
            `cpu pinning: the core on CPU ${pinning.core}` +
              `${pinned.core === undefined ? ' (NOT pinned: the core was not found)' : ''}, ` +
              `the lab on CPU ${pinning.lab} (${pinned.lab.length} processes)`,
          );
      }
      await opts.probe?.phaseStart?.(phase.name, coreUrl, core?.child.pid);
      if (requestUsers && !instances) {
        const slots = Math.ceil(meanRateQps(phase.arrivals, phase.durationS) * phase.durationS);
        const upcoming = requestUsers.prefetch(slots);
        activity?.prepare(upcoming);
      }
      // The run's own processes, at the phase's start and end (a driver process starts during the
      // phase; a restarted container has new pids): the rest of the machine's process time is
      // foreign CPU, a disturbed phase's mark. The containers' init pids are looked up once per
      // phase (an engine call); the descendants of those and of the runner at each end.
      const containerRoots = (
        await Promise.all(
          [redis?.container, kafka?.container].map((c) =>
            c ? containerRootPid(c).catch(() => undefined) : undefined,
          ),
        )
      ).filter((pid): pid is number => pid !== undefined);
      const ownPids = () => descendantPids(process.pid, ...containerRoots);
      const cpuMeter = startCpuMeter(core?.child.pid, ownPids);
      const onScheduleStart = () => {
        startFaults();
        if (viral && phase === viralPhase) viral.start();
        if (cold && core && redis && videoRecords && scenario.phases[cold.uploadsPhase] === phase)
          cold.startUploads({
            coreUrl,
            adminToken: core.adminToken,
            redisUrl: redis.url,
            videoRecords,
            log,
          });
      };
      const makeRequest = (i: number): RequestSpec => {
        const u = requestUsers ? requestUsers.next() : cold!.userFor(rnd, phaseIndex.get(phase.name)!);
        userOf.set(i, u);
        return {
          method: 'POST',
          path: '/v1/recommendations',
          headers: JSON_HEADERS,
          body: recommendationBody(u, REGIONS[world.userRegion(u)], PAGE_COUNT),
        };
      };
      // The runner's hot path during the phase (issue 10): a scan instead of JSON.parse (a probe
      // that wants the parsed body still gets it), the list recorded for scoring after the phase
      // (quality.flush below), the simulated user's reaction.
      const onResponse = (r: ResponseInfo): void => {
        const u = userOf.get(r.i);
        userOf.delete(r.i);
        if (r.status !== 200) return;
        responses200++;
        const body = typeof r.body === 'string' ? r.body : r.body.toString('utf8');
        if (opts.probe?.served) opts.probe.served(phase.name, parseServed(body));
        const scan = scanServed(body, world.info.videos, listScratch);
        // Degraded responses only (rare when healthy): their reasons need the parsed meta.
        if (scan.hasReasons) countReasons(reasons, phase.name, { meta: { reasons: reasonsOf(body) } });
        if (scan.videos + scan.unknownIds < PAGE_COUNT)
          shortLists.set(phase.name, (shortLists.get(phase.name) ?? 0) + 1);
        if (scan.rung !== 'full' && !scan.hasReasons)
          unexplained.set(phase.name, (unexplained.get(phase.name) ?? 0) + 1);
        if (u === undefined) return;
        if (!scan.hasItems) {
          quality.record(phase.name, u, undefined); // not a recommendation body: unreadable
          return;
        }
        const videos = listScratch.subarray(0, scan.videos);
        cold?.observe(phase.name, videos, scan.videos, body);
        quality.recordVideos(phase.name, u, scan.rung, listScratch, scan.videos, scan.unknownIds);
        activity?.reactVideos(u, videos);
        viral?.observe(world.userRegion(u), videos);
      };
      // What every driver is given for this phase.
      const drive = {
        url: coreUrl,
        arrivals: phase.arrivals,
        durationS: phase.durationS,
        phase: phase.name,
        onScheduleStart,
        makeRequest,
        onResponse,
      };
      const arrivalStream = () => random.stream(`arrivals.${phase.name}`);
      const result: RunPhase = instances
        ? await instancesPhase(instances, scenario.phases.indexOf(phase), onScheduleStart, timers)
        : opts.driver === 'paired'
          ? await runPairedPhase({ ...drive, random: arrivalStream(), workDir: join(outDir, 'vegeta') }).then(
              ({ merged, halves }) => ({ ...merged, drivers: halves }),
            )
          : opts.driver === 'vegeta'
            ? await runVegetaPhase({ ...drive, workDir: join(outDir, 'vegeta') })
            : await runOpenModel({ ...drive, random: arrivalStream(), onProgress: opts.onProgress });
      if (instances) responses200 += result.statusCounts['2xx'] + result.warmup.statusCounts['2xx'];
      const phaseCpu = cpuMeter.stop(result.completed + result.warmup.completed);
      const scored = startCpuMeter(undefined);
      const lists = quality.flush();
      const scoring = scored.stop(lists);
      result.cpu = { ...phaseCpu, scoringAfterPhaseMs: scoring.runnerMs };
      // A fault window ends inside its phase (toS ≤ durationS): a timer still pending (the driver
      // returned a moment before a window ending with the phase) fires now. The revert itself may
      // still be running (a restart), and goes on while the next phase runs.
      timers.flush();
      if (viral && phase === viralPhase) viral.stop();
      await opts.probe?.phaseEnd?.(phase.name, coreUrl);
      result.shortLists = shortLists.get(phase.name) ?? 0;
      result.unexplainedDegraded = unexplained.get(phase.name) ?? 0;
      phases.push(result);
      log(phaseLine(result, phase.warmup === true, describeArrivals(phase.arrivals)));
      if (result.drivers) log(driversLine(phase.name, result.drivers));
      if (result.unsolicitedResponses)
        warn(
          `phase ${phase.name}: the service sent ${result.unsolicitedResponses} response(s) on connections with no ` +
            'request outstanding (e.g. a 408 as it timed a connection out); counted, attributed to no request',
        );
    }
    await Promise.all(faultsDone);
    await cold?.stopUploads();
    const coldOutcome = cold?.outcome();
    if (coldOutcome?.uploads) {
      const u = coldOutcome.uploads;
      log(
        `cold start: ${u.indexed}/${u.videos} uploads indexed, ${u.served} served, ${u.leakedItems} leaked items; ` +
          `time to a served list p50 ${u.timeToListS.p50 ?? 'never'} s, p90 ${u.timeToListS.p90 ?? 'never'} s; ` +
          Object.entries(u.byPhase)
            .map(([p, c]) => `${p}: fresh share ${c.freshContentShare}, exploration ${c.explorationShare}`)
            .join('; '),
      );
    }
    await instances?.close();

    // 6. Let the core deliver what it holds, read its own count, stop it gracefully (the stop
    //    flushes the rest), then read impressions and events back from their topics with a real
    //    consumer. A core that does not exit 0 fails the run (exit 4): it may have lost data.
    const viralOutcome = viral?.outcome();
    if (viralOutcome)
      log(
        `viral: ${viralOutcome.videoId} (${viralOutcome.region}) ${viralOutcome.eventsQueued} watch events; ` +
          `time to a served list ${viralOutcome.timeToListS === null ? 'never' : `${viralOutcome.timeToListS} s`}`,
      );
    const userEvents = await activity?.close();
    if (userEvents) {
      log(
        `user events: ${userEvents.sent} accepted, ${userEvents.failed} failed, ${userEvents.dropped} dropped, ` +
          `${userEvents.retried} batches retried (${userEvents.lists} lists)`,
      );
    }
    let coreExitCode: number | null | undefined;
    let impressions: RunSummary['impressions'];
    let events: RunSummary['events'];
    if (core && kafka) {
      const published = await awaitDelivered(core.url, 30_000);
      coreExitCode = await core.stop();
      log(`core stopped (exit ${coreExitCode})`);
      if (coreExitCode !== 0)
        log(`core exit code ${coreExitCode}: what it held may be lost; see ${outDir}/core.log`);
      const onTopic = await countImpressions(kafka.brokers, topic, { timeoutMs: 60_000 });
      impressions = {
        responses200,
        published,
        distinctOnTopic: onTopic.distinct,
        messagesOnTopic: onTopic.messages,
      };
      if (activity) {
        const read = await readTopicIds(kafka.brokers, eventsTopic, 'event_id', { timeoutMs: 60_000 });
        const accepted = activity.acceptedIds();
        let lost = 0;
        for (const id of accepted) if (!read.ids.has(id)) lost++;
        events = {
          accepted: accepted.size,
          distinctOnTopic: read.ids.size,
          messagesOnTopic: read.messages,
          lost,
        };
        log(
          `events: ${accepted.size} accepted, ${read.ids.size} distinct on the topic (${read.messages} messages), ${lost} lost`,
        );
      }
    } else {
      warn('--target: impressions and events are not read back (the target’s Kafka is out of reach)');
    }

    // 7. Assertions and reports.
    for (const p of phases) p.reasonCounts = reasons.get(p.phase) ?? {};
    const measurements: PhaseMeasurement[] = phases.map((p, i) => ({
      phase: p.phase,
      warmup: scenario.phases[i].warmup === true,
      offeredQps: p.offeredQps,
      achievedQps: p.achievedQps,
      latencyMs: p.latencyMs,
      histogramBase64: p.histogramBase64,
      statusCounts: { ...p.statusCounts, shed: p.shed },
      rungCounts: p.rungCounts,
      reasonCounts: p.reasonCounts,
      shortLists: p.shortLists,
      unexplainedDegraded: p.unexplainedDegraded,
      startedAtMs: Date.parse(p.startedAt),
      series: p.series,
    }));
    const runQuality = quality.summary();
    const assertions = scenario.assertions.map((a) =>
      evaluate(a, {
        phases: measurements,
        responses200,
        impressionsOnTopic: impressions?.distinctOnTopic,
        eventsLost: opts.target ? undefined : (events?.lost ?? 0),
        quality: runQuality.served,
        qualityCohorts: runQuality.cohorts,
        uploads: cold?.heldBack.length ? cold.measurements() : undefined,
        faults: faultRecords,
        viral: viralOutcome ? { timeToListS: viralOutcome.timeToListS } : undefined,
      }),
    );
    const code = runVerdict({
      impressionsLost: impressions ? responses200 - impressions.distinctOnTopic : 0,
      eventsLost: events?.lost ?? 0,
      coreExitCode: core ? (coreExitCode ?? null) : 0,
      budgetsOk: assertions.every((a) => a.passed),
    });
    const summary: RunSummary = {
      runId,
      outDir,
      exitCode: code,
      passed: code === EXIT.pass,
      phases,
      assertions,
      impressions,
      responses200,
      faults: faultRecords,
      warnings,
      target: opts.target,
      events,
      coreExitCode,
      cpuPinning: pinning,
      world: world.info,
      quality: runQuality,
      userEvents,
      viral: viralOutcome,
      coldStart: coldOutcome,
    };
    await writeReports(summary, { ...opts, scenario }, startedAt);
    return summary;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await cleanup();
  }
}

/**
 * One phase driven by the load processes: all start together (the coordinator's barrier), faults
 * are timed from that start, and the phase's figures are the processes' merged (histograms).
 */
/** `phase P drivers: vegeta p50 … p99 … (n); open-model …; open-model ÷ vegeta p50 … p99 …`. */
export function driversLine(phase: string, halves: readonly DriverHalf[]): string {
  const by = new Map(halves.map((h) => [h.driver, h]));
  const v = by.get('vegeta');
  const o = by.get('open-model');
  const parts = halves.map(
    (h) =>
      `${h.driver} p50 ${h.p50Ms} ms p99 ${h.p99Ms} ms (from its send ${h.fromSendP50Ms} / ${h.fromSendP99Ms} ms; ` +
      `${h.requests} requests, send lag p50 ${h.sendLagP50Ms} ms, late ${h.late})`,
  );
  const ratio = (x: number, y: number) => (y > 0 ? (x / y).toFixed(3) : 'n/a');
  if (v && o)
    parts.push(
      `open-model ÷ vegeta p50 ${ratio(o.p50Ms, v.p50Ms)} p99 ${ratio(o.p99Ms, v.p99Ms)} ` +
        `(from each one's send ${ratio(o.fromSendP50Ms, v.fromSendP50Ms)} / ${ratio(o.fromSendP99Ms, v.fromSendP99Ms)})`,
    );
  return `phase ${phase} drivers: ${parts.join('; ')}`;
}

async function instancesPhase(
  instances: LoadInstances,
  k: number,
  onScheduleStart: () => void,
  timers: PhaseTimers,
): Promise<RunPhase> {
  const atMs = await instances.startPhase(k);
  timers.at(atMs - Date.now(), onScheduleStart);
  return (await instances.phaseResult(k)).merged;
}

/**
 * Times one fault on its phase's schedule (called when the schedule starts): applied at `fromS`,
 * reverted at its window's end (after the apply has finished, whatever the clock says). Fills in
 * `rec`; resolves once the fault is over, never rejects (a failing injector marks it `failed`).
 */
function scheduleFault(
  f: Fault,
  rec: FaultRecord,
  phase: string,
  targets: LiveFaultTargets,
  timers: PhaseTimers,
  log: (line: string) => void,
): Promise<void> {
  const endS = rec.toS;
  return new Promise<void>((resolve) => {
    let revert: Revert | undefined;
    let applied: Promise<void> | undefined;
    const failed = (err: unknown) => {
      rec.status = 'failed';
      rec.message = (err as Error).message;
      log(`fault ${f.target} ${f.kind} (phase ${phase}) failed: ${rec.message}`);
    };
    timers.at(f.fromS * 1000, () => {
      rec.startedAt = new Date().toISOString();
      log(`fault: ${f.target} ${f.kind} (phase ${phase} +${f.fromS} s)`);
      applied = injectFault(f, targets, log).then(
        (r) => {
          revert = r;
          rec.appliedAt = new Date().toISOString();
          // An event (restart_empty) is over once applied.
          if (!r) rec.endedAt = rec.appliedAt;
        },
        (err) => failed(err),
      );
      if (endS === undefined) void applied.then(() => resolve());
    });
    if (endS === undefined) return;
    timers.at(endS * 1000, () => {
      void (async () => {
        await applied;
        if (revert) {
          log(`fault over: ${f.target} ${f.kind} (phase ${phase} +${endS} s)`);
          await revert().then(
            () => {
              rec.endedAt = new Date().toISOString();
            },
            (err) => failed(err),
          );
        }
        resolve();
      })();
    });
  });
}

/**
 * Counts the degradation reasons of one 200 response (`meta.reasons`: the stage that fell back and
 * its error code) under its phase, as `"<stage> <code>"`: which dependency made a rung, not only
 * which rung. Unreadable responses are skipped.
 */
function countReasons(
  into: Map<string, Record<string, number>>,
  phase: string,
  served: ServedResponse | undefined,
): void {
  const meta = served?.meta;
  if (!meta?.reasons?.length) return;
  let counts = into.get(phase);
  if (!counts) {
    counts = {};
    into.set(phase, counts);
  }
  // A response counts once per reason (the editorial rung names its stage twice, for instance).
  for (const key of new Set(meta.reasons.map((r) => `${String(r.stage)} ${String(r.code)}`))) {
    counts[key] = (counts[key] ?? 0) + 1;
  }
}

/**
 * Polls /readyz until the core holds no undelivered impression or event (`pending` 0 for both);
 * returns its published impression count.
 */
async function awaitDelivered(url: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let published = 0;
  for (;;) {
    const body = (await fetch(`${url}/readyz`)
      .then((r) => r.json())
      .catch(() => undefined)) as
      | { impressions?: { pending: number; published: number }; events?: { pending: number } | null }
      | undefined;
    published = body?.impressions?.published ?? published;
    const done = body?.impressions?.pending === 0 && (body.events?.pending ?? 0) === 0;
    if (done || Date.now() > deadline) return published;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function phaseLine(p: RunPhase, warmup: boolean, arrivals: string): string {
  const rungs = Object.entries(p.rungCounts)
    .map(([r, n]) => `${r}=${n}`)
    .join(' ');
  const s = p.statusCounts;
  return (
    `phase ${p.phase}${warmup ? ' (warm-up, excluded)' : ''}: ${arrivals}, offered ${p.offeredQps} QPS, achieved ${p.achievedQps.toFixed(1)} QPS; ` +
    `p50 ${p.latencyMs.p50.toFixed(1)} ms, p95 ${p.latencyMs.p95.toFixed(1)} ms, p99 ${p.latencyMs.p99.toFixed(1)} ms; ` +
    `2xx ${s['2xx']} 4xx ${s['4xx']} 5xx ${s['5xx']} (shed ${p.shed}) errors ${s.errors} timeouts ${s.timeouts}; late ${p.late} dropped ${p.dropped}; rungs ${rungs || '-'}` +
    (p.shortLists ? `; short lists ${p.shortLists}` : '') +
    (p.unexplainedDegraded ? `; degraded without a reason ${p.unexplainedDegraded}` : '') +
    (p.cpu
      ? `; CPU/request runner ${(p.cpu.runnerUsPerRequest / 1000).toFixed(3)} ms` +
        (p.cpu.coreUsPerRequest !== undefined
          ? `, core ${(p.cpu.coreUsPerRequest / 1000).toFixed(3)} ms`
          : '') +
        (machineStealShare(p.cpu) !== undefined
          ? `; machine steal ${(machineStealShare(p.cpu)! * 100).toFixed(1)}%`
          : '') +
        (foreignCpuShare(p.cpu) !== undefined
          ? `, foreign CPU ${(foreignCpuShare(p.cpu)! * 100).toFixed(1)}%`
          : '')
      : '')
  );
}

async function writeReports(summary: RunSummary, opts: RunOptions, startedAt: Date): Promise<void> {
  const { writeRunReports } = await import('../reports/write.ts');
  const { buildRunResult } = await import('../reports/from-run.ts');
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  const result = buildRunResult(summary, {
    scenario: opts.scenario,
    seed: opts.seed,
    startedAt,
    endedAt: new Date(),
    reclabVersion: pkg.version,
    machine: {
      cpus: cpus().length,
      memGiB: Math.round(totalmem() / 2 ** 30),
      os: `${osType()} ${osRelease()}`,
      ...(summary.cpuPinning ? { cpuPinning: summary.cpuPinning } : {}),
    },
    images: {
      redis: opts.env.RECLAB_REDIS_IMAGE ?? 'localhost/reclab-redis:7',
      kafka: opts.env.RECLAB_KAFKA_IMAGE ?? 'localhost/reclab-kafka:4',
    },
  });
  await writeRunReports(summary.outDir, result);
  await writeFile(join(summary.outDir, 'phases.json'), JSON.stringify(summary.phases, null, 2));
}
