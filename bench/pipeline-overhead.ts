/**
 * CPU overhead of the serving pipeline (issue 5 acceptance): the CPU time per request of the full
 * `recommend()` (core/pipeline/recommend.ts), against the sum of its irreducible parts measured
 * alone on the same inputs — one ANN search per ANN source, the user-tower and ranker inferences
 * (the light ranker's too, when the pipeline calls it), and each Redis round trip. Overhead ratio =
 * pipeline ÷ sum of parts (target ≤ 1.5).
 *
 *   npx tsx bench/pipeline-overhead.ts [--requests 2000] [--warmup 300] [--l1 off,on] [--seed 7]
 *        [--users 20000 --videos 10000 | --artifacts .reclab/cache/world-…] [--skip-parts] [--settle-ms 2]
 *        [--watches 20] [--trending 200] [--redis-auto-pipelining off|on] [--out bench/out/pipeline-overhead.json]
 *
 * Set-up: Redis in a container (Testcontainers, loadtest/infra/redis.ts); the world of the CI
 * scenarios (seed 7, 20k users × 10k videos, as `reclab run baseline`) prepared by
 * loadtest/prepare-world.ts (models from .reclab/cache, trained when missing) and loaded into Redis;
 * or `--artifacts DIR`: an existing artifact directory, whose manifest's world is regenerated and
 * loaded (no training). Streaming features are seeded so that their reads return data: 20 recent
 * watches per user and 200-member trending sets (global and per region), drawn from the stream
 * `bench.streaming` (`--watches`, `--trending`; `--watches 0` is what most users of a short live run
 * look like: seen for the first time, so the content source has no profile and does no search).
 * The core is built in process by the composition root core/main.ts uses
 * (core/compose.ts `createCore`: Redis feature store, optionally behind the L1 cache; popularity, trending and subscriptions sources;
 * RealtimeFeatures for the already-watched filter; the artifacts' two-tower and content sources;
 * the main and light rankers, cascade as configured: off by default), with deadlines raised to 1 s so that a
 * busy machine does not push requests down the ladder (a deadline changes no CPU cost). Impressions
 * go to a log that serialises each one to JSON and drops it (the Kafka client's own CPU is not
 * counted). The popularity cache's refresh timer is not started (only the `popularity` rung reads it).
 *
 * Per request, from a seeded stream of users (`bench.users`, uniform over the world's users), one
 * at a time: `recommend()` is run and its CPU time taken with `process.cpuUsage()` (user + system,
 * whole process: ONNX Runtime and libuv threads included, Redis server excluded); thin pass-through
 * wrappers record the inputs of every irreducible call it made. Then each part is replayed alone on
 * those inputs and timed the same way:
 * - `redis.user`: `GET u:<id>` (raw ioredis, Buffer reply);
 * - `redis.recent_watches`: `LRANGE rt:rw:<id> 0 -1` (the already-watched filter's read);
 * - `redis.content_watches`: the same `LRANGE`, made by the content source for its profile;
 * - `redis.subscriptions`: the one round trip of subscription retrieval (`readFollowedUploads`:
 *   the followed creators and their uploads in one server-side script), raw reply not parsed;
 * - `redis.popularity`, `redis.trending`: each `ZREVRANGE … WITHSCORES` the sources made;
 * - `redis.candidates`: the `MGET` of the video keys that reached Redis (all candidates without L1,
 *   only the misses with it; nothing when every candidate hit), its keys built inside the window;
 * - `user_tower`: the user-tower inference on the same input (needed by every embedding search);
 * - `ann.two_tower`: `AnnIndex.search(query, k)` on the main FAISS index (the pipeline searches it
 *   through `MergedAnnSearcher`, which also asks the fresh index: that is overhead);
 * - `ann.content`: `AnnIndex.search(profile, k)` on the content index, same query and k;
 * - `ranker`: the ranker's one batched inference on the same input matrix and candidate count;
 * - `light_ranker`: the light ranker's inference, only when the pipeline called it (the cascade,
 *   `RECLAB_RANKING_CASCADE_TOP_N`, or a failed main ranker; with the defaults it is not called).
 * - `parts.tail`: a `--settle-ms` idle wait after the last part: the CPU the parts left running
 *   (V8's concurrent GC threads, late callbacks), which would otherwise land in the next request.
 * The pipeline's window likewise ends `--settle-ms` after `recommend()` resolves (its wall time does
 * not include the wait), so that its trailing GC work is not billed to the first part replayed after
 * it (without the settle, `redis.user` — replayed first — measured 130–390 µs against 40–90 µs for
 * the same kind of round trip later in the sequence). Idle waiting itself costs no CPU.
 * Pipeline and parts alternate request by request, so both see the same machine load. The first
 * `--warmup` requests are excluded. Decoding replies into records and numbers, merging, feature
 * assembly, the content profile (mean of watched embeddings), re-ranking (MMR), A/B hashing,
 * impression building and the resilience wrappers are what the ratio calls overhead.
 *
 * Output: `bench/out/pipeline-overhead.json` (per L1 mode: mean CPU µs/request of the pipeline and
 * of each part, the ratio, per-request CPU percentiles, wall-time percentiles, rungs, L1 hit rate),
 * with machine, load averages, seed and command. Exit 0 when every ratio ≤ 1.5, 3 otherwise, 1 crash.
 * To see where the overhead goes: `node --cpu-prof --cpu-prof-dir /tmp/prof --import tsx
 * bench/pipeline-overhead.ts --skip-parts --l1 off` and open the .cpuprofile.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { systemClock } from '../core/adapters/clock/system-clock.ts';
import { keys } from '../core/adapters/redis/keys.ts';
import { RealtimeFeatures } from '../core/adapters/redis/realtime-features.ts';
import { connectRedis, RedisFeatureStore } from '../core/adapters/redis/redis-feature-store.ts';
import { RedisSubscriptions, readFollowedUploads } from '../core/adapters/redis/subscriptions.ts';
import { type Artifacts, loadArtifacts } from '../core/artifacts.ts';
import { createCore } from '../core/compose.ts';
import { loadConfig, pipelineConfigOf, settingsOf } from '../core/config/config.ts';
import { videoIdOf } from '../core/features/ids.ts';
import { L1FeatureCache } from '../core/features/l1-feature-cache.ts';
import { NUM_REGIONS, VIDEO_RECORD, VIDEO_RECORD_LEN } from '../core/features/schema.ts';
import { latencyHistogramUs, summariseUs } from '../core/observability/latency-us.ts';
import { type PipelineConfig, recommend } from '../core/pipeline/recommend.ts';
import type { FeatureStore } from '../core/ports/feature-store.ts';
import type { Impression, ImpressionLog } from '../core/ports/impression-log.ts';
import type { Predictions, Ranker, UserEncoder } from '../core/ports/ranker.ts';
import { seededRandom } from '../core/random/seeded-random.ts';
import type { SwappableModelSet } from '../core/registry/model-slots.ts';
import { ContentSource } from '../core/retrieval/content-source.ts';
import { MergedAnnSearcher } from '../core/retrieval/fresh-index.ts';
import type { SubscriptionReader } from '../core/retrieval/subscriptions-source.ts';
import { TwoTowerSource } from '../core/retrieval/two-tower-source.ts';
import { configureContainerEngine } from '../loadtest/infra/container-engine.ts';
import { startRedis } from '../loadtest/infra/redis.ts';
import { prepareWorld } from '../loadtest/prepare-world.ts';
import { loadIntoRedis } from '../sim/loader/redis-loader.ts';
import { generateWorld, worldHash } from '../sim/world/index.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Issue 10's target for pipeline ÷ sum of parts (issue 5's was 1.5). */
const TARGET_RATIO = 1.2;
/** Page size asked per request (the API's default). */
const PAGE = 30;
/** Defaults of `--watches` and `--trending`: every source has data to work on. */
const WATCHES_PER_USER = 20;
const TRENDING_SET_SIZE = 200;

