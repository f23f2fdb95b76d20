/**
 * The reclab CLI. Reads process.env and argv here and passes them in; commands are testable.
 * Exit codes (docs/exit-codes.md): 0 pass, 1 crash, 2 invalid usage/config, 3 budget breached,
 * 4 invariant violated or data lost.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { ensureLabGc } from '../loadtest/lab-gc.ts';
import type { FleetSpec } from '../sim/fleet/fleet-spec.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function intArg(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return n;
  };
}

/**
 * Exits 2 when `process.env` has a `RECLAB_*` variable that is not the core's, the ranker tier's
 * or the lab's (a typo must not be dropped silently: the services get only their own variables).
 */
async function refuseUnknownVariables(): Promise<void> {
  const { unknownReclabVariables } = await import('../loadtest/lab-env.ts');
  const unknown = unknownReclabVariables(process.env);
  if (unknown.length === 0) return;
  process.stderr.write(
    `reclab: unknown variable(s): ${unknown.join(', ')} (docs/configuration.md lists every variable)\n`,
  );
  process.exit(2);
}

// The commands that drive live load run with the lab's GC flags (loadtest/lab-gc.ts): the runner's
// collections must not take the CPU of the core it measures. Re-runs this process when needed.
// A static import: the load generator's image holds the CLI's static import closure (images/loadgen).
if (['run', 'calibrate', 'load'].includes(process.argv[2] ?? '')) await ensureLabGc();

const program = new Command()
  .name('reclab')
  .description('Simulation-first test harness and load-testing lab for a video recommendation serving core')
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

