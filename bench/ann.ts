/**
 * ANN index comparison (seed 000 §2.4 "Index type comparison", issue 4): Flat, IVF-Flat, IVF-PQ and
 * HNSW on the world's own embeddings, at each catalogue size: build time, memory, single-query
 * latency p50/p99 and recall@k against Flat.
 *
 *   npx tsx bench/ann.ts [--items 100000,1000000] [--source tower|latent] [--dim 32] [--queries 500]
 *                        [--k 100] [--seed 7] [--configs flat,ivf1024,ivf4096,ivfpq,hnsw]
 *                        [--artifacts .reclab/cache/world-…] [--out bench/out/ann.json] [--merge]
 *
 * Vectors (`--source`):
 * - `tower` (default): the item-tower embeddings the core serves. The trained item tower of a cached
 *   artifact (`item_tower.onnx`, newest under .reclab/cache/ unless `--artifacts`) is run with ONNX
 *   Runtime over `videoModelInput(videoRecords(world))` of a world with `--items` videos (same seed,
 *   20k users as the artifacts' world): no training at 1M, seconds to embed. Video records use the
 *   popularity prior for views (no simulated history). The width is the tower's (64 since
 *   artifacts-3, 32 before); `--dim` is
 *   ignored. Queries: the user tower over records of the world's first `--queries` users, with
 *   category shares = softmax(8 · ⟨user latent, category centroid⟩) and 20 watches standing in for
 *   a simulated history (simulating logs at this size would cost minutes and only sharpen them).
 * - `latent`: the world's ground-truth video latents (`--dim` wide), queries the user latents: the
 *   generator's own clustered geometry (category centroid + creator + noise), no model involved.
 *
 * Queries are users, never indexed vectors, so they are held out by construction. Recall is
 * recall@k against Flat on the same vectors (core/adapters/faiss/index-card.ts). Searches run with
 * 1 FAISS thread (the core searches on its event-loop thread, one process per core); Flat is also
 * timed with 2. Builds use `--build-threads` (default 2; build is an offline job). Latency is one
 * `search` call at a time, `--queries` timed calls after 50 warm-up calls, HdrHistogram p50/p99 in
 * µs, including faiss-node's JS↔C++ copying. Memory: FAISS file size of the index (close to its
 * native size) and the RSS growth during the build. The JSON records load averages: the machine's
 * 2 cores may be shared, which inflates latency tails and build times.
 *
 * Output: `bench/out/ann.json`, rewritten after every configuration (safe to poll). `--merge` keeps
 * the rows of the existing file for sizes and index types this run does not measure (each row has
 * `measuredAt`), so a slow type can be measured in its own run. Acceptance
 * (issue 4): at the largest size, some HNSW/IVF setting with mean recall@100 ≥ 0.95 at a p50
 * latency ≥ 10× lower than Flat's (1 thread). Exit 0 pass, 3 fail, 1 crash.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { AnnIndex } from '../core/adapters/faiss/faiss-index.ts';
import {
  exactNeighbours,
  type LatencyReport,
  measureLatency,
  measureRecall,
  type RecallReport,
  serializedBytes,
} from '../core/adapters/faiss/index-card.ts';
import {
  NUM_CATEGORIES,
  USER_FEATURE_DIM,
  USER_RECORD,
  USER_RECORD_LEN,
  VIDEO_FEATURE_DIM,
} from '../core/features/schema.ts';
import { videoRecords } from '../sim/models/records.ts';
import { allUserInputs, allVideoInputs } from '../sim/models/training-data.ts';
import { generateWorld, type World } from '../sim/world/index.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WORLD_USERS = 20_000;
const TASTE_SHARPNESS = 8;
const HISTORY_WATCHES = 20;
const WARMUP = 50;
const TARGET = { recall: 0.95, speedup: 10 };

interface Config {
  /** Family name used by `--configs`. */
  family: 'flat' | 'ivf1024' | 'ivf4096' | 'ivfpq' | 'hnsw';
  factory: string;
  /** Parameter swept, with its values (none for Flat). */
  sweep?: { name: string; values: number[] };
  /** Search threads to time (Flat also at 2). */
  threads: number[];
}

