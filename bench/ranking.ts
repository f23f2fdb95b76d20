/**
 * Ranking latency in ONNX Runtime (seed 000 §2.5, issue 4): one batched `OnnxRanker.score` call per
 * request for 300 and 1,000 candidates, with intraOpNumThreads 1 and 2.
 *
 *   npx tsx bench/ranking.ts [--candidates 300,1000] [--threads 1,2] [--runs 1000] [--warmup 100]
 *                            [--artifacts .reclab/cache/world-…] [--model ranker.onnx|light_ranker.onnx]
 *                            [--out bench/out/ranking.json]
 *
 * Each row also reports the process CPU time per call (`cpuUsPerCall`: user + system over the timed
 * calls ÷ runs), which other jobs on the machine inflate less than the latency percentiles.
 *
 * Model: `--model` (default `ranker.onnx`; `light_ranker.onnx` for the in-process fallback) from `--artifacts`, else the newest .reclab/cache/<dir>/ holding one; when
 * there is none, a 20k-user × 10k-video world's artifacts are built first with
 * loadtest/prepare-world.ts (no Redis), which takes minutes. Input rows are real: `rankerInput` of
 * one user record against the first n video records of the same artifacts (derived from the
 * manifest's world when the artifacts do not ship records), affinities from the item embeddings. Each call is timed around `score` (tensor creation, run, output views: what the
 * core pays) and recorded in µs into an HdrHistogram; warm-up calls excluded. The JSON records the
 * load average before and after: with the 2 cores shared, the 2-thread figures suffer most.
 *
 * Output: `bench/out/ranking.json` (`--out` to change).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { OnnxRanker } from '../core/adapters/onnx/onnx-models.ts';
import {
  defaultUserRecord,
  rankerInput,
  USER_RECORD_LEN,
  VIDEO_RECORD_LEN,
} from '../core/features/schema.ts';
import { latencyHistogramUs, recordSinceUs, summariseUs } from '../core/observability/latency-us.ts';
import { prepareWorld } from '../loadtest/prepare-world.ts';
import { videoRecords } from '../sim/models/records.ts';
import { generateWorld } from '../sim/world/index.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CACHE = join(ROOT, '.reclab', 'cache');

async function readF32(path: string): Promise<Float32Array> {
  const bytes = await readFile(path);
  const out = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

function newestRankerDir(): string | undefined {
  if (!existsSync(CACHE)) return undefined;
  return readdirSync(CACHE)
    .map((d) => join(CACHE, d))
    .filter((d) =>
      ['ranker.onnx', 'user_records.f32', 'video_records.f32', 'manifest.json'].every((f) =>
        existsSync(join(d, f)),
      ),
    )
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      candidates: { type: 'string', default: '300,1000' },
      threads: { type: 'string', default: '1,2' },
      runs: { type: 'string', default: '1000' },
      warmup: { type: 'string', default: '100' },
      artifacts: { type: 'string' },
      model: { type: 'string', default: 'ranker.onnx' },
      out: { type: 'string', default: join(ROOT, 'bench', 'out', 'ranking.json') },
    },
  });
  const candidates = values.candidates.split(',').map(Number);
  const threadCounts = values.threads.split(',').map(Number);
  const runs = Number(values.runs);
  const warmup = Number(values.warmup);
  let dir = values.artifacts ? resolve(values.artifacts) : newestRankerDir();
  let built = false;
  if (!dir) {
    const prepared = await prepareWorld({
      seed: 7,
      users: 20_000,
      videos: 10_000,
      cacheDir: CACHE,
      log: console.log,
    });
    dir = prepared.artifactsDir;
    built = true;
  }
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
  // Older artifacts ship the records; newer ones do not: then derive them from the manifest's world
  // (video records from the popularity prior; user 0's record without history).
  let userRec: Float32Array;
  let videoRec: Float32Array;
  if (existsSync(join(dir, 'video_records.f32')) && existsSync(join(dir, 'user_records.f32'))) {
    userRec = await readF32(join(dir, 'user_records.f32'));
    videoRec = await readF32(join(dir, 'video_records.f32'));
  } else {
    const world = generateWorld({
      seed: Number(manifest.seed),
      users: Number(manifest.world.users),
      videos: Number(manifest.world.videos),
    });
    videoRec = videoRecords(world);
    userRec = defaultUserRecord(world.userRegion[0], world.userDevice[0]);
  }
  const items = await readF32(join(dir, 'item_embeddings.f32'));
  const videos = videoRec.length / VIDEO_RECORD_LEN;
  const dim = Number(manifest.embDim);
  const nowS = Number(manifest.world?.nowS ?? Math.floor(Date.now() / 1000));

  const loadAverageBefore = os.loadavg();
  const results: Record<string, unknown>[] = [];
  for (const threads of threadCounts) {
    const ranker = await OnnxRanker.load(join(dir, values.model), String(manifest.modelVersion), threads);
    for (const n of candidates) {
      const user = userRec.subarray(0, USER_RECORD_LEN);
      const rows = Array.from({ length: n }, (_, i) => {
        const v = i % videos;
        return videoRec.subarray(v * VIDEO_RECORD_LEN, (v + 1) * VIDEO_RECORD_LEN);
      });
      const affinity = Float32Array.from({ length: n }, (_, i) => {
        const v = i % videos;
        let dot = 0;
        for (let j = 0; j < dim; j++) dot += items[v * dim + j]! * items[j]!;
        return dot;
      });
      const features = rankerInput(user, rows, affinity, nowS);
      for (let i = 0; i < warmup; i++) await ranker.score(features, n);
      const histogram = latencyHistogramUs();
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < runs; i++) {
        const t0 = process.hrtime.bigint();
        await ranker.score(features, n);
        recordSinceUs(histogram, t0);
      }
      const cpu = process.cpuUsage(cpu0);
      const row = {
        model: values.model,
        cpuUsPerCall: Math.round(((cpu.user + cpu.system) / runs) * 10) / 10,
        candidates: n,
        intraOpNumThreads: threads,
        runs,
        warmup,
        ...summariseUs(histogram),
        loadAverage: os.loadavg(),
      };
      histogram.destroy();
      results.push(row);
      console.log(
        `${values.model}: ${n} candidates, ${threads} thread(s): p50 ${row.p50Us} µs, p99 ${row.p99Us} µs, CPU ${row.cpuUsPerCall} µs a call (load ${row.loadAverage[0]!.toFixed(2)})`,
      );
    }
    await ranker.release();
  }

  const outPath = resolve(values.out);
  await mkdir(dirname(outPath), { recursive: true });
  const doc = {
    bench: 'ranking',
    command: `npx tsx bench/ranking.ts ${process.argv.slice(2).join(' ')}`.trim(),
    at: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version },
    loadAverageBefore,
    loadAverageAfter: os.loadavg(),
    model: { dir, modelVersion: manifest.modelVersion, builtForThisRun: built },
    results,
  };
  await writeFile(outPath, `${JSON.stringify(doc, null, 2)}\n`);
  console.log(`wrote ${outPath}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
