/**
 * Benchmark for issue 3: "Loading that world (1M users × 1M videos) into Redis reaches at least 50% of
 * redis-benchmark's pipelined SET throughput measured in the same run."
 *
 * One run, one Redis per target. Each repetition measures, back to back against the same Redis:
 *  (a) `redis-benchmark -t set -P <pipeline> -c <clients>`: one call with `-d 80 -n <users>` (user
 *      record size and count) and one with `-d 24 -n <videos>` (video records), so the reference
 *      writes the same number of values of the same sizes as the load; its rate is the total
 *      requests ÷ the total time of both calls. `--pipeline 16,256` measures several depths: the
 *      first is the acceptance reference, the others show how the ratio moves with the choice;
 *  (b) `loadIntoRedis` of the world's records (sim/loader/redis-loader.ts; records only, with
 *      `subscriptions: false`, so the figure stays comparable with SET throughput), timed around the call
 *      only: generating the world, its history and its records happens once, before any timing.
 * `FLUSHALL SYNC` precedes each measurement so both start from an empty database and neither pays
 * for the other's keys. The order of (a) and (b) alternates between repetitions so slow drift in the
 * background load (the machine is shared) does not always favour the same side. Reported: the
 * median of each rate and the median of the per-repetition ratios; pass ⇔ median ratio ≥ 0.5 at the
 * first pipeline depth.
 *
 * Why `-P 16 -c 50` as the reference: `-P 16` is the depth of Redis's own pipelined redis-benchmark
 * example (redis.io, "Redis benchmark", pipelining) and `-c 50` is redis-benchmark's default — the
 * usual meaning of "redis-benchmark's pipelined SET throughput". It is not a ceiling: deeper
 * pipelines raise it further (on this lab's machine about +25–50% at -P 64, 1.4–2× at -P 256),
 * hence the default second depth 256, reported alongside.
 *
 * Run: `npx tsx bench/redis-load.ts [--users 1000000] [--videos 1000000] [--seed 7] [--repeats 3]
 *   [--target container|host|container,host] [--pipeline 16,256] [--clients 50] [--sessions 200000]`
 * Writes bench/out/redis-load.json (or `--out <file>`). Exit code 0 when every target passes, 3 when
 * a target misses the ratio (a budget breached, docs/exit-codes), 1 on a crash.
 *
 * Targets: `container` is Redis in a container started with Testcontainers (loadtest/infra/redis.ts,
 * image localhost/reclab-redis:7 — the "real parts" a load run uses; podman publishes its port
 * through DNAT and a bridge, which costs both measurements alike); `host` is Debian's redis-server
 * started by this script on 127.0.0.1 with persistence off (the same binary the image holds).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { Redis } from 'ioredis';
import { NUM_REGIONS, USER_RECORD_LEN, VIDEO_RECORD_LEN } from '../core/features/schema.ts';
import { configureContainerEngine } from '../loadtest/infra/container-engine.ts';
import { startRedis } from '../loadtest/infra/redis.ts';
import { DEFAULT_BATCH_KEYS, DEFAULT_MAX_IN_FLIGHT, loadIntoRedis } from '../sim/loader/redis-loader.ts';
import { userRecords, videoRecords } from '../sim/models/records.ts';
import { historySlice, simulateLogs } from '../sim/models/simulate-logs.ts';
import { generateWorld, worldHash } from '../sim/world/index.ts';

const execFileP = promisify(execFile);
const TARGET_RATIO = 0.5;
/** Bytes per user / video record value (Float32 fields). */
const USER_VALUE_BYTES = USER_RECORD_LEN * 4;
const VIDEO_VALUE_BYTES = VIDEO_RECORD_LEN * 4;
/**
 * redis-benchmark draws keys `key:<12 digits>` uniformly from `-r`: 100 × n makes ~99.5% of them
 * distinct, i.e. nearly every SET creates a key, as every SET of the load does.
 */
const KEYSPACE_PER_REQUEST = 100;

type TargetKind = 'container' | 'host';

interface Target {
  kind: TargetKind;
  host: string;
  port: number;
  description: string;
  stop(): Promise<void>;
}

