/**
 * The ranker tier with and without dynamic batching (seed 000 §2.5, issue 5): throughput and
 * latency of 300-candidate `RemoteRanker.score` calls through the tier process, closed loop at a
 * few concurrencies.
 *
 *   npx tsx bench/ranker-tier.ts [--concurrency 1,4,16] [--seconds 4] [--delay-ms 2]
 *                                [--batch-rows 1200] [--artifacts .reclab/cache/world-…]
 *                                [--out bench/out/ranker-tier.json]
 *
 * Two tier configurations, each its own process (loadtest/ranker-process.ts), 1 ONNX Runtime
 * thread and 1 batch in flight:
 * - `batching`: RECLAB_RANKER_TIER_MAX_BATCH_ROWS = `--batch-rows`, MAX_BATCH_DELAY_MS = `--delay-ms`;
 * - `off`: MAX_BATCH_ROWS = 300 (one request), delay 0: every request is its own batch.
 * At each concurrency C, C workers in this process loop on `score(300 rows)` for `--seconds` after
 * 0.5 s of unmeasured warm-up; each call is timed around `score` (encode, HTTP, queue, inference,
 * decode) into an HdrHistogram in µs. Rows per batch, requests per batch, queue wait and inference
 * time are deltas of the tier's /metrics over the measured window. Input rows are seeded uniform
 * [0, 1) values: the MLP's cost does not depend on them.
 *
 * Model: `ranker.onnx` of `--artifacts`, else the newest .reclab/cache/<dir>/ holding a ranker,
 * published into a temporary registry. Client and tier share the machine's cores (2 here, with
 * other jobs): the JSON records load averages.
 *
 * Output: `bench/out/ranker-tier.json`.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { systemClock } from '../core/adapters/clock/system-clock.ts';
import { RANKER_INPUT_DIM } from '../core/features/schema.ts';
import { latencyHistogramUs, recordSinceUs, summariseUs } from '../core/observability/latency-us.ts';
import { seededRandom } from '../core/random/seeded-random.ts';
import { RemoteRanker } from '../core/ranker-tier/remote-ranker.ts';
import { startRankerTier } from '../loadtest/ranker-process.ts';
import { publishVersion } from '../sim/registry/publish.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CACHE = join(ROOT, '.reclab', 'cache');
const ROWS = 300;
const VERSION = 'bench';

function newestArtifacts(): string | undefined {
  if (!existsSync(CACHE)) return undefined;
  return readdirSync(CACHE)
    .map((d) => join(CACHE, d))
    .filter((d) => existsSync(join(d, 'ranker.onnx')) && existsSync(join(d, 'manifest.json')))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

/** Sums of the tier's batch metrics (all label sets of this version). */
async function scrape(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m =
      /^(reclab_ranker_tier_(?:batch_rows|batch_requests|queue_wait_seconds|inference_seconds)_(?:sum|count))\{[^}]*\} (\S+)$/.exec(
        line,
      );
    if (m) out[m[1]] = (out[m[1]] ?? 0) + Number(m[2]);
  }
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      concurrency: { type: 'string', default: '1,4,16' },
      seconds: { type: 'string', default: '4' },
      'delay-ms': { type: 'string', default: '2' },
      'batch-rows': { type: 'string', default: '1200' },
      artifacts: { type: 'string' },
      out: { type: 'string', default: join(ROOT, 'bench', 'out', 'ranker-tier.json') },
    },
  });
  const levels = values.concurrency.split(',').map(Number);
  const seconds = Number(values.seconds);
  const artifacts = values.artifacts ? resolve(values.artifacts) : newestArtifacts();
  if (!artifacts)
    throw new Error('no artifacts in .reclab/cache: run `npm run reclab -- models build` first');
  const tmp = await mkdtemp(join(os.tmpdir(), 'reclab-bench-ranker-tier-'));
  const registryDir = join(tmp, 'registry');
  await publishVersion({
    registryDir,
    sourceDir: artifacts,
    version: VERSION,
    codeVersion: { package: 'bench', gitCommit: 'bench' },
  });
  const rng = seededRandom(5).stream('bench.ranker-tier.rows');
  const inputs = Array.from({ length: 8 }, () =>
    Float32Array.from({ length: ROWS * RANKER_INPUT_DIM }, () => rng.next()),
  );

  const modes = [
    {
      mode: 'batching',
      env: {
        RECLAB_RANKER_TIER_MAX_BATCH_ROWS: values['batch-rows'],
        RECLAB_RANKER_TIER_MAX_BATCH_DELAY_MS: values['delay-ms'],
      },
    },
    {
      mode: 'off',
      env: { RECLAB_RANKER_TIER_MAX_BATCH_ROWS: String(ROWS), RECLAB_RANKER_TIER_MAX_BATCH_DELAY_MS: '0' },
    },
  ];
  const loadAverageBefore = os.loadavg();
  const results: Record<string, unknown>[] = [];
  for (const { mode, env } of modes) {
    const tier = await startRankerTier(
      {
        ...env,
        RECLAB_RANKER_TIER_REGISTRY_DIR: registryDir,
        RECLAB_RANKER_TIER_PRELOAD: VERSION,
        RECLAB_RANKER_TIER_MAX_IN_FLIGHT_BATCHES: '1',
        RECLAB_RANKER_TIER_ORT_THREADS: '1',
        RECLAB_RANKER_TIER_LOG_LEVEL: 'warn',
      },
      join(tmp, `tier-${mode}.log`),
    );
    const ranker = new RemoteRanker({
      url: tier.url,
      modelVersion: VERSION,
      connections: Math.max(...levels),
      timeoutMs: 5000,
      clock: systemClock,
    });
    try {
      for (const c of levels) {
        const histogram = latencyHistogramUs();
        let measuring = false;
        let running = true;
        let calls = 0;
        let errors = 0;
        const worker = async (w: number) => {
          for (let i = 0; running; i++) {
            const t0 = process.hrtime.bigint();
            try {
              await ranker.score(inputs[(w + i) % inputs.length], ROWS);
              if (measuring) {
                recordSinceUs(histogram, t0);
                calls++;
              }
            } catch {
              if (measuring) errors++;
            }
          }
        };
        const workers = Array.from({ length: c }, (_, w) => worker(w));
        await new Promise((r) => setTimeout(r, 500));
        const before = await scrape(tier.url);
        measuring = true;
        const t0 = performance.now();
        await new Promise((r) => setTimeout(r, seconds * 1000));
        measuring = false;
        const elapsedS = (performance.now() - t0) / 1000;
        const after = await scrape(tier.url);
        running = false;
        await Promise.all(workers);
        const d = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
        const batches = d('reclab_ranker_tier_batch_requests_count');
        const row = {
          mode,
          concurrency: c,
          candidatesPerRequest: ROWS,
          seconds: Number(elapsedS.toFixed(2)),
          requests: calls,
          errors,
          throughputRps: Number((calls / elapsedS).toFixed(1)),
          candidatesPerS: Math.round((calls * ROWS) / elapsedS),
          ...summariseUs(histogram),
          // Tier-side, over the window (approximate edges: a batch straddling them counts once).
          batches,
          requestsPerBatch: Number((d('reclab_ranker_tier_batch_requests_sum') / batches).toFixed(2)),
          rowsPerBatch: Math.round(d('reclab_ranker_tier_batch_rows_sum') / batches),
          queueWaitMeanMs: Number(
            (
              (1000 * d('reclab_ranker_tier_queue_wait_seconds_sum')) /
              d('reclab_ranker_tier_queue_wait_seconds_count')
            ).toFixed(3),
          ),
          inferenceMeanMsPerBatch: Number(
            ((1000 * d('reclab_ranker_tier_inference_seconds_sum')) / batches).toFixed(3),
          ),
          loadAverage: os.loadavg(),
        };
        histogram.destroy();
        results.push(row);
        console.log(
          `${mode.padEnd(8)} c=${String(c).padStart(2)}: ${row.throughputRps} req/s, p50 ${row.p50Us} µs, p99 ${row.p99Us} µs, ` +
            `${row.requestsPerBatch} req/batch, inference ${row.inferenceMeanMsPerBatch} ms/batch, errors ${errors} ` +
            `(load ${row.loadAverage[0]!.toFixed(2)})`,
        );
      }
    } finally {
      await ranker.close();
      await tier.stop();
    }
  }
  await rm(tmp, { recursive: true, force: true });

  const outPath = resolve(values.out);
  await mkdir(dirname(outPath), { recursive: true });
  const doc = {
    bench: 'ranker-tier',
    command: `npx tsx bench/ranker-tier.ts ${process.argv.slice(2).join(' ')}`.trim(),
    at: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version },
    loadAverageBefore,
    loadAverageAfter: os.loadavg(),
    model: { artifacts, rankerInputDim: RANKER_INPUT_DIM },
    tier: {
      maxInFlightBatches: 1,
      ortThreads: 1,
      batching: { maxBatchRows: Number(values['batch-rows']), maxBatchDelayMs: Number(values['delay-ms']) },
      off: { maxBatchRows: ROWS, maxBatchDelayMs: 0 },
    },
    results,
  };
  await writeFile(outPath, `${JSON.stringify(doc, null, 2)}\n`);
  console.log(`wrote ${outPath}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
