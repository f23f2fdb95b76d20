/**
 * Drift (PSI) of an undrifted population (issue 16, docs/observability.md): what the core's
 * `reclab_drift_psi` reads when the lab serves the very world the models were trained on, users drawn
 * as `reclab run` draws them (uniform over the world's users, with their region as context). That is
 * the PSI's floor on this lab: the alert thresholds (0.1 warn, 0.25 act) mean something only above it.
 *
 *   npx tsx bench/drift-baseline.ts [--seed 7] [--users 5000] [--videos 3000] [--requests 22000]
 *                                   [--concurrency 8] [--cache-dir .reclab/cache]
 *                                   [--out bench/out/drift-baseline.json]
 *
 * Real parts: Redis and Kafka in containers (Testcontainers), the world's artifacts from
 * `prepareWorld` (trained when not cached), the core as its own process. The artifacts must carry
 * `manifest.trainingDistribution` (builds from issue 16 on): an older cached build exits 2 with a
 * message (point `--cache-dir` at an empty directory to build one). `--requests` must exceed the
 * core's window (20,000 values) so the per-request features have a PSI.
 *
 * Output: PSI and window fill per feature, the rungs served, machine and command.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { REGIONS } from '../core/features/schema.ts';
import { seededRandom } from '../core/random/seeded-random.ts';
import { startCore } from '../loadtest/core-process.ts';
import { configureContainerEngine } from '../loadtest/infra/container-engine.ts';
import { startKafka } from '../loadtest/infra/kafka.ts';
import { createTopic } from '../loadtest/infra/kafka-topics.ts';
import { startRedis } from '../loadtest/infra/redis.ts';
import { prepareWorld } from '../loadtest/prepare-world.ts';
import { generateWorld } from '../sim/world/index.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '7' },
    users: { type: 'string', default: '5000' },
    videos: { type: 'string', default: '3000' },
    requests: { type: 'string', default: '22000' },
    concurrency: { type: 'string', default: '8' },
    'cache-dir': { type: 'string', default: '.reclab/cache' },
    out: { type: 'string', default: 'bench/out/drift-baseline.json' },
  },
});
const seed = Number(values.seed);
const users = Number(values.users);
const videos = Number(values.videos);
const requests = Number(values.requests);
const concurrency = Number(values.concurrency);

configureContainerEngine(process.env);
const [redis, kafka] = await Promise.all([startRedis(), startKafka({ startupTimeoutMs: 90_000 })]);
let core: Awaited<ReturnType<typeof startCore>> | undefined;
try {
  const world = await prepareWorld({
    seed,
    users,
    videos,
    cacheDir: resolve(values['cache-dir']),
    redisUrl: redis.url,
    log: (l) => console.log(l),
  });
  const manifest = JSON.parse(readFileSync(join(world.artifactsDir, 'manifest.json'), 'utf8'));
  if (!manifest.trainingDistribution) {
    console.error(
      `${world.artifactsDir}: no manifest.trainingDistribution (built before issue 16); use --cache-dir`,
    );
    process.exitCode = 2;
  } else {
    const id = randomUUID().slice(0, 8);
    await createTopic(kafka.brokers, `impressions.${id}`);
    await createTopic(kafka.brokers, `events.${id}`);
    const tmp = mkdtempSync(join(os.tmpdir(), 'reclab-drift-'));
    core = await startCore(
      {
        RECLAB_REDIS_URL: redis.url,
        RECLAB_KAFKA_BROKERS: kafka.brokers.join(','),
        RECLAB_ARTIFACTS_DIR: world.artifactsDir,
        RECLAB_IMPRESSION_TOPIC: `impressions.${id}`,
        RECLAB_EVENTS_TOPIC: `events.${id}`,
      },
      join(tmp, 'core.log'),
    );
    // Users as `reclab run` draws them (loadtest/run.ts): uniform, with their region as context.
    const regionOf = generateWorld({ seed, users, videos }).userRegion;
    const rnd = seededRandom(seed).stream('bench.drift-baseline');
    const rungs: Record<string, number> = {};
    let next = 0;
    const t0 = performance.now();
    const worker = async () => {
      while (next < requests) {
        next++;
        const u = rnd.int(users);
        const res = await fetch(`${core!.url}/v1/recommendations`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ user_id: `u_${u}`, count: 30, context: { region: REGIONS[regionOf[u]] } }),
        });
        const body = (await res.json()) as { meta?: { rung: string } };
        const rung = res.status === 200 ? (body.meta?.rung ?? '?') : String(res.status);
        rungs[rung] = (rungs[rung] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const seconds = (performance.now() - t0) / 1000;
    const text = await (await fetch(`${core.url}/metrics`)).text();
    const read = (name: string) =>
      Object.fromEntries(
        [
          ...text.matchAll(new RegExp(`^${name}\\{feature="([^"]+)",model_version="[^"]+"\\} (\\S+)$`, 'gm')),
        ].map((m) => [m[1], Number(m[2])]),
      );
    const psi = read('reclab_drift_psi');
    const samples = read('reclab_drift_window_samples');
    const result = {
      bench: 'drift-baseline',
      command: `npx tsx bench/drift-baseline.ts ${process.argv.slice(2).join(' ')}`.trim(),
      seed,
      world: { users, videos },
      modelVersion: manifest.modelVersion,
      reference: manifest.trainingDistribution.source,
      requests,
      concurrency,
      seconds: Number(seconds.toFixed(1)),
      rungs,
      psi,
      windowSamples: samples,
      machine: { cpus: os.cpus().length, loadavg: os.loadavg(), node: process.version },
      at: new Date().toISOString(),
    };
    console.table(Object.keys(samples).map((f) => ({ feature: f, psi: psi[f], samples: samples[f] })));
    console.log('rungs', rungs, `${requests} requests in ${seconds.toFixed(1)} s`);
    mkdirSync(dirname(values.out), { recursive: true });
    writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
  }
} finally {
  await core?.stop(5000).catch(() => {});
  await Promise.all([kafka.stop(), redis.stop()]);
}