program
  .command('run')
  .description(
    'run a scenario live: real Redis, Kafka, FAISS, ONNX Runtime; open-model load; faults; budgets checked',
  )
  .argument('<scenario>', 'scenario name (see `reclab scenarios`) or a scenario file path')
  .option(
    '--seed <n>',
    'seed of the world, the models, the arrivals and the request stream',
    intArg('seed'),
    7,
  )
  .option('--rate-scale <x>', "multiply every phase's arrival rates", positiveNumberArg('rate-scale'))
  .option(
    '--duration-scale <x>',
    "multiply every measured phase's duration, process times and fault windows",
    positiveNumberArg('duration-scale'),
  )
  .option(
    '--rate <qps>',
    'instead of --rate-scale: scale the rates so the busiest measured phase peaks at this rate (requests/s)',
    positiveNumberArg('rate'),
  )
  .option(
    '--duration <s>',
    'instead of --duration-scale: every measured phase lasts this long (seconds)',
    positiveNumberArg('duration'),
  )
  .option(
    '--target <url>',
    'drive this already running core (e.g. staging) instead of starting one; faults needing the infrastructure are skipped',
  )
  .option('--users <n>', 'world size: users', intArg('users'))
  .option('--videos <n>', 'world size: videos', intArg('videos'))
  .option(
    '--infra <mode>',
    'testcontainers (default) or external (REDIS_URL, KAFKA_BROKERS)',
    'testcontainers',
  )
  .option(
    '--load-instances <n>',
    'drive the load from n `reclab load --segment i/n` processes, merged from histograms (docs/distributed-load.md)',
    intArg('load-instances'),
    1,
  )
  .option(
    '--driver <name>',
    'open-model (reclab’s own, default), vegeta (constant-rate phases only), or paired: both at once, each half the slots, each half reported',
    'open-model',
  )
  .option(
    '--pin-core',
    'the core process alone on the last CPU, everything else the run started on the others (Linux, ≥ 2 CPUs, taskset)',
  )
  .option('--out <dir>', 'reports root', resolve(ROOT, 'reports/out'))
  .action(async (arg: string, o) => {
    if (o.driver !== 'open-model' && o.driver !== 'vegeta' && o.driver !== 'paired') {
      process.stderr.write('--driver must be open-model, vegeta or paired\n');
      process.exit(2);
    }
    if (o.loadInstances < 1 || (o.loadInstances > 1 && o.driver !== 'open-model')) {
      process.stderr.write('--load-instances must be ≥ 1, and works with the open-model driver only\n');
      process.exit(2);
    }
    if (o.infra !== 'testcontainers' && o.infra !== 'external') {
      process.stderr.write(`--infra must be testcontainers or external\n`);
      process.exit(2);
    }
    if (o.target !== undefined && !/^https?:\/\/[^/\s]+/.test(o.target)) {
      process.stderr.write(`--target must be an http(s) URL, e.g. http://127.0.0.1:8080\n`);
      process.exit(2);
    }
    const { loadScenario } = await import('../scenarios/load.ts');
    let scenario: Awaited<ReturnType<typeof loadScenario>>;
    try {
      scenario = await loadScenario(arg);
    } catch (err) {
      process.stderr.write(`${(err as Error).message}\n`);
      process.exit(2);
    }
    if (
      (o.rate !== undefined && o.rateScale !== undefined) ||
      (o.duration !== undefined && o.durationScale !== undefined)
    ) {
      process.stderr.write('give --rate or --rate-scale, --duration or --duration-scale, not both\n');
      process.exit(2);
    }
    await refuseUnknownVariables();
    // Network faults (latency, timeout, reset_peer, bandwidth) put Toxiproxy between the core and
    // Redis for this run only (docs/faults.md: the hop costs ~0.1 ms per round trip and a process's
    // CPU, so runs without such faults keep the direct path). Kafka behind the proxy needs the
    // broker started behind it, which the runner does not do yet: refused here.
    const { networkFaultOf } = await import('../loadtest/faults/live-faults.ts');
    const networkFaults = scenario.phases
      .flatMap((p) => p.faults ?? [])
      .flatMap((f) => networkFaultOf(f) ?? []);
    if (o.target === undefined && networkFaults.some((f) => f.target === 'kafka')) {
      process.stderr.write(
        `reclab run ${arg}: network faults on kafka are not supported by reclab run yet (the broker would ` +
          'have to advertise the proxy from its start: loadtest/infra/network-proxies.ts startProxiedKafka)\n',
      );
      process.exit(2);
    }
    const { toxiproxyNetworkPath } = await import('../loadtest/infra/network-proxies.ts');
    const network =
      o.target === undefined && networkFaults.length > 0 ? toxiproxyNetworkPath({ seed: o.seed }) : undefined;
    const { runScenario } = await import('../loadtest/run.ts');
    const { peakMeasuredRateQps } = await import('../scenarios/scale.ts');
    const rateScale = o.rate !== undefined ? o.rate / peakMeasuredRateQps(scenario) : o.rateScale;
    const { printSummary } = await import('../reports/console.ts');
    const { liveProgressRenderer } = await import('../loadtest/live-progress.ts');
    const replay = [
      `npm run reclab -- run ${arg} --seed ${o.seed}`,
      o.rateScale !== undefined ? `--rate-scale ${o.rateScale}` : '',
      o.durationScale !== undefined ? `--duration-scale ${o.durationScale}` : '',
      o.rate !== undefined ? `--rate ${o.rate}` : '',
      o.duration !== undefined ? `--duration ${o.duration}` : '',
      o.users !== undefined ? `--users ${o.users}` : '',
      o.videos !== undefined ? `--videos ${o.videos}` : '',
      o.infra !== 'testcontainers' ? `--infra ${o.infra}` : '',
      o.target !== undefined ? `--target ${o.target}` : '',
      o.loadInstances > 1 ? `--load-instances ${o.loadInstances}` : '',
      o.driver !== 'open-model' ? `--driver ${o.driver}` : '',
    ]
      .filter(Boolean)
      .join(' ');
    const out = (line: string) => process.stdout.write(`${line}\n`);
    const progress = liveProgressRenderer({ stream: process.stdout, env: process.env, out });
    try {
      const summary = await runScenario({
        scenario,
        seed: o.seed,
        infra: o.infra,
        env: process.env,
        outRoot: o.out,
        cacheDir: resolve(ROOT, '.reclab/cache'),
        rateScale,
        durationScale: o.durationScale,
        measuredDurationS: o.duration,
        users: o.users,
        videos: o.videos,
        target: o.target,
        network,
        loadInstances: o.loadInstances,
        driver: o.driver,
        pinCore: o.pinCore === true,
        log: (line) => progress.log(line),
        onProgress: (p) => progress.update(p),
      });
      progress.stop();
      printSummary(summary, out, replay);
      process.exit(summary.exitCode);
    } catch (err) {
      progress.stop();
      const code = (err as { code?: string }).code;
      if (code === 'RECLAB_ERR_FAULT_UNSUPPORTED' || code === 'RECLAB_ERR_PIN_UNAVAILABLE') {
        process.stderr.write(`reclab run ${arg}: ${(err as Error).message}\n`);
        process.exit(2);
      }
      process.stderr.write(`reclab run ${arg} crashed: ${(err as Error).stack ?? err}\n`);
      process.stderr.write(`seed=${o.seed} rerun: ${replay}\n`);
      process.exit(1);
    }
  });

