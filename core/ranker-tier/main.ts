/**
 * The ranker tier's real wiring (`reclab ranker serve`; loadtest/ranker-process.ts starts it for
 * scenarios): config from RECLAB_RANKER_TIER_* variables, ONNX Runtime sessions loaded from the
 * model registry on demand, dynamic batching on the system clock; then listen. It stands in for a
 * GPU inference pool (seed 000 §2.5): its own process, so scenarios can kill or pause it.
 *
 * On start it prints one JSON line `{"event":"listening","url":…,"models":[…]}` on stdout (logs go
 * to stderr): with RECLAB_RANKER_TIER_PORT=0 that is how a parent learns the ephemeral port.
 * SIGTERM/SIGINT: refuse new requests, run every queued one, release the sessions, exit 0.
 * Exit codes: 0 clean stop, 1 crash (or drain longer than the shutdown timeout), 2 invalid config.
 */

import { systemClock } from '../adapters/clock/system-clock.ts';
import { CONFIG_VARIABLES } from '../config/config.ts';
import { ReclabError } from '../errors.ts';
import { loadRankerTierConfig, type RankerTierConfig } from './config.ts';
import { RankerTierMetrics } from './metrics.ts';
import { ModelSessions } from './model-sessions.ts';
import { buildRankerTierApp, type RankerTierLifecycle } from './server.ts';

async function main(): Promise<void> {
  let cfg: Readonly<RankerTierConfig>;
  try {
    // The core's own RECLAB_RANKER_TIER_* settings (its client side) may share the environment.
    cfg = loadRankerTierConfig(process.env, CONFIG_VARIABLES);
  } catch (err) {
    process.stderr.write(`reclab ranker tier: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const lifecycle: RankerTierLifecycle = { draining: false };
  let app: ReturnType<typeof buildRankerTierApp> | undefined;
  let metrics: RankerTierMetrics | undefined;
  const sessions = new ModelSessions({
    registryDir: cfg.registryDir,
    maxModels: cfg.maxModels,
    ortThreads: cfg.ortThreads,
    warmUpRounds: cfg.warmUpRounds,
    batching: cfg.batching,
    clock: systemClock,
    onBatch: (version, s) => metrics?.observeBatch(version, s),
    onEvent: (e) => {
      if (e.event === 'model_loaded') metrics?.modelLoads.inc({ result: 'ok' });
      if (e.event === 'model_load_failed') metrics?.modelLoads.inc({ result: 'failed' });
      if (e.event === 'model_load_failed') app?.log.error(e, 'model load failed');
      else app?.log.info(e, e.event);
    },
  });
  metrics = new RankerTierMetrics({
    queueRows: () => sessions.queuedRows(),
    modelsLoaded: () => sessions.versions().length,
  });
  app = buildRankerTierApp(sessions, metrics, lifecycle, {
    logLevel: cfg.logLevel,
    maxRequestRows: cfg.batching.maxQueueRows,
  });
  app.log.info({ batching: cfg.batching, maxModels: cfg.maxModels, ortThreads: cfg.ortThreads }, 'config');
  for (const version of cfg.preload.slice(0, cfg.maxModels)) await sessions.get(version);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping || !app) return;
    stopping = true;
    app.log.info({ signal }, 'draining');
    lifecycle.draining = true;
    const hardStop = setTimeout(() => process.exit(1), cfg.shutdownTimeoutMs);
    hardStop.unref();
    // Queued requests are dispatched at once (no delay) while the server waits for their replies.
    await Promise.all([app.close(), sessions.close()]);
    app.log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  const url = await app.listen({ host: cfg.host, port: cfg.port });
  process.stdout.write(`${JSON.stringify({ event: 'listening', url, models: sessions.versions() })}\n`);
}

main().catch((err) => {
  const code = err instanceof ReclabError ? err.code : 'RECLAB_ERR_INTERNAL';
  process.stderr.write(`reclab ranker tier: ${code}: ${(err as Error).stack ?? err}\n`);
  process.exit(code === 'RECLAB_ERR_CONFIG_INVALID' ? 2 : 1);
});