async function readF32(path: string): Promise<Float32Array> {
  const bytes = await readFile(path);
  const out = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** CPU µs (user + system) of the whole process since `from`. */
function cpuSinceUs(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return d.user + d.system;
}

/** The meter's own cost, µs of CPU (medians): subtracted from every window it bills. */
interface MeterCost {
  /** A `process.cpuUsage()` pair around an `await` of nothing: paid once per measured window. */
  emptyWindowUs: number;
  /** A window holding only the `--settle-ms` wait, nothing pending: the timer's own wake-up. */
  settleIdleUs: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor(s.length / 2)]!;
}

/**
 * Measures the meter's cost in this process (artifacts loaded, threads started): 2 000 empty
 * windows and 300 settle-only windows, medians (the mean would take in GC work that happens to land
 * in a window).
 */
async function calibrateMeter(settle: () => Promise<void>, settleMs: number): Promise<MeterCost> {
  const empty: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const c0 = process.cpuUsage();
    await Promise.resolve();
    empty.push(cpuSinceUs(c0));
  }
  const idle: number[] = [];
  for (let i = 0; settleMs > 0 && i < 300; i++) {
    const c0 = process.cpuUsage();
    await settle();
    idle.push(cpuSinceUs(c0));
  }
  const emptyWindowUs = median(empty);
  return { emptyWindowUs, settleIdleUs: Math.max(0, median(idle) - emptyWindowUs) };
}