interface BenchCall {
  command: string;
  pipeline: number;
  requests: number;
  valueBytes: number;
  rps: number;
  seconds: number;
}

interface BenchResult {
  calls: BenchCall[];
  setsPerSecond: number;
  /** Redis's CPU (INFO cpu, user + sys) per SET, in µs. */
  serverCpuMicrosPerKey: number;
}

interface Repetition {
  order: 'benchmark-first' | 'load-first';
  /** At the first (reference) pipeline depth. */
  benchmark: BenchResult;
  /** Every depth measured, by depth: SET/s and our ratio to it. */
  byPipeline: Record<number, BenchResult & { ratio: number }>;
  load: {
    keys: number;
    seconds: number;
    keysPerSecond: number;
    dbsize: number;
    usedMemoryBytes: number;
    /** Redis's own CPU (INFO cpu, user + sys) per key written, in µs: independent of scheduling noise. */
    serverCpuMicrosPerKey: number;
  };
  ratio: number;
  loadAvgBefore: number[];
  loadAvgAfter: number[];
}

const { values: args } = parseArgs({
  options: {
    users: { type: 'string', default: '1000000' },
    videos: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '7' },
    sessions: { type: 'string', default: '200000' },
    repeats: { type: 'string', default: '3' },
    target: { type: 'string', default: 'container' },
    pipeline: { type: 'string', default: '16,256' },
    clients: { type: 'string', default: '50' },
    'batch-keys': { type: 'string' },
    'max-in-flight': { type: 'string' },
    out: { type: 'string' },
  },
});