const CONFIGS: Config[] = [
  { family: 'flat', factory: 'Flat', threads: [1, 2] },
  {
    family: 'ivf1024',
    factory: 'IVF1024,Flat',
    sweep: { name: 'nprobe', values: [4, 8, 16, 32, 64] },
    threads: [1],
  },
  {
    family: 'ivf4096',
    factory: 'IVF4096,Flat',
    sweep: { name: 'nprobe', values: [8, 16, 32, 64, 128] },
    threads: [1],
  },
  {
    family: 'ivfpq',
    // `np`: no polysemous training, which the factory otherwise runs and which takes minutes even at
    // 3k vectors on Debian's build; it only serves Hamming-threshold (`ht`) search, unused here.
    factory: 'IVF1024,PQ16np',
    sweep: { name: 'nprobe', values: [8, 16, 32, 64] },
    threads: [1],
  },
  {
    family: 'hnsw',
    factory: 'HNSW32',
    sweep: { name: 'efSearch', values: [64, 128, 256, 512] },
    threads: [1],
  },
];

interface Point {
  params: Record<string, number>;
  threads: number;
  recall: RecallReport;
  latency: LatencyReport;
  /** Flat p50 (same size, 1 thread) ÷ this p50. */
  speedupVsFlat: number;
}

interface Row {
  items: number;
  factory: string;
  buildSeconds: number;
  buildThreads: number;
  trainRows: number | null;
  serializedMiB: number;
  rssGrowthMiB: number;
  points: Point[];
  loadAverage: number[];
  /** Start of the bench run that measured this row (rows can come from earlier runs with `--merge`). */
  measuredAt: string;
}

function parseCount(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(s.trim());
  if (!m) throw new Error(`bad count '${s}'`);
  const mult = m[2]?.toLowerCase() === 'k' ? 1e3 : m[2]?.toLowerCase() === 'm' ? 1e6 : 1;
  return Math.round(Number(m[1]) * mult);
}

/** Newest cache directory holding an item tower (the artifacts `reclab models build` writes). */
function newestArtifacts(): string {
  const cache = join(ROOT, '.reclab', 'cache');
  const dirs = readdirSync(cache)
    .map((d) => join(cache, d))
    .filter((d) => {
      try {
        return statSync(join(d, 'item_tower.onnx')).isFile() && statSync(join(d, 'user_tower.onnx')).isFile();
      } catch {
        return false;
      }
    })
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (dirs.length === 0)
    throw new Error(`no artifacts with item_tower.onnx under ${cache}: run reclab models build`);
  return dirs[0]!;
}

/** Runs an ONNX tower over `x` (rows × inDim) in batches; returns rows × outDim. */
async function runTower(path: string, input: string, output: string, x: Float32Array, inDim: number) {
  const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 2, interOpNumThreads: 1 });
  const rows = x.length / inDim;
  const batch = 65_536;
  const parts: Float32Array[] = [];
  for (let r = 0; r < rows; r += batch) {
    const end = Math.min(rows, r + batch);
    const out = await session.run({
      [input]: new ort.Tensor('float32', x.subarray(r * inDim, end * inDim), [end - r, inDim]),
    });
    parts.push(out[output]!.data as Float32Array);
  }
  await session.release();
  const outDim = parts[0]!.length / Math.min(rows, batch);
  const all = new Float32Array(rows * outDim);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return { vectors: all, dim: outDim };
}

/** User records with a stand-in history: shares softmax(8·⟨latent, centroid⟩), 20 watches. */
function syntheticUserRecords(world: World, users: number): Float32Array {
  const d = world.config.latentDim;
  const out = new Float32Array(users * USER_RECORD_LEN);
  const logits = new Float64Array(NUM_CATEGORIES);
  for (let u = 0; u < users; u++) {
    const o = u * USER_RECORD_LEN;
    out[o + USER_RECORD.region] = world.userRegion[u]!;
    out[o + USER_RECORD.device] = world.userDevice[u]!;
    out[o + USER_RECORD.tenureDays] = Math.max(0, (world.config.nowS - world.userSignupS[u]!) / 86_400);
    out[o + USER_RECORD.watchCount] = HISTORY_WATCHES;
    let max = -Infinity;
    for (let c = 0; c < NUM_CATEGORIES; c++) {
      let dot = 0;
      for (let k = 0; k < d; k++) dot += world.userLatent[u * d + k]! * world.categoryCentroids[c * d + k]!;
      logits[c] = TASTE_SHARPNESS * dot;
      max = Math.max(max, logits[c]!);
    }
    let sum = 0;
    for (let c = 0; c < NUM_CATEGORIES; c++) sum += logits[c] = Math.exp(logits[c]! - max);
    for (let c = 0; c < NUM_CATEGORIES; c++) out[o + USER_RECORD.catShare + c] = logits[c]! / sum;
  }
  return out;
}