/** What one pipeline request asked of its irreducible dependencies (filled by the wrappers). */
interface Trace {
  userReads: string[];
  videoReads: (readonly number[])[];
  popularityReads: { region: number | undefined; n: number }[];
  trendingReads: { region: number | undefined; n: number }[];
  watchReads: string[];
  contentWatchReads: string[];
  subscriptionReads: {
    userId: string;
    creatorsMax: number;
    perCreator: number;
    minTsS: number;
    maxTsS: number;
  }[];
  userTower: Float32Array[];
  ann: { source: string; query: Float32Array; k: number }[];
  ranker: { input: Float32Array; n: number }[];
  lightRanker: { input: Float32Array; n: number }[];
}

const newTrace = (): Trace => ({
  userReads: [],
  videoReads: [],
  popularityReads: [],
  trendingReads: [],
  watchReads: [],
  contentWatchReads: [],
  subscriptionReads: [],
  userTower: [],
  ann: [],
  ranker: [],
  lightRanker: [],
});

/** An impression log that pays JSON serialisation per impression and keeps nothing. */
class SerializingImpressionLog implements ImpressionLog {
  published = 0;
  bytes = 0;
  publish(impression: Impression): void {
    this.bytes += JSON.stringify(impression).length;
    this.published++;
  }
  stats() {
    return { pending: 0, published: this.published, dropped: 0 };
  }
  async close(): Promise<void> {}
}

/** Writes the streaming features the consumer would keep: recent watches and trending sets. */
async function seedStreamingFeatures(
  redis: Redis,
  users: number,
  videos: number,
  seed: number,
  watchesPerUser: number,
  trendingSetSize: number,
): Promise<void> {
  const rng = seededRandom(seed).stream('bench.streaming');
  for (let from = 0; from < users; from += 1000) {
    const p = redis.pipeline();
    for (let u = from; u < Math.min(users, from + 1000); u++) {
      const key = keys.recentWatches(`u_${u}`);
      p.del(key);
      if (watchesPerUser > 0)
        p.rpush(key, ...Array.from({ length: watchesPerUser }, () => videoIdOf(rng.int(videos))));
    }
    await p.exec();
  }
  const p = redis.pipeline();
  for (const key of [
    keys.trendingGlobal,
    ...Array.from({ length: NUM_REGIONS }, (_, r) => keys.trendingRegion(r)),
  ]) {
    p.del(key);
    const args: (string | number)[] = [];
    for (let i = 0; i < trendingSetSize; i++)
      args.push(Number((rng.next() * 50).toFixed(3)), videoIdOf(rng.int(videos)));
    if (args.length > 0) p.zadd(key, ...args);
  }
  await p.exec();
}