program
  .command('scenarios')
  .description('list the scenarios')
  .action(async () => {
    const { scenarios, scenarioAliases } = await import('../scenarios/index.ts');
    for (const s of Object.values(scenarios)) process.stdout.write(`${s.name.padEnd(16)} ${s.description}\n`);
    for (const [alias, name] of Object.entries(scenarioAliases))
      process.stdout.write(`${alias.padEnd(16)} alias of ${name}\n`);
  });

const world = program.command('world').description('the seeded synthetic world');
world
  .command('generate')
  .description(
    'generate a world; print its hash, sizes and timings as one JSON line (progress on stderr); ' +
      'with --out, also write <out>/world.json',
  )
  .option('--seed <n>', 'seed', intArg('seed'), 7)
  .option('--users <n>', 'users', intArg('users'), 20_000)
  .option('--videos <n>', 'videos', intArg('videos'), 10_000)
  .option('--creators <n>', 'creators (default: videos / 20)', intArg('creators'))
  .option(
    '--arrival-window <s>',
    "seconds after the world's now in which cold-start users and videos arrive (0: none)",
    intArg('arrival-window'),
    0,
  )
  .option('--out <dir>', 'directory for world.json (config, hash, sizes, timings)')
  .action(async (o) => {
    const { generateWorld, worldArrays, worldBytes, worldHash, WORLD_FORMAT_VERSION } = await import(
      '../sim/world/index.ts'
    );
    const { progressFactory, progressMode, timedProgress } = await import('../sim/progress.ts');
    const timingsS: Record<string, number> = {};
    const progress = timedProgress(
      progressFactory({ mode: progressMode(process.stderr, process.env) }),
      timingsS,
    );
    let w: ReturnType<typeof generateWorld>;
    const t0 = performance.now();
    try {
      w = generateWorld(
        {
          seed: o.seed,
          users: o.users,
          videos: o.videos,
          creators: o.creators,
          arrivalWindowS: o.arrivalWindow,
        },
        { progress },
      );
    } catch (err) {
      if ((err as { code?: string }).code !== 'RECLAB_ERR_WORLD_CONFIG_INVALID') throw err;
      process.stderr.write(`${(err as Error).message}\n`);
      process.exit(2);
    }
    const generateSeconds = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const hash = worldHash(w, progress('world.hash', worldBytes(w), 'bytes'));
    const hashSeconds = (performance.now() - t1) / 1000;
    const peakRssMiB = Math.round(process.resourceUsage().maxRSS / 1024); // maxRSS is in KiB
    const round3 = (x: number) => Number(x.toFixed(3));
    const summary = {
      seed: o.seed,
      users: w.config.users,
      videos: w.config.videos,
      creators: w.config.creators,
      worldHash: hash,
      generateSeconds: round3(generateSeconds),
      hashSeconds: round3(hashSeconds),
      peakRssMiB,
    };
    if (o.out) {
      const { mkdir, writeFile } = await import('node:fs/promises');
      await mkdir(o.out, { recursive: true });
      const record = {
        formatVersion: WORLD_FORMAT_VERSION,
        worldHash: hash,
        config: w.config,
        sizes: {
          users: w.config.users,
          videos: w.config.videos,
          creators: w.config.creators,
          initialUsers: w.initialUsers,
          initialVideos: w.initialVideos,
          subscriptions: w.subscriptionCreators.length,
          arraysBytes: worldBytes(w),
          arrayBytes: Object.fromEntries(worldArrays(w).map(([name, a]) => [name, a.byteLength])),
        },
        timingsS: { ...timingsS, generate: round3(generateSeconds), hash: round3(hashSeconds) },
        peakRssMiB,
        machine: (await import('../reports/machine.ts')).machineInfo(),
      };
      await writeFile(resolve(o.out, 'world.json'), `${JSON.stringify(record, null, 2)}\n`);
    }
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  });