async function vectorsFor(
  source: 'tower' | 'latent',
  items: number,
  seed: number,
  latentDim: number,
  queries: number,
  artifacts: string,
): Promise<{ vectors: Float32Array; queries: Float32Array; dim: number; seconds: number }> {
  const t0 = performance.now();
  const world = generateWorld({
    seed,
    users: Math.max(WORLD_USERS, queries),
    videos: items,
    ...(source === 'latent' ? { latentDim } : {}),
  });
  if (source === 'latent') {
    const d = world.config.latentDim;
    return {
      vectors: world.videoLatent,
      queries: world.userLatent.slice(0, queries * d),
      dim: d,
      seconds: (performance.now() - t0) / 1000,
    };
  }
  const videoInputs = allVideoInputs(videoRecords(world), world.config.nowS);
  const items_ = await runTower(
    join(artifacts, 'item_tower.onnx'),
    'video_features',
    'item_embedding',
    videoInputs,
    VIDEO_FEATURE_DIM,
  );
  const userInputs = allUserInputs(syntheticUserRecords(world, queries));
  const users = await runTower(
    join(artifacts, 'user_tower.onnx'),
    'user_features',
    'user_embedding',
    userInputs,
    USER_FEATURE_DIM,
  );
  return {
    vectors: items_.vectors,
    queries: users.vectors,
    dim: items_.dim,
    seconds: (performance.now() - t0) / 1000,
  };
}

function trainRowsFor(factory: string, n: number): number | undefined {
  const m = /^IVF(\d+)/.exec(factory);
  if (!m) return undefined;
  // 64 points per list: enough for k-means to place centroids, a fraction of FAISS's default 256.
  return Math.min(n, Math.max(100_000, 64 * Number(m[1])));
}

