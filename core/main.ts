/**
 * The serving core's real wiring: config from the environment, Redis, Kafka, ONNX Runtime, FAISS;
 * then listen. `reclab serve` and the lab's live runner start this file as its own process.
 *
 * On start it prints one JSON line `{"event":"listening","url":…}` on stdout (logs go to stderr):
 * with RECLAB_PORT=0 that is how a parent learns the ephemeral port.
 * SIGTERM/SIGINT: a graceful stop bounded by RECLAB_SHUTDOWN_TIMEOUT_MS (see `shutdown` below and
 * docs/deploy.md): drain requests, stop the consumer, flush impressions and events (to Kafka, else
 * to their disk spools), exit.
 * Exit codes (docs/exit-codes.md): 0 clean stop (nothing accepted was dropped), 1 crash or a stop
 * that overran its bound, 2 invalid configuration, 4 stopped but impressions or events were dropped.
 */

import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { systemClock } from './adapters/clock/system-clock.ts';
import { KafkaEventLog } from './adapters/kafka/kafka-event-log.ts';
import { KafkaImpressionLog } from './adapters/kafka/kafka-impression-log.ts';
import { RedisBlocklistSource } from './adapters/redis/policy-blocklist-source.ts';
import { RealtimeFeatures } from './adapters/redis/realtime-features.ts';
import { connectRedis, RedisFeatureStore } from './adapters/redis/redis-feature-store.ts';
import { RedisSubscriptions } from './adapters/redis/subscriptions.ts';
import { buildApp } from './app.ts';
import { type Artifacts, loadArtifacts, type OwnedRanker } from './artifacts.ts';
import { createCore } from './compose.ts';
import { type CoreConfig, loadConfig, settingsOf } from './config/config.ts';
import { ReclabError } from './errors.ts';
import { adminAccessOf } from './http/admin-access.ts';
import { CoreMetrics } from './observability/metrics.ts';
import type { RecentActivity } from './pipeline/recommend.ts';
import type { Clock } from './ports/clock.ts';
import { seededRandom } from './random/seeded-random.ts';
import { RemoteRanker } from './ranker-tier/remote-ranker.ts';
import { versionDir } from './registry/model-registry.ts';
import { warmUp } from './registry/warm-up.ts';
import { EventConsumer } from './streaming/event-consumer.ts';

/**
 * The first model set: a registry version, or one artifact directory (RECLAB_ARTIFACTS_DIR).
 * @throws ReclabError RECLAB_ERR_MODEL_VERSION_UNKNOWN, RECLAB_ERR_ARTIFACT_INVALID
 */
async function loadModelSet(
  cfg: CoreConfig,
  clock: Clock,
  version?: string,
  recentWatches?: RecentActivity,
): Promise<Artifacts> {
  const opts = {
    ann: cfg.ann,
    ortThreads: cfg.ortThreads,
    recentWatches,
    mainRanker: tierRanker(cfg, clock),
  };
  if (version === undefined && cfg.models.artifactsDir) return loadArtifacts(cfg.models.artifactsDir, opts);
  const registryDir = cfg.models.registryDir;
  if (!registryDir) throw new ReclabError('RECLAB_ERR_MODEL_REGISTRY_UNSET');
  const v = version ?? cfg.models.version!;
  return loadArtifacts(await versionDir(registryDir, v), { ...opts, modelVersion: v });
}

/** The ranker tier's client (one connection pool for every model version), when configured. */
let tierClient: RemoteRanker | undefined;

/**
 * With RECLAB_RANKER_TIER_URL the main ranker of every model set is the tier (seed 000 §2.5's GPU
 * pool, core/ranker-tier/), asked for that set's version; the light ranker stays in process.
 */
function tierRanker(cfg: CoreConfig, clock: Clock): ((version: string) => OwnedRanker) | undefined {
  const tier = cfg.rankerTier;
  if (!tier) return undefined;
  tierClient ??= new RemoteRanker({ url: tier.url, modelVersion: '', timeoutMs: tier.timeoutMs, clock });
  const client = tierClient;
  // Each version's ranker shares the client's connections; releasing it leaves them open.
  return (version) => client.withVersion(version);
}

