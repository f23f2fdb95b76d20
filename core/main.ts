/**
 * The serving core's real wiring: config from the environment, Redis, Kafka, ONNX Runtime, FAISS;
 * then listen. `reclab serve` and the lab's live runner start this file as its own process.
 *
 * On start it prints one JSON line `{"event":"listening","url":…}` on stdout (logs go to stderr):
 * with RECLAB_PORT=0 that is how a parent learns the ephemeral port.
 * SIGTERM/SIGINT: stop accepting, finish requests in flight, flush impressions, exit 0.
 * Exit codes: 0 clean stop, 1 crash, 2 invalid configuration.
 */

import { systemClock } from './adapters/clock/system-clock.ts';
import { KafkaImpressionLog } from './adapters/kafka/kafka-impression-log.ts';
import { connectRedis, RedisFeatureStore } from './adapters/redis/redis-feature-store.ts';
import { buildApp, type Lifecycle } from './app.ts';
import { loadArtifacts } from './artifacts.ts';
import { type CoreConfig, loadConfig } from './config/config.ts';
import { ReclabError } from './errors.ts';
import { NUM_REGIONS, RANKER_INPUT_DIM, USER_FEATURE_DIM } from './features/schema.ts';
import { PopularityCache } from './pipeline/popularity-cache.ts';
import { Breakers, type PipelineConfig } from './pipeline/recommend.ts';
import { PopularitySource } from './retrieval/popularity-source.ts';
import { TwoTowerSource } from './retrieval/two-tower-source.ts';

function pipelineConfig(cfg: CoreConfig): PipelineConfig {
  return {
    deadlines: cfg.deadlines,
    retrievalK: cfg.retrievalK,
    retrievalKDefault: 100,
    candidatesMax: cfg.candidatesMax,
    mmrLambda: cfg.mmrLambda,
    breaker: cfg.breaker,
    experiment: cfg.experiment,
  };
}

/**
 * Runs dummy inferences and searches before the core reports ready (seed 000 §7: "Warm up: run
 * dummy inferences to fill caches"): the first ONNX Runtime run and the first FAISS searches are
 * many times slower than later ones, and would otherwise land on the first users' requests.
 * @returns wall time of the first and of the last round (ms), for the log
 */
async function warmUp(
  a: Awaited<ReturnType<typeof loadArtifacts>>,
): Promise<{ firstMs: number; lastMs: number }> {
  const rows = 300;
  const features = new Float32Array(rows * RANKER_INPUT_DIM);
  const user = new Float32Array(USER_FEATURE_DIM);
  let firstMs = 0;
  let lastMs = 0;
  for (let round = 0; round < 20; round++) {
    const t0 = performance.now();
    const emb = await a.userEncoder.encode(user);
    a.index.search(emb, 200);
    await a.ranker.score(features, rows);
    lastMs = performance.now() - t0;
    if (round === 0) firstMs = lastMs;
  }
  return { firstMs: Math.round(firstMs * 100) / 100, lastMs: Math.round(lastMs * 100) / 100 };
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

async function main(): Promise<void> {
  let cfg: Readonly<CoreConfig>;
  try {
    cfg = loadConfig(process.env);
  } catch (err) {
    process.stderr.write(`reclab core: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const clock = systemClock;
  const artifacts = await loadArtifacts(cfg.artifactsDir, { ann: cfg.ann, ortThreads: cfg.ortThreads });
  const redis = connectRedis(cfg.redis.url, cfg.redis.commandTimeoutMs);
  redis.on('error', () => {}); // connection errors surface per command; breakers decide what to do
  const features = new RedisFeatureStore(redis);
  const impressions = new KafkaImpressionLog(
    { brokers: cfg.kafka.brokers, topic: cfg.kafka.impressionTopic, bufferMax: cfg.kafka.bufferMax },
    clock,
  );
  impressions.start();
  const popularity = new PopularityCache(features, clock, {
    refreshMs: cfg.popularityRefreshMs,
    globalSize: 200,
    regionSize: 50,
    regions: NUM_REGIONS,
  });
  const sources = [new TwoTowerSource(artifacts.index), new PopularitySource(features)];
  const pcfg = pipelineConfig(cfg);
  const breakers = new Breakers(
    clock,
    sources.map((s) => s.name),
    pcfg.breaker,
  );
  const lifecycle: Lifecycle = { ready: false, draining: false };
  const deps = {
    clock,
    features,
    sources,
    userEncoder: artifacts.userEncoder,
    ranker: artifacts.ranker,
    items: artifacts.items,
    popularity,
    editorial: artifacts.editorial,
    impressions,
  };
  const app = buildApp(deps, pcfg, breakers, lifecycle, { logLevel: cfg.logLevel });
  const warm = await warmUp(artifacts);
  app.log.info(warm, 'warmed up');
  // The popularity cache is the fallback for a Redis outage: fill it before taking traffic. A core
  // whose Redis is down at start still starts (and serves the editorial list) after the wait.
  await waitForRedis(redis, cfg.redis.startupWaitMs);
  await popularity.start();

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'draining');
    lifecycle.draining = true;
    const hardStop = setTimeout(() => process.exit(1), cfg.shutdownTimeoutMs + 2000);
    hardStop.unref();
    await app.close(); // stops accepting; waits for requests in flight
    popularity.stop();
    await impressions.close(cfg.shutdownTimeoutMs);
    app.log.info({ impressions: impressions.stats() }, 'stopped');
    redis.disconnect();
    await Promise.all([artifacts.ranker.release(), artifacts.userEncoder.release()]);
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  const url = await app.listen({ host: cfg.host, port: cfg.port });
  lifecycle.ready = true;
  process.stdout.write(
    `${JSON.stringify({ event: 'listening', url, modelVersion: artifacts.modelVersion })}\n`,
  );
}

main().catch((err) => {
  const code = err instanceof ReclabError ? err.code : 'RECLAB_ERR_INTERNAL';
  process.stderr.write(`reclab core: ${code}: ${(err as Error).stack ?? err}\n`);
  process.exit(code === 'RECLAB_ERR_CONFIG_INVALID' ? 2 : 1);
});
