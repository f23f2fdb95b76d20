/**
 * Response serialisation of POST /v1/recommendations (issue 16: "Fastify's response schemas also
 * serialise faster: measure it"): the serializer Fastify compiles from the route's response schema
 * (fast-json-stringify over core/http/route-schemas.ts's `recommendationResponse`) against
 * JSON.stringify, on the same objects, after checking that both give the same bytes.
 *
 *   npx tsx bench/serialization.ts [--items 30] [--iterations 50000] [--runs 5] [--out bench/out/serialization.json]
 *
 * The objects are pages as the pipeline builds them (core/pipeline/recommend.ts): `--items` items
 * (`v_<index>` ids, scores rounded to 4 decimals, a source, two exploration slots), every stage's
 * timing in ms, one reason, two experiment layers; 64 of them, generated from a seed, cycled.
 * Each run times `--iterations` calls of each serializer, alternating which goes first; the JSON
 * holds every run's ns per call and the median, the machine and the load average.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import { recommendationResponse } from '../core/http/route-schemas.ts';
import type { RecommendResult } from '../core/pipeline/recommend.ts';
import { seededRandom } from '../core/random/seeded-random.ts';

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '30' },
    iterations: { type: 'string', default: '50000' },
    runs: { type: 'string', default: '5' },
    out: { type: 'string', default: 'bench/out/serialization.json' },
  },
});
const ITEMS = Number(values.items);
const ITERATIONS = Number(values.iterations);
const RUNS = Number(values.runs);

const rng = seededRandom(16).stream('bench.serialization');
const SOURCES = ['two_tower', 'content', 'popularity', 'trending', 'subscriptions'];
const STAGES = ['user', 'encoder', 'retrieval', 'merge', 'enrichment', 'ranking', 'reranking'];

function page(i: number): RecommendResult {
  const timings: Record<string, number> = {};
  for (const s of STAGES) timings[s] = Math.round(rng.next() * 20_000) / 1000;
  timings.total = Math.round(rng.next() * 60_000) / 1000;
  return {
    items: Array.from({ length: ITEMS }, (_, k) => ({
      video_id: `v_${Math.floor(rng.next() * 1_000_000)}`,
      score: Math.round(rng.next() * 1e4) / 1e4,
      source: SOURCES[k % SOURCES.length],
      ...(k === 7 || k === 19 ? { exploration: true as const } : {}),
    })),
    meta: {
      impression_id: `imp_${i}_${Math.floor(rng.next() * 2 ** 32).toString(16)}`,
      rung: 'full',
      reasons: [{ stage: 'retrieval.trending', code: 'RECLAB_ERR_RETRIEVAL_TIMEOUT' }],
      timings_ms: timings,
      model_version: 'm-7-2aacac28d4d5',
      experiment: { id: 'ranker_v2', variant: 'treatment' },
      experiments: [
        { id: 'ranker_v2', variant: 'treatment' },
        { id: 'weights', variant: 'control' },
      ],
      candidates: { retrieved: 812, ranked: 300 },
    },
  };
}

/** The function Fastify compiled for the route's 200 schema (what it calls for every response). */
async function fastifySerializer(): Promise<(o: unknown) => string> {
  const app = Fastify();
  let fn: ((o: unknown) => string) | undefined;
  app.get('/', { schema: { response: { 200: recommendationResponse } } }, async (_req, reply) => {
    fn = reply.getSerializationFunction('200') as (o: unknown) => string;
    return page(0);
  });
  await app.inject({ method: 'GET', url: '/' });
  await app.close();
  if (!fn) throw new Error('no serializer compiled');
  return fn;
}

function nsPerCall(fn: (o: unknown) => string, pages: RecommendResult[]): number {
  let bytes = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) bytes += fn(pages[i % pages.length]).length;
  const ns = Number(process.hrtime.bigint() - t0) / ITERATIONS;
  if (bytes === 0) throw new Error('unreachable');
  return ns;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const pages = Array.from({ length: 64 }, (_, i) => page(i));
  const schema = await fastifySerializer();
  const stringify = (o: unknown) => JSON.stringify(o);
  for (const p of pages) {
    if (schema(p) !== stringify(p)) throw new Error('the two serializers give different bytes');
  }
  const load = { before: os.loadavg() };
  // Warm-up: both JIT-compiled before the timed runs.
  nsPerCall(schema, pages);
  nsPerCall(stringify, pages);
  const runs: { schemaNs: number; stringifyNs: number }[] = [];
  for (let r = 0; r < RUNS; r++) {
    const first = r % 2 === 0;
    const a = first ? nsPerCall(schema, pages) : nsPerCall(stringify, pages);
    const b = first ? nsPerCall(stringify, pages) : nsPerCall(schema, pages);
    runs.push(first ? { schemaNs: a, stringifyNs: b } : { schemaNs: b, stringifyNs: a });
  }
  const result = {
    command: `npx tsx bench/serialization.ts --items ${ITEMS} --iterations ${ITERATIONS} --runs ${RUNS}`,
    items: ITEMS,
    bytes: Buffer.byteLength(stringify(pages[0])),
    identicalBytes: true,
    medianNs: {
      responseSchema: Math.round(median(runs.map((x) => x.schemaNs))),
      jsonStringify: Math.round(median(runs.map((x) => x.stringifyNs))),
    },
    runs: runs.map((x) => ({ schemaNs: Math.round(x.schemaNs), stringifyNs: Math.round(x.stringifyNs) })),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version },
    loadAverage: { ...load, after: os.loadavg() },
  };
  const outPath = resolve(values.out);
  await mkdir(dirname(outPath), { recursive: true });
  await writeFile(outPath, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(
    `${ITEMS} items, ${result.bytes} bytes: response schema ${(result.medianNs.responseSchema / 1000).toFixed(2)} µs, ` +
      `JSON.stringify ${(result.medianNs.jsonStringify / 1000).toFixed(2)} µs a response (median of ${RUNS} runs × ${ITERATIONS})\n${outPath}\n`,
  );
}

await main();