const models = program.command('models').description('models and index made from the world');
models
  .command('build')
  .description('simulate logs, train the two-tower model and the ranker, export ONNX (cached by world hash)')
  .option('--seed <n>', 'seed', intArg('seed'), 7)
  .option('--users <n>', 'users', intArg('users'), 20_000)
  .option('--videos <n>', 'videos', intArg('videos'), 10_000)
  .action(async (o) => {
    const { prepareWorld } = await import('../loadtest/prepare-world.ts');
    const { progressFactory, progressMode } = await import('../sim/progress.ts');
    const w = await prepareWorld({
      seed: o.seed,
      users: o.users,
      videos: o.videos,
      cacheDir: resolve(ROOT, '.reclab/cache'),
      log: (l) => process.stdout.write(`${l}\n`),
      progress: progressFactory({ mode: progressMode(process.stderr, process.env), env: process.env }),
    });
    process.stdout.write(`${JSON.stringify(w.info, null, 2)}\n`);
  });

models
  .command('train')
  .description(
    'build the models of a world (reusing the cache) and publish them as a registry version ' +
      '<registry>/<version>/ with model-card.json (atomic: temp dir, then rename)',
  )
  .option('--seed <n>', 'seed of the world and the training logs', intArg('seed'), 7)
  .option('--users <n>', 'users', intArg('users'), 20_000)
  .option('--videos <n>', 'videos', intArg('videos'), 10_000)
  .option('--registry <dir>', 'registry directory', resolve(ROOT, '.reclab/registry'))
  .option('--name <version>', "version name (default the build's m-<seed>-<hash12>)")
  .action(async (o) => {
    const { prepareWorld } = await import('../loadtest/prepare-world.ts');
    const { publishVersion } = await import('../sim/registry/publish.ts');
    const { execFileSync } = await import('node:child_process');
    const { readFileSync } = await import('node:fs');
    const { progressFactory, progressMode } = await import('../sim/progress.ts');
    const log = (l: string) => process.stderr.write(`${l}\n`);
    const w = await prepareWorld({
      seed: o.seed,
      users: o.users,
      videos: o.videos,
      cacheDir: resolve(ROOT, '.reclab/cache'),
      log,
      progress: progressFactory({ mode: progressMode(process.stderr, process.env), env: process.env }),
    });
    let gitCommit = 'unknown';
    try {
      gitCommit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
      const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: ROOT, encoding: 'utf8' }).trim();
      if (dirty) gitCommit += '-dirty';
    } catch {
      // not a git checkout: the card says `unknown`
    }
    const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { version: string };
    try {
      const r = await publishVersion({
        registryDir: resolve(o.registry),
        sourceDir: w.artifactsDir,
        version: o.name,
        codeVersion: { package: pkg.version, gitCommit },
      });
      log(`${r.created ? 'published' : 'already published'}: ${r.dir}`);
      process.stdout.write(
        `${JSON.stringify({ version: r.card.modelVersion, dir: r.dir, created: r.created, metrics: r.card.metrics })}\n`,
      );
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (!code.startsWith('RECLAB_ERR_REGISTRY_')) throw err;
      process.stderr.write(`${(err as Error).message}\n`);
      process.exit(2);
    }
  });

models
  .command('list')
  .description('list the registry versions with their key offline metrics (--json: the model cards)')
  .option('--registry <dir>', 'registry directory', resolve(ROOT, '.reclab/registry'))
  .option('--json', 'print the model cards as JSON')
  .action(async (o) => {
    const { listVersions } = await import('../core/registry/model-registry.ts');
    const cards = await listVersions(resolve(o.registry));
    if (o.json) {
      process.stdout.write(`${JSON.stringify(cards, null, 2)}\n`);
      return;
    }
    if (cards.length === 0) {
      process.stdout.write(`no versions in ${resolve(o.registry)}\n`);
      return;
    }
    const f3 = (x: unknown) => (typeof x === 'number' ? x.toFixed(3) : '—');
    const rows = [
      ['version', 'created', 'seed', 'world', 'users×videos', 'recall@100', 'click AUC', 'watch RMSE s'],
      ...cards.map((c) => [
        c.modelVersion,
        c.createdAt.slice(0, 19),
        String(c.training.seed),
        c.training.worldHash.slice(0, 12),
        `${c.training.world.users}×${c.training.world.videos}`,
        f3(c.metrics.twoTowerRecall100),
        f3(c.metrics.clickAuc),
        f3(c.metrics.watchTimeRmseS),
      ]),
    ];
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const r of rows)
      process.stdout.write(
        `${r
          .map((v, i) => v.padEnd(widths[i]))
          .join('  ')
          .trimEnd()}\n`,
      );
  });