const round = (x: number, digits = 4) => Number(x.toFixed(digits));

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      items: { type: 'string', default: '100000,1000000' },
      source: { type: 'string', default: 'tower' },
      dim: { type: 'string', default: '32' },
      queries: { type: 'string', default: '500' },
      k: { type: 'string', default: '100' },
      seed: { type: 'string', default: '7' },
      configs: { type: 'string', default: CONFIGS.map((c) => c.family).join(',') },
      'build-threads': { type: 'string', default: '2' },
      merge: { type: 'boolean', default: false },
      artifacts: { type: 'string' },
      out: { type: 'string', default: join(ROOT, 'bench', 'out', 'ann.json') },
    },
  });
  const sizes = values.items.split(',').map(parseCount);
  const source = values.source as 'tower' | 'latent';
  if (source !== 'tower' && source !== 'latent')
    throw new Error(`--source tower|latent, got ${values.source}`);
  const nq = parseCount(values.queries);
  const k = parseCount(values.k);
  const seed = Number(values.seed);
  const buildThreads = Number(values['build-threads']);
  const families = new Set(values.configs.split(','));
  const configs = CONFIGS.filter((c) => c.family === 'flat' || families.has(c.family));
  const artifacts = source === 'tower' ? resolve(values.artifacts ?? newestArtifacts()) : null;
  const outPath = resolve(values.out);
  await mkdir(dirname(outPath), { recursive: true });

  const startedAt = new Date().toISOString();
  // --merge: keep the rows of an earlier run for the (size, factory) pairs this run does not measure.
  const measuredHere = (items: number, factory: string) =>
    sizes.includes(items) && configs.some((c) => c.factory === factory);
  const previous = values.merge && existsSync(outPath) ? JSON.parse(await readFile(outPath, 'utf8')) : null;
  const rows: Row[] = ((previous?.rows ?? []) as Row[]).filter((r) => !measuredHere(r.items, r.factory));
  const datasets: Record<string, unknown>[] = ((previous?.datasets ?? []) as { items: number }[]).filter(
    (d) => !sizes.includes(d.items),
  );
  const loadAverageBefore = os.loadavg();
  const manifest = artifacts ? JSON.parse(await readFile(join(artifacts, 'manifest.json'), 'utf8')) : null;
  const save = async (acceptance?: unknown) => {
    const doc = {
      bench: 'ann',
      command: `npx tsx bench/ann.ts ${process.argv.slice(2).join(' ')}`.trim(),
      startedAt,
      machine: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model,
        memoryGiB: round(os.totalmem() / 2 ** 30, 1),
        node: process.version,
      },
      loadAverageBefore,
      loadAverageNow: os.loadavg(),
      source,
      artifacts: artifacts ? { dir: artifacts, modelVersion: manifest?.modelVersion } : null,
      k,
      queries: nq,
      warmup: WARMUP,
      searchThreads: 1,
      datasets,
      rows,
      ...(acceptance ? { acceptance } : {}),
    };
    await writeFile(outPath, `${JSON.stringify(doc, null, 2)}\n`);
  };

  for (const n of sizes) {
    const data = await vectorsFor(source, n, seed, Number(values.dim), nq, artifacts ?? '');
    datasets.push({ items: n, dim: data.dim, prepareSeconds: round(data.seconds, 2) });
    console.log(`${n} items × ${data.dim}-d (${source}) ready in ${data.seconds.toFixed(1)} s`);
    let truth: Int32Array[] = [];
    let flatP50 = Number.NaN;
    for (const config of configs) {
      if (n < 20_000 && config.factory.startsWith('IVF4096')) continue;
      const trainRows = trainRowsFor(config.factory, n);
      global.gc?.();
      const rssBefore = process.memoryUsage().rss;
      const t0 = performance.now();
      const index = AnnIndex.build(data.vectors, data.dim, {
        factory: config.factory,
        metric: 'ip',
        threads: buildThreads,
        ...(trainRows !== undefined ? { trainSample: trainRows } : {}),
      });
      const buildSeconds = (performance.now() - t0) / 1000;
      const rssGrowthMiB = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
      AnnIndex.setNumThreads(1);
      if (config.family === 'flat') truth = exactNeighbours(index, data.queries, k);
      const row: Row = {
        items: n,
        factory: config.factory,
        buildSeconds: round(buildSeconds, 2),
        buildThreads,
        trainRows: trainRows ?? null,
        serializedMiB: round(serializedBytes(index) / 2 ** 20, 1),
        rssGrowthMiB: round(rssGrowthMiB, 1),
        points: [],
        loadAverage: [],
        measuredAt: startedAt,
      };
      rows.push(row);
      const settings = config.sweep ? config.sweep.values.map((v) => ({ [config.sweep!.name]: v })) : [{}];
      for (const params of settings) {
        for (const [name, value] of Object.entries(params)) index.setParam(name, value);
        for (const threads of config.threads) {
          AnnIndex.setNumThreads(threads);
          const recall = measureRecall(index, truth, data.queries, k);
          const latency = measureLatency(index, data.queries, k, { runs: nq, warmup: WARMUP });
          AnnIndex.setNumThreads(1);
          if (config.family === 'flat' && threads === 1) flatP50 = latency.p50Us;
          const point: Point = {
            params,
            threads,
            recall: { ...recall, mean: round(recall.mean), min: round(recall.min), p10: round(recall.p10) },
            latency: { ...latency, meanUs: round(latency.meanUs, 1) },
            speedupVsFlat: round(flatP50 / latency.p50Us, 1),
          };
          row.points.push(point);
          console.log(
            `  ${n} ${config.factory} ${JSON.stringify(params)} t${threads}: recall@${k} ${point.recall.mean} ` +
              `p50 ${latency.p50Us} µs p99 ${latency.p99Us} µs (${point.speedupVsFlat}× Flat)` +
              (params === settings[0] && threads === config.threads[0]
                ? ` build ${row.buildSeconds} s, ${row.serializedMiB} MiB`
                : ''),
          );
        }
      }
      row.loadAverage = os.loadavg();
      await save();
    }
  }

  rows.sort(
    (a, b) =>
      a.items - b.items ||
      CONFIGS.findIndex((c) => c.factory === a.factory) - CONFIGS.findIndex((c) => c.factory === b.factory),
  );
  const largest = Math.max(...rows.map((r) => r.items));
  const candidates = rows
    .filter((r) => r.items === largest && r.factory !== 'Flat')
    .flatMap((r) => r.points.map((p) => ({ factory: r.factory, ...p })))
    .filter((p) => p.threads === 1 && p.recall.mean >= TARGET.recall && p.speedupVsFlat >= TARGET.speedup)
    .sort((a, b) => a.latency.p50Us - b.latency.p50Us);
  const acceptance = {
    criterion: `at ${largest} items: recall@${k} ≥ ${TARGET.recall} against Flat at p50 ≥ ${TARGET.speedup}× faster than Flat (1 thread)`,
    pass: candidates.length > 0,
    best: candidates[0]
      ? {
          factory: candidates[0].factory,
          params: candidates[0].params,
          recall: candidates[0].recall.mean,
          p50Us: candidates[0].latency.p50Us,
          p99Us: candidates[0].latency.p99Us,
          speedupVsFlat: candidates[0].speedupVsFlat,
        }
      : null,
    passing: candidates.map((c) => `${c.factory} ${JSON.stringify(c.params)}`),
  };
  await save(acceptance);
  console.log(`acceptance: ${acceptance.pass ? 'PASS' : 'FAIL'} ${JSON.stringify(acceptance.best)}`);
  console.log(`wrote ${outPath}`);
  return acceptance.pass ? 0 : 3;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