/** Loads an existing artifact directory's world into Redis (upload times anchored to now, as prepareWorld does). */
async function loadArtifactsWorld(
  dir: string,
  redis: Redis,
): Promise<{ users: number; videos: number; seed: number }> {
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
  const seed = Number(manifest.seed);
  const users = Number(manifest.world.users);
  const videos = Number(manifest.world.videos);
  const world = generateWorld({ seed, users, videos });
  const videoRecords = await readF32(join(dir, 'video_records.f32'));
  const userRecords = await readF32(join(dir, 'user_records.f32'));
  const shiftS = Math.round(Date.now() / 1000) - Number(manifest.world.nowS);
  for (let v = 0; v < videos; v++) videoRecords[v * VIDEO_RECORD_LEN + VIDEO_RECORD.uploadTsS] += shiftS;
  await loadIntoRedis(redis, world, { userRecords, videoRecords }, { worldHash: worldHash(world) });
  return { users, videos, seed };
}

interface ModeResult {
  l1: 'off' | 'on';
  requests: number;
  warmup: number;
  pipelineCpuUsPerRequest: number;
  partsCpuUsPerRequest: Record<string, number>;
  partsSumCpuUsPerRequest: number;
  overheadRatio: number | null;
  /** The ratio without the meter correction (each window's cpuUsage pair and settle wake-up billed). */
  overheadRatioUncorrected: number | null;
  /** Uncorrected mean CPU µs per request: pipeline, sum of parts. */
  uncorrected: { pipelineCpuUsPerRequest: number; partsSumCpuUsPerRequest: number };
  /** Ratio with the user tower counted as overhead (the issue's list names ANN, ranker, Redis only). */
  overheadRatioWithoutUserTower: number | null;
  pipelineCpuUs: ReturnType<typeof summariseUs>;
  pipelineWallUs: ReturnType<typeof summariseUs>;
  calls: Record<string, number>;
  rungs: Record<string, number>;
  candidatesMean: number;
  l1Cache?: { hitRate: number; hits: number; misses: number; size: number };
  loadAverage: number[];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      requests: { type: 'string', default: '2000' },
      warmup: { type: 'string', default: '300' },
      l1: { type: 'string', default: 'off,on' },
      seed: { type: 'string', default: '7' },
      users: { type: 'string', default: '20000' },
      videos: { type: 'string', default: '10000' },
      artifacts: { type: 'string' },
      'skip-parts': { type: 'boolean', default: false },
      'settle-ms': { type: 'string', default: '2' },
      watches: { type: 'string', default: String(WATCHES_PER_USER) },
      'redis-auto-pipelining': { type: 'string', default: 'off' },
      trending: { type: 'string', default: String(TRENDING_SET_SIZE) },
      out: { type: 'string', default: join(ROOT, 'bench', 'out', 'pipeline-overhead.json') },
    },
  });
  const requests = Number(values.requests);
  const warmup = Number(values.warmup);
  const modes = values.l1.split(',').map((m) => m.trim()) as ('off' | 'on')[];
  const skipParts = values['skip-parts'];
  const benchSeed = Number(values.seed);
  const settleMs = Number(values['settle-ms']);
  const watchesPerUser = Number(values.watches);
  const trendingSetSize = Number(values.trending);
  const settle = () => (settleMs > 0 ? new Promise<void>((r) => setTimeout(r, settleMs)) : Promise.resolve());

  configureContainerEngine(process.env);
  const redisInfra = await startRedis({});
  const loadAverageBefore = os.loadavg();
  const admin = connectRedis(redisInfra.url, 10_000);
  admin.on('error', () => {});
  await new Promise<void>((r) => (admin.status === 'ready' ? r() : admin.once('ready', () => r())));
  let artifactsDir: string;
  let world: { users: number; videos: number; seed: number };
  try {
    if (values.artifacts) {
      artifactsDir = resolve(values.artifacts);
      if (!existsSync(join(artifactsDir, 'user_records.f32')))
        throw new Error(`${artifactsDir}: no user_records.f32`);
      world = await loadArtifactsWorld(artifactsDir, admin);
    } else {
      const prepared = await prepareWorld({
        seed: benchSeed,
        users: Number(values.users),
        videos: Number(values.videos),
        cacheDir: join(ROOT, '.reclab', 'cache'),
        redisUrl: redisInfra.url,
        log: (line) => console.log(line),
      });
      artifactsDir = prepared.artifactsDir;
      world = { users: prepared.info.users, videos: prepared.info.videos, seed: benchSeed };
    }
    await seedStreamingFeatures(admin, world.users, world.videos, benchSeed, watchesPerUser, trendingSetSize);

    // The core's defaults (core/config/config.ts), deadlines raised (see the header).
    const cfg = loadConfig({
      RECLAB_REDIS_URL: redisInfra.url,
      RECLAB_KAFKA_BROKERS: '127.0.0.1:9',
      RECLAB_ARTIFACTS_DIR: artifactsDir,
      RECLAB_REDIS_AUTO_PIPELINING: values['redis-auto-pipelining'],
    });
    const artifacts: Artifacts = await loadArtifacts(artifactsDir, {
      ann: cfg.ann,
      ortThreads: cfg.ortThreads,
    });
    const pcfg: PipelineConfig = {
      ...pipelineConfigOf(cfg),
      deadlines: { userMs: 1000, encoderMs: 1000, retrievalMs: 1000, enrichmentMs: 1000, rankingMs: 1000 },
    };

    const redis = connectRedis(redisInfra.url, cfg.redis.commandTimeoutMs, {
      autoPipelining: cfg.redis.autoPipelining,
    });
    redis.on('error', () => {});
    await new Promise<void>((r) => (redis.status === 'ready' ? r() : redis.once('ready', () => r())));
    // The parts' own connection: plain ioredis, one command per round trip (the core's connection
    // auto-pipelines, which is part of what the pipeline does, not of the irreducible round trip).
    const raw = new Redis(redisInfra.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    raw.on('error', () => {});
    await new Promise<void>((r) => (raw.status === 'ready' ? r() : raw.once('ready', () => r())));
    let trace = newTrace();

    // Pass-through wrappers that record each irreducible call's inputs (O(1) each: references).
    const redisStore = new RedisFeatureStore(redis);
    const recordingStore: FeatureStore = {
      getUser: (id) => {
        trace.userReads.push(id);
        return redisStore.getUser(id);
      },
      getVideos: (vs) => {
        // A reference, not a copy (a copy would be billed to the pipeline): the pipeline and the L1
        // cache pass a new array per call and never write to it afterwards.
        trace.videoReads.push(vs);
        return redisStore.getVideos(vs);
      },
      topPopular: (r, n) => {
        trace.popularityReads.push({ region: r, n });
        return redisStore.topPopular(r, n);
      },
      // Read only for unknown users; the bench's users are all known.
      loadMarker: () => redisStore.loadMarker(),
    };
    const realtime = new RealtimeFeatures(redis, systemClock);
    const userEncoder: UserEncoder = {
      dim: artifacts.userEncoder.dim,
      encode: (features) => {
        trace.userTower.push(features.slice());
        return artifacts.userEncoder.encode(features);
      },
    };
    const ranker: Ranker = {
      modelVersion: artifacts.ranker.modelVersion,
      score: (input, n): Promise<Predictions> => {
        trace.ranker.push({ input, n });
        return artifacts.ranker.score(input, n);
      },
    };
    const light = artifacts.lightRanker;
    const lightRanker: Ranker | undefined = light && {
      modelVersion: light.modelVersion,
      score: (input, n): Promise<Predictions> => {
        trace.lightRanker.push({ input, n });
        return light.score(input, n);
      },
    };
    const merged = new MergedAnnSearcher(artifacts.index, artifacts.fresh);
    const content = artifacts.content;
    const models: SwappableModelSet = {
      ...artifacts,
      // The artifacts are released once, at the end.
      release: async () => {},
      userEncoder,
      ranker,
      lightRanker,
      // As loadArtifacts builds them (two-tower over the merged index, content over its own index
      // reading the recent watches), with recording wrappers around the indexes and the reader.
      sources: [
        new TwoTowerSource({
          search: (query, k) => {
            trace.ann.push({ source: 'two_tower', query: query.slice(), k });
            return merged.search(query, k);
          },
        }),
        ...(content
          ? [
              new ContentSource(
                {
                  search: (query, k) => {
                    trace.ann.push({ source: 'content', query: query.slice(), k });
                    return content.index.search(query, k);
                  },
                },
                content,
                {
                  recentWatches: (id, n) => {
                    trace.contentWatchReads.push(id);
                    return realtime.recentWatches(id, n);
                  },
                },
              ),
            ]
          : []),
      ],
    };
    const annIndexOf: Record<string, { search(q: Float32Array, k: number): unknown }> = {
      two_tower: artifacts.index,
      ...(content ? { content: content.index } : {}),
    };
    if (!content) console.warn('warning: no content_embeddings.f32 in the artifacts: no content source');
    const subscriptionsStore = new RedisSubscriptions(redis);
    const subscriptions: SubscriptionReader = {
      followedUploads: (userId, creatorsMax, perCreator, minTsS, maxTsS) => {
        if (creatorsMax > 0 && perCreator > 0)
          trace.subscriptionReads.push({ userId, creatorsMax, perCreator, minTsS, maxTsS });
        return subscriptionsStore.followedUploads(userId, creatorsMax, perCreator, minTsS, maxTsS);
      },
    };
    const activity = {
      recentWatches: (id: string, n: number) => {
        trace.watchReads.push(id);
        return realtime.recentWatches(id, n);
      },
    };

    const meter = await calibrateMeter(settle, settleMs);
    console.log(
      `meter: empty window ${meter.emptyWindowUs} µs, settle wake-up ${meter.settleIdleUs} µs (subtracted per window)`,
    );
    const results: ModeResult[] = [];
    for (const mode of modes) {
      // The core as core/main.ts composes it (core/compose.ts), over the recording adapters; the
      // L1 cache on or off by its settings. The popularity cache's refresh is not started.
      const impressions = new SerializingImpressionLog();
      const core = await createCore(
        {
          features: recordingStore,
          activity,
          trending: (r, n) => {
            trace.trendingReads.push({ region: r, n });
            return realtime.trending(r, n);
          },
          subscriptions,
          impressions,
          models: {
            initial: models,
            load: () => Promise.reject(new Error('no swaps')),
            warmUp: async () => {},
          },
        },
        {
          ...settingsOf(cfg),
          pipeline: pcfg,
          l1Cache: mode === 'on' ? cfg.l1Cache : { maxEntries: 0, ttlMs: 0 },
        },
        systemClock,
        seededRandom(cfg.randomSeed),
      );
      const { deps, breakers } = core;
      const features = deps.features;
      const users = seededRandom(benchSeed).stream('bench.users');
      const partsUs: Record<string, number> = {};
      const calls: Record<string, number> = {};
      const addPart = (name: string, us: number) => {
        partsUs[name] = (partsUs[name] ?? 0) + us;
        calls[name] = (calls[name] ?? 0) + 1;
      };
      const rungs: Record<string, number> = {};
      const cpuHist = latencyHistogramUs();
      const wallHist = latencyHistogramUs();
      let pipelineUs = 0;
      let pipelineRawUs = 0;
      let partsRawUs = 0;
      let candidates = 0;
      const total = warmup + requests;
      for (let i = 0; i < total; i++) {
        const measured = i >= warmup;
        trace = newTrace();
        const userId = `u_${users.int(world.users)}`;
        const wall0 = process.hrtime.bigint();
        const c0 = process.cpuUsage();
        const res = await recommend(deps, models, pcfg, breakers, {
          userId,
          count: PAGE,
          regionIdx: undefined,
          deviceIdx: undefined,
        });
        const wallUs = Number(process.hrtime.bigint() - wall0) / 1000;
        await settle(); // the request's trailing work (GC threads, callbacks) is the request's
        const cpuRaw = cpuSinceUs(c0);
        const cpu = cpuRaw - meter.emptyWindowUs - (settleMs > 0 ? meter.settleIdleUs : 0);
        if (measured) {
          pipelineRawUs += cpuRaw;
          pipelineUs += cpu;
          cpuHist.recordValue(Math.max(1, Math.round(cpu)));
          wallHist.recordValue(Math.max(1, Math.round(wallUs)));
          rungs[res.meta.rung] = (rungs[res.meta.rung] ?? 0) + 1;
          candidates += res.meta.candidates.retrieved;
        }
        if (skipParts) continue;
        // The parts alone, on the inputs this request used (warm-up requests run them too).
        const t = trace;
        const part = async (name: string, run: () => Promise<unknown> | unknown, idleUs = 0) => {
          const p0 = process.cpuUsage();
          await run();
          const us = cpuSinceUs(p0);
          if (!measured) return;
          partsRawUs += us;
          addPart(name, us - meter.emptyWindowUs - idleUs);
        };
        for (const id of t.userReads) await part('redis.user', () => raw.getBuffer(keys.user(id)));
        for (const id of t.watchReads)
          await part('redis.recent_watches', () => raw.lrange(keys.recentWatches(id), 0, -1));
        for (const id of t.contentWatchReads)
          await part('redis.content_watches', () => raw.lrange(keys.recentWatches(id), 0, -1));
        for (const r of t.subscriptionReads)
          await part('redis.subscriptions', () =>
            readFollowedUploads(raw, r.userId, r.creatorsMax, r.perCreator, r.minTsS, r.maxTsS),
          );
        for (const r of t.popularityReads) {
          const key = r.region === undefined ? keys.popularityGlobal : keys.popularityRegion(r.region);
          await part('redis.popularity', () => raw.zrevrange(key, 0, r.n - 1, 'WITHSCORES'));
        }
        for (const r of t.trendingReads) {
          const key = r.region === undefined ? keys.trendingGlobal : keys.trendingRegion(r.region);
          await part('redis.trending', () => raw.zrevrange(key, 0, r.n - 1, 'WITHSCORES'));
        }
        for (const vs of t.videoReads) {
          if (vs.length === 0) continue;
          // The keys are built inside the window, as the pipeline builds them inside its own (and
          // as every other part builds its key).
          await part('redis.candidates', () => raw.mgetBuffer(...vs.map((v) => keys.video(videoIdOf(v)))));
        }
        for (const f of t.userTower) await part('user_tower', () => artifacts.userEncoder.encode(f));
        for (const a of t.ann)
          await part(`ann.${a.source}`, () => annIndexOf[a.source]!.search(a.query, a.k));
        for (const r of t.ranker) await part('ranker', () => artifacts.ranker.score(r.input, r.n));
        for (const r of t.lightRanker) await part('light_ranker', () => light!.score(r.input, r.n));
        // What the parts left running (GC of their replies, callbacks) is theirs too; without this
        // settle it would be billed to the next pipeline request.
        await part('parts.tail', settle, settleMs > 0 ? meter.settleIdleUs : 0);
      }
      const perReq = (us: number) => Number((us / requests).toFixed(1));
      const partsPerRequest = Object.fromEntries(Object.entries(partsUs).map(([k, v]) => [k, perReq(v)]));
      const partsSum = Object.values(partsUs).reduce((a, b) => a + b, 0);
      const pipelinePerReq = perReq(pipelineUs);
      const cache = features instanceof L1FeatureCache ? features.stats() : undefined;
      const row: ModeResult = {
        l1: mode,
        requests,
        warmup,
        pipelineCpuUsPerRequest: pipelinePerReq,
        partsCpuUsPerRequest: partsPerRequest,
        partsSumCpuUsPerRequest: perReq(partsSum),
        overheadRatio: skipParts ? null : Number((pipelineUs / partsSum).toFixed(3)),
        overheadRatioUncorrected: skipParts ? null : Number((pipelineRawUs / partsRawUs).toFixed(3)),
        uncorrected: {
          pipelineCpuUsPerRequest: perReq(pipelineRawUs),
          partsSumCpuUsPerRequest: perReq(partsRawUs),
        },
        overheadRatioWithoutUserTower: skipParts
          ? null
          : Number((pipelineUs / (partsSum - (partsUs.user_tower ?? 0))).toFixed(3)),
        pipelineCpuUs: summariseUs(cpuHist),
        pipelineWallUs: summariseUs(wallHist),
        calls: Object.fromEntries(
          Object.entries(calls).map(([k, v]) => [k, Number((v / requests).toFixed(2))]),
        ),
        rungs,
        candidatesMean: Number((candidates / requests).toFixed(1)),
        l1Cache: cache && {
          hitRate: Number((cache.hits / Math.max(1, cache.hits + cache.misses)).toFixed(3)),
          ...cache,
        },
        loadAverage: os.loadavg(),
      };
      cpuHist.destroy();
      wallHist.destroy();
      results.push(row);
      console.log(
        `L1 ${mode}: pipeline ${row.pipelineCpuUsPerRequest} µs CPU/request, parts ${row.partsSumCpuUsPerRequest} µs ` +
          `→ ratio ${row.overheadRatio} (uncorrected ${row.overheadRatioUncorrected}; without user tower ${row.overheadRatioWithoutUserTower}); rungs ${JSON.stringify(rungs)}` +
          `${cache ? `; L1 hit rate ${row.l1Cache!.hitRate}` : ''}; load ${row.loadAverage[0]!.toFixed(2)}`,
      );
      console.log(`  parts µs/request: ${JSON.stringify(partsPerRequest)}`);
    }
    redis.disconnect();
    raw.disconnect();
    await artifacts.release();

    const outPath = resolve(values.out);
    await mkdir(dirname(outPath), { recursive: true });
    const doc = {
      bench: 'pipeline-overhead',
      command: `npx tsx bench/pipeline-overhead.ts ${process.argv.slice(2).join(' ')}`.trim(),
      at: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version },
      loadAverageBefore,
      loadAverageAfter: os.loadavg(),
      world: { ...world, artifactsDir, modelVersion: artifacts.modelVersion, embDim: artifacts.items.dim },
      setup: {
        page: PAGE,
        retrievalK: pcfg.retrievalK,
        candidatesMax: pcfg.candidatesMax,
        ann: cfg.ann,
        ortThreads: cfg.ortThreads,
        l1Cache: cfg.l1Cache,
        settleMs,
        redisAutoPipelining: cfg.redis.autoPipelining,
        watchesPerUser,
        trendingSetSize,
        cascadeTopN: pcfg.cascadeTopN,
        sources: [...models.sources, 'popularity', 'trending', 'subscriptions'].map((s) =>
          typeof s === 'string' ? s : s.name,
        ),
      },
      meter,
      targetRatio: TARGET_RATIO,
      results,
    };
    await writeFile(outPath, `${JSON.stringify(doc, null, 2)}\n`);
    console.log(`wrote ${outPath}`);
    const pass = results.every((r) => r.overheadRatio === null || r.overheadRatio <= TARGET_RATIO);
    process.exitCode = pass ? 0 : 3;
  } finally {
    admin.disconnect();
    await redisInfra.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