const indexCmd = program.command('index').description('the ANN index over the item embeddings');
indexCmd
  .command('rebuild')
  .description(
    'build the index offline, measure recall@100 against exact search and latency; save it (index.faiss + index-card.json) only if recall clears --min-recall',
  )
  .requiredOption('--dir <dir>', 'artifact directory (a build cache or a registry version)')
  .option('--factory <f>', 'FAISS factory string, or auto (Flat ≤ 50k items, else IVF-Flat)', 'auto')
  .option('--nprobe <n>', 'IVF lists probed per query', intArg('nprobe'), 16)
  .option('--ef-search <n>', 'HNSW efSearch', intArg('ef-search'), 128)
  .option('--min-recall <r>', 'keep the index only at this mean recall@100 or above', Number, 0.95)
  .option('--queries <n>', 'queries measured', intArg('queries'), 500)
  .option('--seed <n>', 'seed of the query sample', intArg('seed'), 7)
  .action(async (o) => {
    const { rebuildIndex } = await import('../sim/index/rebuild-index.ts');
    const { progressFactory, progressMode } = await import('../sim/progress.ts');
    const r = await rebuildIndex({
      progress: progressFactory({ mode: progressMode(process.stderr, process.env), env: process.env }),
      dir: o.dir,
      factory: o.factory,
      nprobe: o.nprobe,
      efSearch: o.efSearch,
      minRecall: o.minRecall,
      queries: o.queries,
      seed: o.seed,
    });
    process.stdout.write(`${JSON.stringify(r.card, null, 2)}\n`);
    process.stdout.write(
      r.saved
        ? `saved ${o.dir}/index.faiss (recall@100 ${r.card.recall.mean.toFixed(3)} ≥ ${o.minRecall})\n`
        : `not saved: recall@100 ${r.card.recall.mean.toFixed(3)} < ${o.minRecall}\n`,
    );
    process.exit(r.saved ? 0 : 3);
  });

program
  .command('serve')
  .description('start the serving core (config from RECLAB_* variables; see docs/configuration.md)')
  .action(async () => {
    await refuseUnknownVariables();
    const { coreEnv } = await import('../loadtest/lab-env.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', resolve(ROOT, 'core/main.ts')], {
      stdio: 'inherit',
      env: coreEnv(process.env),
    });
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
    child.on('exit', (code) => process.exit(code ?? 1));
  });

program
  .command('ranker')
  .description('the main ranker as its own tier (a GPU inference pool stand-in with dynamic batching)')
  .command('serve')
  .description(
    'start the ranker tier (config from RECLAB_RANKER_TIER_* variables; see docs/configuration.md)',
  )
  .action(async () => {
    await refuseUnknownVariables();
    const { rankerTierEnv } = await import('../loadtest/lab-env.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', resolve(ROOT, 'core/ranker-tier/main.ts')], {
      stdio: 'inherit',
      env: rankerTierEnv(process.env),
    });
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
    child.on('exit', (code) => process.exit(code ?? 1));
  });

