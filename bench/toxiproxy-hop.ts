/**
 * What the Toxiproxy hop costs a Redis GET with no fault active (docs/faults.md): the same Redis
 * container reached directly (its published port) and through Toxiproxy (loadtest/infra/toxiproxy.ts,
 * a proxy on 127.0.0.1 forwarding to that port).
 *
 *   npx tsx bench/toxiproxy-hop.ts [--requests 20000] [--warmup 2000] [--blocks 10] [--out bench/out/toxiproxy-hop.json]
 *
 * 1. A small loop: one ioredis client per path, sequential `GET` of a 200-byte value (a video
 *    record's size), paths alternating in `--blocks` blocks so both see the same machine load;
 *    wall time per GET (µs), percentiles over all measured GETs of each path.
 * 2. redis-benchmark (when installed): `-t get -d 200 -n <requests> -c 1` (latency of one
 *    connection, as the loop) and `-c 50` (throughput: how far the proxy's own CPU limits it), each
 *    path, `--csv`.
 * Output: bench/out/toxiproxy-hop.json with the machine, load averages and the commands. Run it
 * under the machine's load lock (`flock /work/.load.lock npx tsx bench/toxiproxy-hop.ts`).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { proxyRedis } from '../loadtest/infra/network-proxies.ts';
import { startRedis } from '../loadtest/infra/redis.ts';
import { startToxiproxy } from '../loadtest/infra/toxiproxy.ts';

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '20000' },
    warmup: { type: 'string', default: '2000' },
    blocks: { type: 'string', default: '10' },
    out: { type: 'string', default: 'bench/out/toxiproxy-hop.json' },
  },
});
const REQUESTS = Number(args.requests);
const WARMUP = Number(args.warmup);
const BLOCKS = Number(args.blocks);
const loadAvg = () => os.loadavg().map((x) => Math.round(x * 100) / 100);

function percentiles(us: number[]) {
  const s = [...us].sort((a, b) => a - b);
  const at = (q: number) => Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))] * 10) / 10;
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return {
    n: s.length,
    mean: Math.round(mean * 10) / 10,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: at(1),
  };
}

async function timedGets(client: Redis, n: number, out: number[] | undefined): Promise<void> {
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await client.getBuffer('bench:hop');
    if (out) out.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
}

/** redis-benchmark's CSV row for GET: rps and latency columns in ms. */
function redisBenchmark(
  port: number,
  clients: number,
): { command: string; row: Record<string, number> } | null {
  const argv = ['-h', '127.0.0.1', '-p', String(port), '-t', 'get', '-d', '200', '-n', String(REQUESTS)];
  argv.push('-c', String(clients), '--csv');
  try {
    const csv = execFileSync('redis-benchmark', argv, { encoding: 'utf8' }).trim().split('\n');
    const header = csv[0].split(',').map((h) => h.replaceAll('"', ''));
    const cells = csv[1].split(',').map((c) => c.replaceAll('"', ''));
    const row = Object.fromEntries(header.slice(1).map((h, i) => [h, Number(cells[i + 1])]));
    return { command: `redis-benchmark ${argv.join(' ')}`, row };
  } catch {
    return null;
  }
}

const redis = await startRedis();
const toxiproxy = await startToxiproxy();
try {
  const proxied = await proxyRedis(toxiproxy, redis);
  const direct = new Redis({ host: '127.0.0.1', port: redis.port });
  const viaProxy = new Redis({ host: proxied.host, port: proxied.port });
  await direct.set('bench:hop', Buffer.alloc(200, 7));
  const before = loadAvg();
  await timedGets(direct, WARMUP, undefined);
  await timedGets(viaProxy, WARMUP, undefined);
  const us = { direct: [] as number[], proxy: [] as number[] };
  const perBlock = Math.ceil(REQUESTS / BLOCKS);
  for (let b = 0; b < BLOCKS; b++) {
    // Alternate which path goes first, so neither always follows the other.
    const order = b % 2 === 0 ? (['direct', 'proxy'] as const) : (['proxy', 'direct'] as const);
    for (const path of order) await timedGets(path === 'direct' ? direct : viaProxy, perBlock, us[path]);
  }
  direct.disconnect();
  viaProxy.disconnect();
  const loop = { direct: percentiles(us.direct), proxy: percentiles(us.proxy) };
  const addedUs = {
    p50: Math.round((loop.proxy.p50 - loop.direct.p50) * 10) / 10,
    p99: Math.round((loop.proxy.p99 - loop.direct.p99) * 10) / 10,
    mean: Math.round((loop.proxy.mean - loop.direct.mean) * 10) / 10,
  };
  const bench = {
    oneClient: { direct: redisBenchmark(redis.port, 1), proxy: redisBenchmark(proxied.port, 1) },
    fiftyClients: { direct: redisBenchmark(redis.port, 50), proxy: redisBenchmark(proxied.port, 50) },
  };
  const result = {
    benchmark: 'toxiproxy-hop',
    toxiproxyVersion: toxiproxy.version,
    requests: REQUESTS,
    warmup: WARMUP,
    valueBytes: 200,
    loopUs: loop,
    addedByProxyUs: addedUs,
    redisBenchmark: bench,
    machine: { cpus: os.cpus().length, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    loadAvg: { before, after: loadAvg() },
    command: `npx tsx bench/toxiproxy-hop.ts ${process.argv.slice(2).join(' ')}`.trim(),
  };
  await mkdir(dirname(args.out), { recursive: true });
  await writeFile(args.out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(
    `GET µs p50/p99: direct ${loop.direct.p50}/${loop.direct.p99}, proxy ${loop.proxy.p50}/${loop.proxy.p99}; added p50 ${addedUs.p50} µs, p99 ${addedUs.p99} µs`,
  );
  for (const [name, b] of Object.entries(bench)) {
    console.log(
      `redis-benchmark ${name}: direct ${b.direct?.row.rps ?? '-'} rps p50 ${b.direct?.row.p50_latency_ms ?? '-'} ms; ` +
        `proxy ${b.proxy?.row.rps ?? '-'} rps p50 ${b.proxy?.row.p50_latency_ms ?? '-'} ms`,
    );
  }
  console.log(`wrote ${args.out}`);
} finally {
  await toxiproxy.stop();
  await redis.stop();
}