/** Resolves when the connection is ready, or after `timeoutMs` (the core then starts degraded). */
function waitForRedis(redis: ReturnType<typeof connectRedis>, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Logs the request path's Redis connection going down (once per outage, with the last connection
 * error) and coming back: the breakers say that reads fail, this says whether the client is
 * connected at all, which an operator needs to tell a dead store from a slow one.
 */
function logRedisConnection(
  redis: Redis,
  log: { warn: (o: object, m: string) => void; info: (o: object, m: string) => void },
): void {
  let lastError = '';
  let down = false;
  redis.on('error', (err: Error) => {
    lastError = err.message;
  });
  redis.on('close', () => {
    if (down) return;
    down = true;
    log.warn({ lastError }, 'redis connection lost; reconnecting');
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    log.info({}, 'redis connection ready again');
  });
}

async function main(): Promise<void> {
  let cfg: Readonly<CoreConfig>;
  try {
    cfg = loadConfig(process.env);
  } catch (err) {
    process.stderr.write(`reclab core: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const clock = systemClock;
  const redis = connectRedis(cfg.redis.url, cfg.redis.commandTimeoutMs, {
    autoPipelining: cfg.redis.autoPipelining,
  });
  redis.on('error', () => {}); // connection errors surface per command; breakers decide what to do
  // Streaming features; each model set's content source reads the recent watches through it.
  const realtime = new RealtimeFeatures(redis, clock);
  const t0 = performance.now();
  const artifacts = await loadModelSet(cfg, clock, undefined, realtime);
  const loadMs = Math.round(performance.now() - t0);
  const impressions = new KafkaImpressionLog(
    {
      brokers: cfg.kafka.brokers,
      topic: cfg.kafka.impressionTopic,
      bufferMax: cfg.kafka.bufferMax,
      spoolDir: cfg.impressionSpool.dir,
      spoolMaxBytes: cfg.impressionSpool.maxBytes,
    },
    clock,
  );
  impressions.start();
  // Streaming features: events in through POST /v1/events, applied to Redis by a consumer group.
  // Events get the impressions' delivery path (memory bound, disk spool, replay); the route answers
  // 202 once they are on Kafka or in the spool. The consumer gets its own Redis connection that
  // queues and retries, unlike the request path's.
  const events = new KafkaEventLog(
    {
      brokers: cfg.kafka.brokers,
      topic: cfg.events.topic,
      bufferMax: cfg.events.bufferMax,
      spoolDir: cfg.events.spool.dir,
      spoolMaxBytes: cfg.events.spool.maxBytes,
    },
    clock,
  );
  events.start();
  const consumerRedis = cfg.events.consumer
    ? new Redis(cfg.redis.url, { maxRetriesPerRequest: 3 })
    : undefined;
  consumerRedis?.on('error', () => {});
  const consumer = consumerRedis
    ? new EventConsumer(
        // A new consumer group starts from the oldest retained event, not the newest: events sent
        // while the group was first joining are applied too (duplicates are removed by event_id).
        { brokers: cfg.kafka.brokers, topic: cfg.events.topic, fromBeginning: true },
        consumerRedis,
        clock,
      )
    : undefined;
  const metrics = new CoreMetrics();
  if (consumer) metrics.watch({ consumer: () => consumer.stats() });
  const subscriptions = new RedisSubscriptions(redis);
  // `app` is assigned before any model event can fire.
  let app: ReturnType<typeof buildApp> | undefined;
  // Process identity, drawn once at start (not on the request path): the impression-id stream's
  // name, so two cores with one RECLAB_RANDOM_SEED never serve the same ids.
  const settings = { ...settingsOf(cfg), instanceId: cfg.instanceId ?? randomUUID() };
  const core = await createCore<Artifacts>(
    {
      features: new RedisFeatureStore(redis),
      activity: realtime,
      trending: (r, n) => realtime.trending(r, n),
      subscriptions,
      blocklist: new RedisBlocklistSource(redis),
      impressions,
      events,
      uploads: subscriptions,
      metrics,
      onBreakerTransition: (t) => {
        const msg = `breaker ${t.breaker} ${t.from} → ${t.to} (${t.reason})`;
        if (t.to === 'open') app?.log.warn(t, msg);
        else app?.log.info(t, msg);
      },
      models: {
        initial: artifacts,
        load: (version) => loadModelSet(cfg, clock, version, realtime),
        warmUp: (set) => warmUp(set),
        onEvent: (e) => {
          if (e.event === 'model_load_failed') app?.log.error(e, 'model load failed');
          else
            app?.log.info(e, e.event === 'model_swap' ? `model swap ${e.swap.from} → ${e.swap.to}` : e.event);
        },
      },
    },
    settings,
    clock,
    seededRandom(cfg.randomSeed),
  );
  const { lifecycle } = core;
  app = buildApp(core, {
    logLevel: cfg.logLevel,
    admin: adminAccessOf(cfg),
    timeouts: cfg.http,
    registryDir: cfg.models.registryDir,
  });
  logRedisConnection(redis, app.log);
  const warm = await warmUp(artifacts);
  app.log.info({ ...warm, loadMs, modelVersion: artifacts.modelVersion }, 'warmed up');
  // The popularity cache is the fallback for a Redis outage: fill it before taking traffic. A core
  // whose Redis is down at start still starts (and serves the editorial list) after the wait.
  await waitForRedis(redis, cfg.redis.startupWaitMs);
  await core.start();
  // Kafka may still be starting: the consumer joins in the background and the core serves meanwhile
  // (events wait in memory, or the spool, until Kafka answers).
  void consumer?.start();

  /**
   * The graceful stop, every step bounded so the whole fits RECLAB_SHUTDOWN_TIMEOUT_MS (issue 9 item
   * 4): (1) drain, at most 40 % of the budget: stop accepting, close idle keep-alive connections at
   * once (Fastify `forceCloseConnections: 'idle'`), let requests in flight finish (their replies carry
   * `Connection: close`), then cut whatever connection is left; (2) at the same time stop the
   * consumer (commit, leave the group) and flush events and impressions for the rest of the budget
   * less 2 s: what Kafka has not acknowledged by then goes to the disk spools for the next process;
   * (3) release Redis, models and the ranker tier. Exits 0, or 4 when impressions or events were
   * dropped during the process's life (no spool, or no room in it). The timer below is only a
   * backstop: it fires on a bug, never on a slow dependency.
   */
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const t0 = Date.now();
    const budgetMs = cfg.shutdownTimeoutMs;
    const leftMs = () => Math.max(0, budgetMs - (Date.now() - t0));
    app.log.info({ signal, budgetMs }, 'draining');
    lifecycle.draining = true;
    const hardStop = setTimeout(() => {
      app.log.error({ budgetMs }, 'shutdown overran its bound');
      process.exit(1);
    }, budgetMs + 2000);
    hardStop.unref();
    const closing = app.close();
    if (!(await within(closing, budgetMs * 0.4))) {
      app.server.closeAllConnections();
      await within(closing, 1000);
    }
    const drainMs = Date.now() - t0;
    core.stop();
    const flushMs = Math.max(0, leftMs() - 2000);
    await Promise.all([
      within(consumer?.stop() ?? Promise.resolve(), flushMs),
      events.close(flushMs),
      impressions.close(flushMs),
    ]);
    consumerRedis?.disconnect();
    redis.disconnect();
    await within(Promise.all([core.close(), tierClient?.close()]), Math.max(100, leftMs()));
    const imp = impressions.stats();
    const ev = events.stats();
    const dropped = imp.dropped + ev.dropped;
    app.log.info({ impressions: imp, events: ev, drainMs, stopMs: Date.now() - t0, dropped }, 'stopped');
    process.exit(dropped > 0 ? 4 : 0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  const url = await app.listen({ host: cfg.host, port: cfg.port });
  core.markReady();
  process.stdout.write(
    `${JSON.stringify({ event: 'listening', url, modelVersion: core.models.active.modelVersion })}\n`,
  );
}

/** Resolves true when `work` settles within `ms`, false otherwise; never rejects. */
function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    work.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      () => {
        clearTimeout(timer);
        resolve(true);
      },
    );
  });
}

main().catch((err) => {
  const code = err instanceof ReclabError ? err.code : 'RECLAB_ERR_INTERNAL';
  process.stderr.write(`reclab core: ${code}: ${(err as Error).stack ?? err}\n`);
  process.exit(code === 'RECLAB_ERR_CONFIG_INVALID' ? 2 : 1);
});
