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
import { type AssertionOutcome, evaluate, type PhaseMeasurement } from '../scenarios/assertions.ts';
import type { FaultStep, ScenarioDefinition } from '../scenarios/define.ts';
import { progressFactory, progressMode } from '../sim/progress.ts';
import { publishVersion } from '../sim/registry/publish.ts';
import { startCore } from './core-process.ts';
import { type PhaseResult, runOpenModel } from './drivers/autocannon/open-model.ts';
import { applyContainerFault } from './faults/container-faults.ts';
import { restartRedisEmpty } from './faults/redis-data-loss.ts';
import { configureContainerEngine } from './infra/container-engine.ts';
import { externalKafka, type StartedKafka, startKafka } from './infra/kafka.ts';
import { createTopic } from './infra/kafka-topics.ts';
import { externalRedis, type StartedRedis, startRedis } from './infra/redis.ts';
import { labAdminToken } from './lab-env.ts';
import { type PreparedWorld, prepareWorld } from './prepare-world.ts';
import { QualityRecorder, type RunQuality } from './quality-recorder.ts';
import { type RankerProcess, startRankerTier } from './ranker-process.ts';
import { EXIT, runVerdict } from './run-verdict.ts';
import { parseServed, type ServedResponse } from './served-response.ts';
import { countImpressions, readTopicIds } from './topic-counter.ts';
import { SimulatedUserActivity, type UserActivityStats } from './user-activity.ts';

export { EXIT } from './run-verdict.ts';

export interface RunOptions {
  scenario: ScenarioDefinition;
  seed: number;
  /** `testcontainers` provisions Redis and Kafka; `external` takes REDIS_URL / KAFKA_BROKERS. */
  infra: 'testcontainers' | 'external';
  env: Record<string, string | undefined>;
  outRoot: string;
  cacheDir: string;
  /** Overrides: scale every phase's rate / duration, world size. */
  rateQps?: number;
  durationS?: number;
  users?: number;
  videos?: number;
  log: (line: string) => void;
  /** Observers of the run for tools built on it (`reclab calibrate`); none by default. */
  probe?: RunProbe;
}

/**
 * Hooks into a live run. `phaseStart`/`phaseEnd` are awaited around each phase's load (e.g. to
 * scrape the core's /metrics); `served` sees every 200 response of a phase, parsed. They run on
 * the runner's event loop: keep `served` cheap.
 */
export interface RunProbe {
  phaseStart?(phase: string, coreUrl: string): Promise<void>;
  phaseEnd?(phase: string, coreUrl: string): Promise<void>;
  served?(phase: string, served: ServedResponse | undefined): void;
}

export interface RunSummary {
  runId: string;
  outDir: string;
  exitCode: number;
  passed: boolean;
  phases: PhaseResult[];
  assertions: AssertionOutcome[];
  impressions: { responses200: number; published: number; distinctOnTopic: number; messagesOnTopic: number };
  /**
   * Events the simulated users had accepted (202) vs what a real consumer read on the events topic:
   * `lost` = accepted ids missing from the topic. Undefined when the scenario has no user events.
   */
  events?: { accepted: number; distinctOnTopic: number; messagesOnTopic: number; lost: number };
  /** The core's exit code after the graceful stop (null: killed by a signal). */
  coreExitCode: number | null;
  world: PreparedWorld['info'];
  /** Ground-truth quality of the served lists, by phase and rung, with reference lists. */
  quality: RunQuality;
  /** What the simulated users sent to POST /v1/events; undefined when the scenario turns them off. */
  userEvents?: UserActivityStats;
}

/** Items each simulated request asks for (`count`); fewer in a 200 response is a short list. */
const PAGE_COUNT = 30;

function runIdOf(scenario: string, seed: number): string {
  const ts = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  return `${scenario}-${ts}-s${seed}`;
}

/** The processes and containers a fault can act on; `tier.current` changes when it is restarted. */
interface FaultTargets {
  redis: StartedRedis;
  kafka: StartedKafka;
  tier?: { current: RankerProcess };
}

