/**
 * Benchmark of world generation: wall time and peak RSS of `reclab world generate` per world size,
 * each size in its own child process so its peak RSS is its own (read from the child's
 * `process.resourceUsage().maxRSS`, reported in its world.json, and cross-checked with GNU time's
 * "Maximum resident set size" when /usr/bin/time exists).
 *
 *   npx tsx bench/world-generate.ts [--sizes 100kx100k,100kx1M,1Mx100k,1Mx1M] [--seed 7] [--runs 1]
 *                                   [--out bench/out/world-generate.json]
 *
 * Sizes are `<users>x<videos>` with optional k/M suffixes. With `--runs n`, each size runs n times
 * and the JSON keeps every run plus the best (lowest) time and the highest peak RSS. Targets (issue
 * 3): 1M users × 1M videos under 60 s and 4 GiB peak RSS.
 */

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { machineInfo } from '../reports/machine.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEFAULT_SIZES = '100kx100k,100kx1M,1Mx100k,1Mx1M';
const TARGET = { users: 1_000_000, videos: 1_000_000, maxSeconds: 60, maxPeakRssMiB: 4096 };
const GNU_TIME = '/usr/bin/time';

interface Run {
  users: number;
  videos: number;
  creators: number;
  worldHash: string;
  /** `generateWorld` only, measured inside the child. */
  generateSeconds: number;
  /** `worldHash`, measured inside the child. */
  hashSeconds: number;
  /** The whole child process: Node and tsx start-up, generation, hash, world.json. */
  wallSeconds: number;
  /** Peak RSS of the child, from `process.resourceUsage().maxRSS`. */
  peakRssMiB: number;
  /** Peak RSS of the child as GNU time saw it (absent without /usr/bin/time). */
  gnuTimePeakRssMiB?: number;
  stageSeconds: Record<string, number>;
  arraysMiB: number;
}

function parseCount(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(s);
  if (!m) throw new Error(`bad count '${s}' (want e.g. 100k, 1M, 25000)`);
  const scale = m[2] === '' ? 1 : m[2].toLowerCase() === 'k' ? 1e3 : 1e6;
  return Math.round(Number(m[1]) * scale);
}

function parseSizes(s: string): { users: number; videos: number }[] {
  return s.split(',').map((part) => {
    const [u, v] = part.trim().split('x');
    if (v === undefined) throw new Error(`bad size '${part}' (want <users>x<videos>, e.g. 1Mx100k)`);
    return { users: parseCount(u), videos: parseCount(v) };
  });
}

async function runOnce(users: number, videos: number, seed: number): Promise<Run> {
  const dir = await mkdtemp(join(os.tmpdir(), 'reclab-world-bench-'));
  try {
    const cli = [
      resolve(ROOT, 'bin/reclab.mjs'),
      'world',
      'generate',
      '--users',
      String(users),
      '--videos',
      String(videos),
      '--seed',
      String(seed),
      '--out',
      dir,
    ];
    const withTime = existsSync(GNU_TIME);
    const [cmd, args] = withTime ? [GNU_TIME, ['-v', process.execPath, ...cli]] : [process.execPath, cli];
    const t0 = performance.now();
    const child = spawnSync(cmd, args, {
      cwd: ROOT,
      env: { ...process.env, CI: 'true' }, // one line per stage, no bar
      encoding: 'utf8',
      maxBuffer: 64 * 2 ** 20,
    });
    const wallSeconds = (performance.now() - t0) / 1000;
    if (child.status !== 0) {
      throw new Error(`world generate ${users}x${videos} exited ${child.status}:\n${child.stderr}`);
    }
    const record = JSON.parse(await readFile(join(dir, 'world.json'), 'utf8'));
    const gnu = /Maximum resident set size \(kbytes\): (\d+)/.exec(child.stderr);
    const { generate, hash, ...stageSeconds } = record.timingsS as Record<string, number>;
    return {
      users,
      videos,
      creators: record.config.creators,
      worldHash: record.worldHash,
      generateSeconds: generate,
      hashSeconds: hash,
      wallSeconds: Number(wallSeconds.toFixed(3)),
      peakRssMiB: record.peakRssMiB,
      ...(gnu ? { gnuTimePeakRssMiB: Math.round(Number(gnu[1]) / 1024) } : {}),
      stageSeconds,
      arraysMiB: Math.round(record.sizes.arraysBytes / 2 ** 20),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: DEFAULT_SIZES },
      seed: { type: 'string', default: '7' },
      runs: { type: 'string', default: '1' },
      out: { type: 'string', default: resolve(ROOT, 'bench/out/world-generate.json') },
    },
  });
  const seed = Number(values.seed);
  const runs = Number(values.runs);
  if (!Number.isSafeInteger(seed) || !Number.isInteger(runs) || runs < 1) {
    throw new Error('--seed and --runs must be integers (runs ≥ 1)');
  }
  const sizes = parseSizes(values.sizes);
  const loadAverageBefore = os.loadavg();
  const results = [];
  for (const { users, videos } of sizes) {
    const all: Run[] = [];
    for (let i = 0; i < runs; i++) {
      const r = await runOnce(users, videos, seed);
      all.push(r);
      process.stdout.write(
        `${users}x${videos}: generate ${r.generateSeconds} s, wall ${r.wallSeconds} s, ` +
          `peak RSS ${r.peakRssMiB} MiB${r.gnuTimePeakRssMiB ? ` (GNU time ${r.gnuTimePeakRssMiB} MiB)` : ''}, ` +
          `hash ${r.worldHash.slice(0, 16)}\n`,
      );
    }
    const hashes = new Set(all.map((r) => r.worldHash));
    if (hashes.size !== 1) throw new Error(`${users}x${videos}: runs disagree on the world hash`);
    results.push({
      users,
      videos,
      worldHash: all[0].worldHash,
      bestGenerateSeconds: Math.min(...all.map((r) => r.generateSeconds)),
      bestWallSeconds: Math.min(...all.map((r) => r.wallSeconds)),
      maxPeakRssMiB: Math.max(...all.map((r) => r.peakRssMiB)),
      runs: all,
    });
  }
  const target = results.find((r) => r.users === TARGET.users && r.videos === TARGET.videos);
  const report = {
    benchmark: 'world-generate',
    createdAt: new Date().toISOString(),
    command: `npx tsx bench/world-generate.ts --sizes ${values.sizes} --seed ${seed} --runs ${runs}`,
    seed,
    machine: { ...machineInfo(), loadAverageBefore, loadAverageAfter: os.loadavg() },
    note: 'single-threaded generation; timings vary with other load on the machine (see loadAverage)',
    target: {
      ...TARGET,
      met: target
        ? target.bestWallSeconds < TARGET.maxSeconds && target.maxPeakRssMiB < TARGET.maxPeakRssMiB
        : null,
    },
    results,
  };
  await mkdir(dirname(values.out), { recursive: true });
  await writeFile(values.out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`wrote ${values.out}\n`);
}

await main();