function intArg(name: keyof typeof args, min: number): number {
  const raw = args[name];
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer ≥ ${min} (got ${JSON.stringify(raw)})`);
    process.exit(2);
  }
  return n;
}

const users = intArg('users', 1);
const videos = intArg('videos', 1);
const seed = intArg('seed', 0);
const sessions = intArg('sessions', 100);
const repeats = intArg('repeats', 1);
const pipelines = String(args.pipeline)
  .split(',')
  .map((p) => Number(p.trim()));
if (pipelines.some((p) => !Number.isInteger(p) || p < 1)) {
  console.error(`--pipeline takes integers ≥ 1, comma-separated (got ${JSON.stringify(args.pipeline)})`);
  process.exit(2);
}
const pipeline = pipelines[0];
const clients = intArg('clients', 1);
const batchKeys = args['batch-keys'] === undefined ? DEFAULT_BATCH_KEYS : intArg('batch-keys', 1);
const maxInFlight = args['max-in-flight'] === undefined ? DEFAULT_MAX_IN_FLIGHT : intArg('max-in-flight', 1);
const targets = String(args.target)
  .split(',')
  .map((t) => t.trim());
for (const t of targets) {
  if (t !== 'container' && t !== 'host') {
    console.error(`--target takes container, host or both comma-separated (got ${JSON.stringify(t)})`);
    process.exit(2);
  }
}
const here = dirname(fileURLToPath(import.meta.url));
const outPath = args.out ?? join(here, 'out', 'redis-load.json');

const log = (line: string) => console.log(`[redis-load] ${line}`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const loadAvg = () => os.loadavg().map((x) => Math.round(x * 100) / 100);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPing(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const c = new Redis({
      host,
      port,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    c.on('error', () => {});
    try {
      await c.connect();
      if ((await c.ping()) === 'PONG') return;
    } catch (err) {
      if (performance.now() > deadline) throw err;
    } finally {
      c.disconnect();
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function startTarget(kind: TargetKind): Promise<Target> {
  if (kind === 'container') {
    const started = await startRedis();
    // redis-benchmark and the loader dial the same IPv4 address (podman publishes on 0.0.0.0; "localhost"
    // might resolve to ::1 for one client and 127.0.0.1 for the other).
    const host = started.host === 'localhost' ? '127.0.0.1' : started.host;
    const image = process.env.RECLAB_REDIS_IMAGE ?? 'localhost/reclab-redis:7';
    return {
      kind,
      host,
      port: started.port,
      description:
        `container ${image} started with Testcontainers (loadtest/infra/redis.ts startRedis) on ` +
        `${process.env.DOCKER_HOST ?? 'the default Docker socket'}; clients dial the published port ` +
        `${host}:${started.port} (podman: DNAT + bridge to the container)`,
      stop: () => started.stop(),
    };
  }
  const port = await freePort();
  const child = spawn(
    'redis-server',
    [
      '--bind',
      '127.0.0.1',
      '--port',
      String(port),
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'no',
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitForPing('127.0.0.1', port, 10_000);
  return {
    kind,
    host: '127.0.0.1',
    port,
    description: `host redis-server (pid ${child.pid}) started by the bench on 127.0.0.1:${port}, --save '' --appendonly no`,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function redisBenchmark(
  host: string,
  port: number,
  depth: number,
  requests: number,
  valueBytes: number,
): Promise<BenchCall> {
  const argv = [
    '-h',
    host,
    '-p',
    String(port),
    '-t',
    'set',
    '-P',
    String(depth),
    '-c',
    String(clients),
    '-n',
    String(requests),
    '-d',
    String(valueBytes),
    '-r',
    String(requests * KEYSPACE_PER_REQUEST),
    '-q',
    '--csv',
  ];
  const { stdout } = await execFileP('redis-benchmark', argv, { maxBuffer: 1 << 20 });
  const row = stdout
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.startsWith('"SET"'));
  const rps = row ? Number(row.split(',')[1].replace(/"/g, '')) : Number.NaN;
  if (!Number.isFinite(rps) || rps <= 0)
    throw new Error(`could not parse redis-benchmark output:\n${stdout}`);
  return {
    command: `redis-benchmark ${argv.join(' ')}`,
    pipeline: depth,
    requests,
    valueBytes,
    rps,
    // redis-benchmark's own clock (requests ÷ rps), not our wall time, which adds its start-up.
    seconds: requests / rps,
  };
}

async function info(client: Redis, section: string): Promise<Record<string, string>> {
  const text = await client.info(section);
  const out: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** Redis's CPU time so far (INFO cpu: used_cpu_user + used_cpu_sys), in seconds. */
async function serverCpuSeconds(client: Redis): Promise<number> {
  const cpu = await info(client, 'cpu');
  return Number(cpu.used_cpu_user) + Number(cpu.used_cpu_sys);
}

async function main(): Promise<number> {
  const engine = configureContainerEngine(process.env);
  const loadAvgAtStart = loadAvg();
  log(`load average at start: ${loadAvgAtStart.join(' ')} (${os.cpus().length} cores)`);

  let t0 = performance.now();
  const world = generateWorld({ seed, users, videos });
  const hash = worldHash(world);
  const generateSeconds = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const history = historySlice(simulateLogs(world, { sessions, seed }));
  const records = { userRecords: userRecords(world, history), videoRecords: videoRecords(world, history) };
  const recordsSeconds = (performance.now() - t0) / 1000;
  log(
    `world ${users} × ${videos} (seed ${seed}) in ${generateSeconds.toFixed(1)} s; ` +
      `records from ${sessions} history sessions in ${recordsSeconds.toFixed(1)} s (not timed below)`,
  );

  const results = [];
  for (const kind of targets as TargetKind[]) {
    const target = await startTarget(kind);
    const admin = new Redis({ host: target.host, port: target.port, maxRetriesPerRequest: 1 });
    const loader = new Redis({ host: target.host, port: target.port, maxRetriesPerRequest: 1 });
    try {
      const server = await info(admin, 'server');
      log(`${kind}: Redis ${server.redis_version} at ${target.host}:${target.port}`);
      const reps: Repetition[] = [];
      for (let rep = 0; rep < repeats; rep++) {
        const order = rep % 2 === 0 ? 'benchmark-first' : 'load-first';
        const loadAvgBefore = loadAvg();
        const runBenchmark = async () => {
          const out: BenchResult[] = [];
          for (const depth of pipelines) {
            await admin.call('FLUSHALL', 'SYNC');
            const cpu0 = await serverCpuSeconds(admin);
            const calls = [
              await redisBenchmark(target.host, target.port, depth, users, USER_VALUE_BYTES),
              await redisBenchmark(target.host, target.port, depth, videos, VIDEO_VALUE_BYTES),
            ];
            const total = calls.reduce((sum, c) => sum + c.requests, 0);
            const seconds = calls.reduce((sum, c) => sum + c.seconds, 0);
            const cpu = (await serverCpuSeconds(admin)) - cpu0;
            out.push({ calls, setsPerSecond: total / seconds, serverCpuMicrosPerKey: (cpu * 1e6) / total });
          }
          return out;
        };
        const runLoad = async () => {
          await admin.call('FLUSHALL', 'SYNC');
          const cpu0 = await serverCpuSeconds(admin);
          const r = await loadIntoRedis(loader, world, records, {
            worldHash: hash,
            batchKeys,
            maxInFlight,
            subscriptions: false,
          });
          const cpu = (await serverCpuSeconds(admin)) - cpu0;
          const dbsize = await admin.dbsize();
          const mem = await info(admin, 'memory');
          return {
            keys: r.keys,
            seconds: r.seconds,
            keysPerSecond: r.keys / r.seconds,
            dbsize,
            usedMemoryBytes: Number(mem.used_memory),
            serverCpuMicrosPerKey: (cpu * 1e6) / r.keys,
          };
        };
        let benchmarks: Repetition['benchmark'][];
        let load: Repetition['load'];
        if (order === 'benchmark-first') {
          benchmarks = await runBenchmark();
          load = await runLoad();
        } else {
          load = await runLoad();
          benchmarks = await runBenchmark();
        }
        const benchmark = benchmarks[0];
        const expectedKeys = users + videos + 1 + NUM_REGIONS + 1;
        if (load.dbsize !== expectedKeys || load.keys !== expectedKeys) {
          throw new Error(`load wrote ${load.keys} keys, DBSIZE ${load.dbsize}; expected ${expectedKeys}`);
        }
        const ratio = load.keysPerSecond / benchmark.setsPerSecond;
        const byPipeline: Repetition['byPipeline'] = {};
        pipelines.forEach((depth, i) => {
          byPipeline[depth] = { ...benchmarks[i], ratio: load.keysPerSecond / benchmarks[i].setsPerSecond };
        });
        reps.push({ order, benchmark, byPipeline, load, ratio, loadAvgBefore, loadAvgAfter: loadAvg() });
        const refs = pipelines.map(
          (depth, i) =>
            `-P ${depth}: ${Math.round(benchmarks[i].setsPerSecond)} SET/s (` +
            `${benchmarks[i].calls.map((c) => `-d ${c.valueBytes}: ${Math.round(c.rps)}`).join(', ')})`,
        );
        log(
          `${kind} #${rep + 1} (${order}): redis-benchmark ${refs.join('; ')}; ` +
            `load ${Math.round(load.keysPerSecond)} keys/s (${load.keys} keys in ${load.seconds.toFixed(2)} s), ` +
            `ratio ${ratio.toFixed(3)}` +
            pipelines
              .slice(1)
              .map((d) => ` (${byPipeline[d].ratio.toFixed(3)} vs -P ${d})`)
              .join('') +
            `; Redis CPU µs/key: load ${load.serverCpuMicrosPerKey.toFixed(2)}, ` +
            `-P ${pipeline} ${benchmark.serverCpuMicrosPerKey.toFixed(2)}; load avg ${loadAvg().join(' ')}`,
        );
      }
      await admin.call('FLUSHALL', 'SYNC');
      const ratio = median(reps.map((r) => r.ratio));
      results.push({
        target: kind,
        redis: {
          version: server.redis_version,
          description: target.description,
          host: target.host,
          port: target.port,
        },
        redisBenchmarkSetsPerSecond: median(reps.map((r) => r.benchmark.setsPerSecond)),
        loadKeysPerSecond: median(reps.map((r) => r.load.keysPerSecond)),
        ratio,
        serverCpuMicrosPerKey: {
          load: median(reps.map((r) => r.load.serverCpuMicrosPerKey)),
          redisBenchmark: median(reps.map((r) => r.benchmark.serverCpuMicrosPerKey)),
        },
        byPipeline: Object.fromEntries(
          pipelines.map((d) => [
            d,
            {
              redisBenchmarkSetsPerSecond: median(reps.map((r) => r.byPipeline[d].setsPerSecond)),
              ratio: median(reps.map((r) => r.byPipeline[d].ratio)),
              serverCpuMicrosPerKey: median(reps.map((r) => r.byPipeline[d].serverCpuMicrosPerKey)),
            },
          ]),
        ),
        pass: ratio >= TARGET_RATIO,
        repetitions: reps,
      });
    } finally {
      admin.disconnect();
      loader.disconnect();
      await target.stop();
    }
  }

  const rbVersion = (await execFileP('redis-benchmark', ['--version'])).stdout.trim();
  const cpus = os.cpus();
  const report = {
    benchmark: 'redis-load',
    issue: 3,
    generatedAt: new Date().toISOString(),
    target: TARGET_RATIO,
    pass: results.every((r) => r.pass),
    summary: results.map((r) => ({
      target: r.target,
      redisBenchmarkSetsPerSecond: Math.round(r.redisBenchmarkSetsPerSecond),
      loadKeysPerSecond: Math.round(r.loadKeysPerSecond),
      ratio: Math.round(r.ratio * 1000) / 1000,
      pass: r.pass,
      serverCpuMicrosPerKey: r.serverCpuMicrosPerKey,
      byPipeline: r.byPipeline,
    })),
    method:
      'per repetition, back to back on one Redis: FLUSHALL SYNC; redis-benchmark SET with the users count at ' +
      'the user record size and the videos count at the video record size (rate = total requests / total ' +
      'time); FLUSHALL SYNC; loadIntoRedis timed around the call (world, history and records generated ' +
      'once before). Order alternates per repetition. Medians over repetitions; ratio = median of ' +
      'per-repetition ratios.',
    world: {
      seed,
      users,
      videos,
      historySessions: sessions,
      worldHash: hash,
      generateSeconds,
      recordsSeconds,
    },
    keys: {
      userRecords: users,
      videoRecords: videos,
      popularitySets: 1 + NUM_REGIONS,
      meta: 1,
      total: users + videos + 1 + NUM_REGIONS + 1,
    },
    valueBytes: { user: USER_VALUE_BYTES, video: VIDEO_VALUE_BYTES },
    redisBenchmark: {
      version: rbVersion,
      pipeline,
      pipelinesMeasured: pipelines,
      clients,
      keyspace: `-r = ${KEYSPACE_PER_REQUEST} × -n (keys nearly all distinct)`,
      commands: results[0]?.repetitions[0]
        ? Object.values(results[0].repetitions[0].byPipeline).flatMap((b) => b.calls.map((c) => c.command))
        : [],
      why:
        `-P ${pipeline} -c ${clients} is the acceptance reference: the pipeline depth of Redis's own ` +
        `pipelined redis-benchmark example and redis-benchmark's default client count. Deeper ` +
        `pipelines raise redis-benchmark's rate further, so the other depths are reported too.`,
    },
    loader: {
      connections: 1,
      batchKeys,
      maxInFlight,
      command: 'MSET of batchKeys key/value pairs per command, at most maxInFlight commands awaiting replies',
    },
    machine: {
      cpuModel: cpus[0]?.model,
      cores: cpus.length,
      memoryBytes: os.totalmem(),
      kernel: `${os.type()} ${os.release()}`,
      node: process.version,
      loadAvgAtStart,
      loadAvgAtEnd: loadAvg(),
      conditions:
        'shared 2-core machine: other jobs may run concurrently; see loadAvg per repetition. redis-server, ' +
        'redis-benchmark (single-threaded) and the Node loader each want one core.',
    },
    containerEngine: engine,
    results,
  };
  await mkdir(dirname(outPath), { recursive: true });
  await writeFile(outPath, `${JSON.stringify(report, null, 2)}\n`);
  for (const s of report.summary) {
    log(
      `${s.target}: load ${s.loadKeysPerSecond} keys/s vs redis-benchmark ${s.redisBenchmarkSetsPerSecond} SET/s ` +
        `→ ratio ${s.ratio} (target ≥ ${TARGET_RATIO}): ${s.pass ? 'PASS' : 'FAIL'}`,
    );
  }
  log(`wrote ${outPath}`);
  return report.pass ? 0 : 3;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