async function applyFault(f: FaultStep, t: FaultTargets, log: (line: string) => void): Promise<void> {
  if (f.action === 'restart_empty') {
    if (f.target !== 'redis') throw new Error(`fault restart_empty: only redis, not ${f.target}`);
    const r = await restartRedisEmpty(t.redis);
    log(
      `fault: redis ${r.killed ? 'flushed, SIGKILLed' : 'was stopped'} and started empty in ${r.ms} ms ` +
        `(${r.keysAfterStart} keys after start${r.flushedAfterStart ? ', flushed' : ''})`,
    );
    return;
  }
  if (f.target === 'ranker_tier') {
    if (!t.tier) throw new Error('fault on ranker_tier: the scenario runs no ranker tier (rankerTier: true)');
    const p = t.tier.current;
    if (f.action === 'stop') await p.kill();
    else if (f.action === 'start') t.tier.current = await p.restart();
    else if (f.action === 'pause') p.pause();
    else p.resume();
    return;
  }
  const { redis, kafka } = t;
  const target = f.target === 'redis' ? redis.container : kafka.container;
  if (!target) throw new Error(`fault ${f.action} ${f.target}: no container in external mode`);
  await applyContainerFault(target, f.action);
}

/** Runs one scenario end to end. Never throws for a failed budget: that is `exitCode` 3. */
export async function runScenario(opts: RunOptions): Promise<RunSummary> {
  const { scenario, seed, log } = opts;
  const runId = runIdOf(scenario.name, seed);
  const outDir = join(opts.outRoot, runId);
  await mkdir(outDir, { recursive: true });
  const startedAt = new Date();
  log(`reclab run ${scenario.name}: seed=${seed} run=${runId}`);

  const cleanups: (() => Promise<unknown>)[] = [];
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
    // 1. Infrastructure.
    let redis: StartedRedis;
    let kafka: StartedKafka;
    if (opts.infra === 'external') {
      if (!opts.env.REDIS_URL || !opts.env.KAFKA_BROKERS)
        throw new Error('external infra needs REDIS_URL and KAFKA_BROKERS');
      redis = externalRedis(opts.env.REDIS_URL);
      kafka = externalKafka(opts.env.KAFKA_BROKERS.split(','));
    } else {
      configureContainerEngine(process.env);
      const t0 = Date.now();
      redis = await startRedis({ image: opts.env.RECLAB_REDIS_IMAGE });
      cleanups.push(() => redis.stop());
      kafka = await startKafka({ image: opts.env.RECLAB_KAFKA_IMAGE });
      cleanups.push(() => kafka.stop());
      log(
        `infra: redis ${redis.url}, kafka ${kafka.brokers.join(',')} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      );
    }

    // 2. World, models, index (cached), then Redis.
    const world = await prepareWorld({
      seed,
      users: opts.users ?? scenario.world.users,
      videos: opts.videos ?? scenario.world.videos,
      cacheDir: opts.cacheDir,
      redisUrl: redis.url,
      log,
      progress: progressFactory({ mode: progressMode(process.stderr, opts.env), env: opts.env }),
    });

    // 3. Impression topic: one per run, so counting is exact even on a shared Kafka.
    const topic = `impressions.${runId}`;
    await createTopic(kafka.brokers, topic);
    // The events topic of the simulated users (POST /v1/events → Kafka → the streaming consumer).
    const eventsTopic = `events.${runId}`;
    await createTopic(kafka.brokers, eventsTopic);

    // 4. The ranker tier (when the scenario has one) and the core, each as its own process. With a
    //    tier both serve the same registry version, published from the world's artifacts.
    let modelEnv: Record<string, string> = { RECLAB_ARTIFACTS_DIR: world.artifactsDir };
    let tier: { current: RankerProcess } | undefined;
    if (scenario.rankerTier) {
      const registryDir = join(outDir, 'registry');
      const { card } = await publishVersion({
        registryDir,
        sourceDir: world.artifactsDir,
        codeVersion: { package: 'reclab', gitCommit: 'run' },
      });
      const current = await startRankerTier(
        { RECLAB_RANKER_TIER_REGISTRY_DIR: registryDir, RECLAB_RANKER_TIER_PRELOAD: card.modelVersion },
        join(outDir, 'ranker-tier.log'),
      );
      tier = { current };
      cleanups.push(() => tier!.current.stop());
      modelEnv = {
        RECLAB_MODEL_REGISTRY_DIR: registryDir,
        RECLAB_MODEL_VERSION: card.modelVersion,
        RECLAB_RANKER_TIER_URL: current.url,
      };
      log(`ranker tier: ${current.url} model ${card.modelVersion}`);
    }
    const core = await startCore(
      {
        RECLAB_REDIS_URL: redis.url,
        RECLAB_KAFKA_BROKERS: kafka.brokers.join(','),
        RECLAB_IMPRESSION_TOPIC: topic,
        ...modelEnv,
        RECLAB_IMPRESSION_SPOOL_DIR: join(outDir, 'impression-spool'),
        RECLAB_EVENTS_TOPIC: eventsTopic,
        RECLAB_EVENT_SPOOL_DIR: join(outDir, 'event-spool'),
        RECLAB_LOG_LEVEL: 'info',
        RECLAB_ADMIN_TOKEN: labAdminToken(seed),
        ...scenario.coreEnv,
      },
      join(outDir, 'core.log'),
    );
    const stopCore = () => core.stop();
    cleanups.push(stopCore);
    log(`core: ${core.url} model ${core.modelVersion}`);

    // 5. Phases, open model. Request mix: known users (uniform), region context from the user.
    const rnd = seededRandom(seed).stream('loadtest.requests');
    const quality = new QualityRecorder(world.world, world.editorial, seed);
    const reasons = new Map<string, Record<string, number>>(); // phase → "stage code" → responses
    const shortLists = new Map<string, number>(); // phase → 200 responses with fewer than PAGE_COUNT items
    // The simulated users act on what they are served: clicks, watches and likes go to the core's
    // events route, so streaming features (watched filter, trending, recent watches) follow them.
    const activity =
      scenario.userEvents === false ? undefined : new SimulatedUserActivity(world.world, seed, core.url);
    cleanups.push(async () => activity?.close(0));
    const phases: PhaseResult[] = [];
    let responses200 = 0;
    for (const phase of scenario.phases) {
      const rateQps = phase.warmup ? phase.rateQps : (opts.rateQps ?? phase.rateQps);
      const durationS = phase.warmup ? phase.durationS : (opts.durationS ?? phase.durationS);
      const timers = (phase.faults ?? []).map((f) =>
        setTimeout(() => {
          log(`fault: ${f.action} ${f.target} (phase ${phase.name} +${f.atS} s)`);
          applyFault(f, { redis, kafka, tier }, log).catch((err) =>
            log(`fault failed: ${(err as Error).message}`),
          );
        }, f.atS * 1000),
      );
      const userOf = new Map<number, number>(); // request slot → user index, until its response
      await opts.probe?.phaseStart?.(phase.name, core.url);
      const result = await runOpenModel({
        url: core.url,
        rateQps,
        durationS,
        phase: phase.name,
        makeRequest: (i) => {
          const u = rnd.int(world.info.users);
          userOf.set(i, u);
          return {
            method: 'POST',
            path: '/v1/recommendations',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              user_id: `u_${u}`,
              count: PAGE_COUNT,
              context: { region: REGIONS[world.userRegion(u)] },
            }),
          };
        },
        onResponse: (r) => {
          const u = userOf.get(r.i);
          userOf.delete(r.i);
          if (r.status !== 200) return;
          responses200++;
          const served = parseServed(r.body);
          opts.probe?.served?.(phase.name, served);
          countReasons(reasons, phase.name, served);
          if ((served?.items?.length ?? 0) < PAGE_COUNT)
            shortLists.set(phase.name, (shortLists.get(phase.name) ?? 0) + 1);
          if (u !== undefined) {
            quality.record(phase.name, u, served);
            activity?.react(u, served);
          }
        },
      });
      timers.forEach(clearTimeout);
      await opts.probe?.phaseEnd?.(phase.name, core.url);
      result.shortLists = shortLists.get(phase.name) ?? 0;
      phases.push(result);
      log(phaseLine(result, phase.warmup === true));
    }

    // 6. Let the core deliver what it holds, read its own count, stop it gracefully (the stop
    //    flushes the rest), then read impressions and events back from their topics with a real
    //    consumer. A core that does not exit 0 fails the run (exit 4): it may have lost data.
    const userEvents = await activity?.close();
    if (userEvents) {
      log(
        `user events: ${userEvents.sent} accepted, ${userEvents.failed} failed, ${userEvents.dropped} dropped, ` +
          `${userEvents.retried} batches retried (${userEvents.lists} lists)`,
      );
    }
    const published = await awaitDelivered(core.url, 30_000);
    const coreExitCode = await core.stop();
    cleanups.splice(cleanups.indexOf(stopCore), 1);
    log(`core stopped (exit ${coreExitCode})`);
    if (coreExitCode !== 0)
      log(`core exit code ${coreExitCode}: what it held may be lost; see ${outDir}/core.log`);
    const onTopic = await countImpressions(kafka.brokers, topic, { timeoutMs: 60_000 });
    let events: RunSummary['events'];
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

    // 7. Assertions and reports.
    for (const p of phases) p.reasonCounts = reasons.get(p.phase) ?? {};
    const measurements: PhaseMeasurement[] = phases.map((p, i) => ({
      phase: p.phase,
      warmup: scenario.phases[i].warmup === true,
      offeredQps: p.offeredQps,
      achievedQps: p.achievedQps,
      latencyMs: p.latencyMs,
      statusCounts: p.statusCounts,
      rungCounts: p.rungCounts,
      reasonCounts: p.reasonCounts,
      shortLists: p.shortLists,
    }));
    const assertions = scenario.assertions.map((a) =>
      evaluate(a, {
        phases: measurements,
        responses200,
        impressionsOnTopic: onTopic.distinct,
        eventsLost: events?.lost ?? 0,
      }),
    );
    const code = runVerdict({
      impressionsLost: responses200 - onTopic.distinct,
      eventsLost: events?.lost ?? 0,
      coreExitCode,
      budgetsOk: assertions.every((a) => a.passed),
    });
    const summary: RunSummary = {
      runId,
      outDir,
      exitCode: code,
      passed: code === EXIT.pass,
      phases,
      assertions,
      impressions: {
        responses200,
        published,
        distinctOnTopic: onTopic.distinct,
        messagesOnTopic: onTopic.messages,
      },
      events,
      coreExitCode,
      world: world.info,
      quality: quality.summary(),
      userEvents,
    };
    await writeReports(summary, opts, startedAt);
    return summary;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await cleanup();
  }
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

function phaseLine(p: PhaseResult, warmup: boolean): string {
  const rungs = Object.entries(p.rungCounts)
    .map(([r, n]) => `${r}=${n}`)
    .join(' ');
  const s = p.statusCounts;
  return (
    `phase ${p.phase}${warmup ? ' (warm-up, excluded)' : ''}: offered ${p.offeredQps} QPS, achieved ${p.achievedQps.toFixed(1)} QPS; ` +
    `p50 ${p.latencyMs.p50.toFixed(1)} ms, p95 ${p.latencyMs.p95.toFixed(1)} ms, p99 ${p.latencyMs.p99.toFixed(1)} ms; ` +
    `2xx ${s['2xx']} 4xx ${s['4xx']} 5xx ${s['5xx']} errors ${s.errors} timeouts ${s.timeouts}; late ${p.late} dropped ${p.dropped}; rungs ${rungs || '-'}` +
    (p.shortLists ? `; short lists ${p.shortLists}` : '')
  );
}

async function writeReports(summary: RunSummary, opts: RunOptions, startedAt: Date): Promise<void> {
  const { writeSummaryJson } = await import('../reports/json.ts');
  const { writeJUnit } = await import('../reports/junit.ts');
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
    },
    images: {
      redis: opts.env.RECLAB_REDIS_IMAGE ?? 'localhost/reclab-redis:7',
      kafka: opts.env.RECLAB_KAFKA_IMAGE ?? 'localhost/reclab-kafka:4',
    },
  });
  await writeSummaryJson(summary.outDir, result);
  await writeJUnit(summary.outDir, result);
  await writeFile(join(summary.outDir, 'phases.json'), JSON.stringify(summary.phases, null, 2));
}