function positiveNumberArg(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a positive number`);
    return n;
  };
}

/** A comma-separated list of positive numbers (`--high-qps 60,90,120`). */
function positiveNumbersArg(name: string) {
  return (v: string) => {
    const xs = v.split(',').map(Number);
    if (xs.length === 0 || xs.some((n) => !(n > 0) || !Number.isFinite(n)))
      throw new InvalidArgumentError(`${name} must be positive numbers, comma-separated`);
    return xs;
  };
}

/** `--quality-from a.json,b.json`: the per-rung quality table of those scored runs' summaries. */
async function qualityTableFrom(files: string | undefined) {
  if (!files) return undefined;
  const { rungQualityTable } = await import('../sim/quality/surrogate.ts');
  return rungQualityTable(files.split(',').map((f) => JSON.parse(readFileSync(resolve(f), 'utf8'))));
}

/**
 * The scenario (a name or a path) and the fleet (a fleet file, or the default profile), with
 * `adjust` applied to the fleet, for `reclab sim` and `reclab plan`; exits 2 with the problem when
 * either is invalid.
 */
async function simInputs(
  arg: string,
  fleetFile: string | undefined,
  adjust: (f: FleetSpec) => FleetSpec = (f) => f,
) {
  const { loadScenario } = await import('../scenarios/load.ts');
  const { DEFAULT_FLEET, loadFleetFile } = await import('../sim/fleet/fleet-spec.ts');
  try {
    return {
      scenario: await loadScenario(arg),
      fleet: adjust(fleetFile ? loadFleetFile(fleetFile) : DEFAULT_FLEET),
    };
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
}

program
  .command('sim')
  .description(
    "run a scenario in virtual time on a simulated fleet (the core's own admission, breaker, deadline and " +
      'fallback code; calibrated service times): deterministic from the seed, 50K QPS and beyond',
  )
  .argument('<scenario>', 'scenario name (see `reclab scenarios`) or a scenario file path')
  .option('--seed <n>', 'seed of every random draw in the run', intArg('seed'), 7)
  .option(
    '--qps <n>',
    'scale the phases so the busiest measured phase offers this rate (requests/s)',
    positiveNumberArg('qps'),
  )
  .option(
    '--duration-scale <x>',
    'multiply every phase duration and fault offset',
    positiveNumberArg('duration-scale'),
  )
  .option(
    '--fleet <file>',
    'fleet file (JSON, sim/fleet/fleet-spec.ts); omitted parts take the default profile',
  )
  .option('--replicas <n>', 'core replicas (overrides the fleet file)', intArg('replicas'))
  .option('--redis-shards <n>', 'Redis shards (overrides the fleet file)', intArg('redis-shards'))
  .option(
    '--ranker-nodes <n>',
    'main ranker pool nodes (overrides the fleet file; adds a pool)',
    intArg('ranker-nodes'),
  )
  .option('--lb <policy>', 'load balancing: round_robin, least_outstanding or p2c')
  .option(
    '--fidelity <mode>',
    'fleet (service-time model of each stage) or high (the real recommend() and models on simulated adapters over the world; small runs)',
    'fleet',
  )
  .option(
    '--quality-from <files>',
    'summary.json files (comma-separated) of scored runs (live or --fidelity high): their quality per rung is the fleet run’s quality surrogate',
  )
  .option('--out <dir>', 'reports root', resolve(ROOT, 'reports/out'))
  .action(async (arg: string, o) => {
    if (o.fidelity !== 'fleet' && o.fidelity !== 'high') {
      process.stderr.write(`--fidelity ${o.fidelity}: expected fleet or high\n`);
      process.exit(2);
    }
    const { runSimCommand, withSizes } = await import('../sim/run/sim-command.ts');
    const { scenario, fleet } = await simInputs(arg, o.fleet, (f) =>
      withSizes(f, {
        replicas: o.replicas,
        redisShards: o.redisShards,
        rankerNodes: o.rankerNodes,
        lb: o.lb,
      }),
    );
    const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { version: string };
    try {
      const { coreEnvOf } = await import('../scenarios/core-settings.ts');
      const hifi =
        o.fidelity === 'high'
          ? await (await import('../sim/hifi/prepare.ts')).prepareHifi({
              scenario,
              seed: o.seed,
              cacheDir: resolve(ROOT, '.reclab/cache'),
              coreEnv: { ...coreEnvOf(scenario.core), ...fleet.coreEnv },
              log: (line) => process.stderr.write(`${line}\n`),
            })
          : undefined;
      const qualityTable = await qualityTableFrom(o.qualityFrom);
      const { exitCode } = await runSimCommand({
        scenario,
        scenarioArg: arg,
        fleet,
        hifi,
        qualityTable,
        seed: o.seed,
        qps: o.qps,
        durationScale: o.durationScale,
        outRoot: o.out,
        reclabVersion: pkg.version,
        progressEveryS: process.stdout.isTTY && !process.env.CI ? 1 : 10,
        out: (line) => process.stdout.write(`${line}\n`),
        wallMs: () => performance.now(),
      });
      await hifi?.release();
      process.exit(exitCode);
    } catch (err) {
      const code = (err as { code?: string }).code;
      process.stderr.write(`reclab sim ${arg}: ${(err as Error).stack ?? err}\n`);
      process.stderr.write(
        `seed=${o.seed} rerun: npm run reclab -- sim ${arg} --seed ${o.seed}${o.fidelity === 'high' ? ' --fidelity high' : ''}\n`,
      );
      process.exit(code === 'RECLAB_ERR_CONFIG_INVALID' ? 2 : 1);
    }
  });

program
  .command('calibrate')
  .description(
    "measure the live core's stage service times (a low-rate phase) and its event loop's CPU at two " +
      'rates on this machine, and write the fleet file the simulator loads: reclab sim --fleet <out>/fleet.json',
  )
  .option(
    '--qps <n>',
    'arrival rate of the stage-timing phase (requests/s; low, so that requests rarely queue)',
    positiveNumberArg('qps'),
    50,
  )
  .option(
    '--high-qps <n,…>',
    'arrival rates of the further CPU phases (requests/s, rising, above --qps; up to the knee or past it)',
    positiveNumbersArg('high-qps'),
    [200],
  )
  .option('--duration <s>', 'each measured phase (seconds)', positiveNumberArg('duration'), 30)
  .option(
    '--warmup <s>',
    "warm-up at --qps before measuring (seconds; default 60, the core's L1 cache TTL: its hit rate settles by then)",
    positiveNumberArg('warmup'),
  )
  .option('--seed <n>', 'seed of the world and the request stream', intArg('seed'), 7)
  .option('--pin-core', 'the core process alone on the last CPU, the lab on the others (as reclab run)')
  .option('--out <dir>', 'where fleet.json and calibration.json go', resolve(ROOT, '.reclab/calibration'))
  .action(async (o) => {
    const highQps = o.highQps as number[];
    if (highQps.some((r, i) => r <= (i === 0 ? o.qps : highQps[i - 1]))) {
      process.stderr.write(`--high-qps (${highQps.join(',')}) must rise, each above --qps (${o.qps})\n`);
      process.exit(2);
    }
    await refuseUnknownVariables();
    const { calibrate } = await import('../sim/calibrate/calibrate-command.ts');
    try {
      const { report, fleetPath, reportPath } = await calibrate({
        seed: o.seed,
        qps: o.qps,
        highQps,
        durationS: o.duration,
        warmupS: o.warmup,
        pinCore: o.pinCore === true,
        outDir: o.out,
        runsRoot: resolve(ROOT, 'reports/out'),
        cacheDir: resolve(ROOT, '.reclab/cache'),
        env: process.env,
        log: (line) => process.stdout.write(`${line}\n`),
      });
      const out = (line: string) => process.stdout.write(`${line}\n`);
      out('');
      out(
        `calibrated on ${report.machine.cpus} × ${report.machine.cpuModel}: ${report.responses} responses at ${report.qps} QPS`,
      );
      out(
        `event-loop CPU ${report.cpuPerRequestUs} µs per request at ${report.qps} QPS; by rate ` +
          report.loadProfile.map((p) => `${p.rateQps}: ×${p.cpuFactor} CPU, wait ${p.waitPerCpu}`).join(', '),
      );
      for (const [stage, v] of Object.entries(report.stages))
        out(
          `  ${stage.padEnd(11)} p50 ${String(v.p50).padStart(6)} µs  p90 ${String(v.p90).padStart(6)} µs  p99 ${String(v.p99).padStart(6)} µs`,
        );
      for (const n of report.notes) out(`  · ${n}`);
      out(`fleet file: ${fleetPath}\nreport: ${reportPath}`);
      process.exit(
        report.liveRun.exitCode === 0 || report.liveRun.exitCode === 3 ? 0 : report.liveRun.exitCode,
      );
    } catch (err) {
      process.stderr.write(`reclab calibrate crashed: ${(err as Error).stack ?? err}\n`);
      process.exit(1);
    }
  });

program
  .command('plan')
  .description(
    'search the smallest simulated fleet (replicas, Redis shards, ranker nodes) that keeps every measured ' +
      'phase of a scenario within its assertions and a p99 budget at a rate; prints utilisation and headroom',
  )
  .argument('<scenario>', 'scenario name (see `reclab scenarios`) or a scenario file path')
  .requiredOption('--qps <n>', 'rate of the busiest measured phase (requests/s)', positiveNumberArg('qps'))
  .requiredOption(
    '--budget-p99 <ms>',
    'p99 budget over all measured requests (ms)',
    positiveNumberArg('budget-p99'),
  )
  .option('--seed <n>', 'seed of every random draw', intArg('seed'), 7)
  .option(
    '--duration-scale <x>',
    'multiply every phase duration (shorter searches)',
    positiveNumberArg('duration-scale'),
  )
  .option('--fleet <file>', 'fleet file whose service times and policies are kept (sizes are searched)')
  .option(
    '--quality-from <files>',
    'summary.json files (comma-separated) of scored runs: every candidate fleet is also checked on the quality surrogate',
  )
  .option('--max-runs <n>', 'most simulated runs in the search', intArg('max-runs'), 12)
  .option('--out <dir>', 'reports root', resolve(ROOT, 'reports/out'))
  .action(async (arg: string, o) => {
    const { runPlanCommand } = await import('../sim/run/plan-command.ts');
    const { scenario, fleet } = await simInputs(arg, o.fleet);
    try {
      const { exitCode } = await runPlanCommand({
        scenario,
        scenarioArg: arg,
        fleet,
        qualityTable: await qualityTableFrom(o.qualityFrom),
        qualityFromArg: o.qualityFrom,
        qps: o.qps,
        budgetP99Ms: o.budgetP99,
        seed: o.seed,
        durationScale: o.durationScale,
        maxRuns: o.maxRuns,
        outRoot: o.out,
        out: (line) => process.stdout.write(`${line}\n`),
      });
      process.exit(exitCode);
    } catch (err) {
      const code = (err as { code?: string }).code;
      process.stderr.write(`reclab plan ${arg}: ${(err as Error).stack ?? err}\n`);
      process.exit(code === 'RECLAB_ERR_CONFIG_INVALID' || code === 'RECLAB_ERR_SIM_FLEET_INVALID' ? 2 : 1);
    }
  });

program
  .command('report')
  .description(
    're-render junit.xml and index.html of a run directory from its stored summary.json (the same bytes the run wrote)',
  )
  .argument('<run-dir...>', 'run directories (reports/out/<run-id>)')
  .action(async (dirs: string[]) => {
    const { rerenderReports } = await import('../reports/write.ts');
    for (const dir of dirs) {
      try {
        const p = await rerenderReports(resolve(dir));
        process.stdout.write(`${p.junit}  ${p.html}\n`);
      } catch (err) {
        process.stderr.write(`reclab report ${dir}: ${(err as Error).message}\n`);
        process.exit(2);
      }
    }
  });

program
  .command('compare')
  .description(
    'compare runs with a base run: latency percentiles per phase against a noise-derived threshold, rates, ' +
      'errors, rung shares, quality (docs/compare.md); exit 3 when a regression is found',
  )
  .argument('<base-run-dir>', 'the base run (reports/out/<run-id>)')
  .argument('<run-dir...>', 'runs compared with the base')
  .option(
    '--tolerance <x>',
    'smallest latency increase flagged (0.1: 10 %)',
    positiveNumberArg('tolerance'),
    0.1,
  )
  .option('--z <x>', 'standard errors a change must exceed', positiveNumberArg('z'), 3)
  .action(async (baseDir: string, dirs: string[], o) => {
    const { readStoredSummary } = await import('../reports/write.ts');
    const { parseRunResult } = await import('../reports/model.ts');
    const { compareRuns, formatComparison } = await import('../reports/compare.ts');
    const load = async (dir: string) => {
      try {
        return parseRunResult(await readStoredSummary(resolve(dir)));
      } catch (err) {
        process.stderr.write(`reclab compare: ${dir}: ${(err as Error).message}\n`);
        process.exit(2);
      }
    };
    const base = await load(baseDir);
    let regressions = 0;
    for (const dir of dirs) {
      const c = compareRuns(base, await load(dir), { latencyTolerance: o.tolerance, z: o.z });
      for (const line of formatComparison(c)) process.stdout.write(`${line}\n`);
      regressions += c.regressions;
    }
    process.exit(regressions > 0 ? 3 : 0);
  });

program
  .command('schema')
  .description('write the JSON Schema of summary.json (the RunResult, schema v1)')
  .option('--out <file>', 'where to write it', resolve(ROOT, 'docs/summary.schema.json'))
  .action(async (o) => {
    const { writeFile } = await import('node:fs/promises');
    const { runResultJsonSchema } = await import('../reports/model.ts');
    await writeFile(o.out, `${JSON.stringify(runResultJsonSchema(), null, 2)}\n`);
    process.stdout.write(`${o.out}\n`);
  });

program
  .command('openapi')
  .description("write the OpenAPI 3.1 document of the core's HTTP API (what GET /openapi.json serves)")
  .option('--out <file>', 'where to write it', resolve(ROOT, 'docs/openapi.json'))
  .action(async (o) => {
    const { writeFile } = await import('node:fs/promises');
    const { openApiJson } = await import('../core/http/openapi-document.ts');
    await writeFile(o.out, await openApiJson());
    process.stdout.write(`${o.out}\n`);
  });

const { registerDistributedCommands } = await import('./distributed-commands.ts');
registerDistributedCommands(program, ROOT);

await program.parseAsync(process.argv);
