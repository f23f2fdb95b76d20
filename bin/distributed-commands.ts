/**
 * The CLI's commands for load beyond one process (issue 14; docs/distributed-load.md):
 * `reclab load` (one segment), `reclab merge` (partial results → one RunResult), `reclab k8s job`
 * (an Indexed Job running `reclab load`), `reclab k6 export` (a k6 script, and a k6-operator TestRun
 * with --operator). `reclab export k6|job` are the same two exports under one verb.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, release as osRelease, type as osType, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';

function positiveInt(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return n;
  };
}

function nonNegativeInt(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return n;
  };
}

function positiveNumber(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
    return n;
  };
}

const fail = (message: string, code = 2): never => {
  process.stderr.write(`${message}\n`);
  process.exit(code);
};

/** Loads and scales a scenario as `reclab run` does (exit 2 on a bad one). */
async function scenarioArg(
  arg: string,
  o: { rateScale?: number; durationScale?: number; rate?: number; duration?: number },
) {
  const { loadScenario } = await import('../scenarios/load.ts');
  const { scaleScenario, peakMeasuredRateQps } = await import('../scenarios/scale.ts');
  let scenario: Awaited<ReturnType<typeof loadScenario>>;
  try {
    scenario = await loadScenario(arg);
  } catch (err) {
    return fail((err as Error).message);
  }
  if (
    (o.rate !== undefined && o.rateScale !== undefined) ||
    (o.duration !== undefined && o.durationScale !== undefined)
  )
    fail('give --rate or --rate-scale, --duration or --duration-scale, not both');
  const rateScale = o.rate !== undefined ? o.rate / peakMeasuredRateQps(scenario) : o.rateScale;
  return scaleScenario(scenario, {
    rateScale,
    durationScale: o.durationScale,
    measuredDurationS: o.duration,
  });
}

function scaleOptions(cmd: Command): Command {
  return cmd
    .option('--rate-scale <x>', "multiply every phase's arrival rates", positiveNumber('rate-scale'))
    .option('--duration-scale <x>', "multiply every measured phase's times", positiveNumber('duration-scale'))
    .option(
      '--rate <qps>',
      'scale the rates so the busiest measured phase peaks at this rate',
      positiveNumber('rate'),
    )
    .option('--duration <s>', 'every measured phase lasts this long (seconds)', positiveNumber('duration'));
}

/** `--out` values that mean stdout (the Job's pods print their partial result there). */
const STDOUT_PATHS = new Set(['-', '/dev/stdout']);

const urlOk = (u: string) => /^https?:\/\/[^/\s]+/.test(u);

export function registerDistributedCommands(program: Command, root: string): void {
  scaleOptions(
    program
      .command('load')
      .description(
        'drive one segment (i/N) of a scenario against a running core with the open-model driver; ' +
          'write a partial result (histograms, counts, rungs, series) for `reclab merge`',
      )
      .argument('<scenario>', 'scenario name, or a scenario file (.ts, .js, .json)')
      .requiredOption('--segment <i/N>', 'this process sends slots k with k mod N = i of every phase')
      .requiredOption('--target <url>', 'the core, e.g. http://10.0.0.7:8080')
      .requiredOption('--out <file>', 'partial result file (JSON); - or /dev/stdout: one line on stdout')
      .option(
        '--seed <n>',
        'seed of the arrivals and the request stream (the same for every segment)',
        nonNegativeInt('seed'),
        7,
      )
      .option(
        '--start-at <time>',
        'start phase 0 at this time (ISO 8601 or epoch ms), later phases on the fixed timetable (docs/distributed-load.md)',
      )
      .option(
        '--coordinated',
        'start each phase when the coordinator on stdin says (reclab run --load-instances)',
      ),
  ).action(async (arg: string, o) => {
    const { parseSegment } = await import('../scenarios/segments.ts');
    let segment: ReturnType<typeof parseSegment>;
    try {
      segment = parseSegment(o.segment);
    } catch (err) {
      return fail((err as Error).message);
    }
    if (!urlOk(o.target)) fail('--target must be an http(s) URL, e.g. http://127.0.0.1:8080');
    let startAtMs: number | undefined;
    if (o.startAt !== undefined) {
      startAtMs = /^\d+$/.test(o.startAt) ? Number(o.startAt) : Date.parse(o.startAt);
      if (!Number.isFinite(startAtMs)) fail('--start-at must be an ISO 8601 time or epoch ms');
      if (o.coordinated) fail('give --start-at or --coordinated, not both');
    }
    if (o.coordinated && STDOUT_PATHS.has(o.out))
      fail('--coordinated talks to its coordinator on stdout: give --out a file');
    const scenario = await scenarioArg(arg, o);
    const { runSegment, timetableGate, timetablePoolWait } = await import(
      '../loadtest/segments/segment-run.ts'
    );
    const { coordinatedIo } = await import('../loadtest/segments/coordinated.ts');
    const log = (line: string) => process.stderr.write(`${line}\n`);
    const io = o.coordinated ? coordinatedIo() : undefined;
    try {
      const partial = await runSegment({
        scenario,
        seed: o.seed,
        segment,
        target: o.target,
        phaseGate: io
          ? io.gate
          : startAtMs !== undefined
            ? timetableGate(scenario, startAtMs, log)
            : undefined,
        beforePool: !io && startAtMs !== undefined ? timetablePoolWait(scenario, startAtMs) : undefined,
        onPhase: io?.sendPhase,
        log,
      });
      const line = `${JSON.stringify(partial)}\n`;
      if (STDOUT_PATHS.has(o.out)) {
        // Through the stream, not open('/dev/stdout'): that fails (ENXIO) when stdout is a socket.
        await new Promise<void>((done, failed) =>
          process.stdout.write(line, (err) => (err ? failed(err) : done())),
        );
      } else {
        await mkdir(resolve(o.out, '..'), { recursive: true });
        await writeFile(o.out, line);
      }
      log(`segment ${o.segment}: partial result in ${o.out}`);
      io?.done();
      process.exit(0);
    } catch (err) {
      process.stderr.write(
        `reclab load ${arg} --segment ${o.segment} crashed: ${(err as Error).stack ?? err}\n`,
      );
      process.exit(1);
    }
  });

  program
    .command('merge')
    .description(
      'merge the partial results of every segment into one run result (histograms merged, never ' +
        'averaged), check that they add up to the whole schedule, evaluate the assertions, write summary.json and junit.xml',
    )
    .argument('<files...>', 'partial result files, one per segment')
    .requiredOption('--out <dir>', 'directory for summary.json and junit.xml')
    .action(async (files: string[], o) => {
      const { readPartial, mergePartials } = await import('../loadtest/segments/partial-result.ts');
      const { writeSummaryJson } = await import('../reports/json.ts');
      const { writeJUnit } = await import('../reports/junit.ts');
      const { assertionLine } = await import('../reports/console.ts');
      const { readFileSync } = await import('node:fs');
      const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
      let result: ReturnType<typeof mergePartials>;
      try {
        const parts = await Promise.all(files.map((f) => readPartial(f)));
        const ts = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
        result = mergePartials(parts, {
          runId: `${parts[0].scenario.name}-${ts}-s${parts[0].seed}-merged${parts.length}`,
          reclabVersion: pkg.version,
          machine: {
            cpus: cpus().length,
            memGiB: Math.round(totalmem() / 2 ** 30),
            os: `${osType()} ${osRelease()}`,
          },
        });
      } catch (err) {
        return fail(`reclab merge: ${(err as Error).message}`);
      }
      const out = (l: string) => process.stdout.write(`${l}\n`);
      for (const p of result.phases) {
        out(
          `phase ${p.name}${p.warmup ? ' (warm-up, excluded)' : ''}: ${p.arrivals}, offered ${p.offeredQps} QPS, achieved ${p.achievedQps.toFixed(1)} QPS; ` +
            `p50 ${p.latencyMs.p50} ms, p95 ${p.latencyMs.p95} ms, p99 ${p.latencyMs.p99} ms; 2xx ${p.statusCounts['2xx']} 5xx ${p.statusCounts['5xx']} ` +
            `errors ${p.statusCounts.errors} timeouts ${p.statusCounts.timeouts}; late ${p.late} dropped ${p.dropped}`,
        );
      }
      for (const a of result.assertions) out(`  ${assertionLine(a)}`);
      for (const w of result.warnings ?? []) out(`warning: ${w}`);
      await writeSummaryJson(o.out, result);
      await writeJUnit(o.out, result);
      out(`reports: ${o.out}/summary.json  ${o.out}/junit.xml`);
      process.exit(result.exitCode);
    });

  const k8s = program.command('k8s').description('Kubernetes objects for distributed load');
  const jobCmd = (cmd: Command) =>
    scaleOptions(
      cmd
        .description(
          'write a ConfigMap (the scenario) and an Indexed batch/v1 Job whose pods run `reclab load --segment i/N`',
        )
        .argument('<scenario>', 'scenario name, or a scenario file (.ts, .js, .json)')
        .option('--parallelism <n>', 'segments, one pod each', positiveInt('parallelism'))
        .option('--instances <n>', 'the same as --parallelism', positiveInt('instances'))
        .requiredOption('--target <url>', 'the core as the pods reach it, e.g. http://reclab-core:8080')
        .option(
          '--image <image>',
          'an image with reclab on PATH (docs/distributed-load.md)',
          'reclab-load:latest',
        )
        .option('--seed <n>', 'seed of the arrivals and the requests', nonNegativeInt('seed'), 7)
        .option('--namespace <ns>', 'namespace of the objects')
        .option('--start-at <time>', 'every pod starts phase 0 at this ISO 8601 time (one timetable)')
        .option('--out <dir>', 'directory for <scenario>.job.yaml', '.'),
    ).action(async (arg: string, o) => {
      const n = o.parallelism ?? o.instances;
      if (n === undefined) fail('give --parallelism N');
      if (!urlOk(o.target)) fail('--target must be an http(s) URL');
      if (o.startAt !== undefined && !Number.isFinite(Date.parse(o.startAt)))
        fail('--start-at must be an ISO 8601 time');
      const scenario = await scenarioArg(arg, o);
      const { loadJobManifests } = await import('../loadtest/export/k8s-manifests.ts');
      const { stringify } = await import('yaml');
      const docs = loadJobManifests({
        scenario,
        seed: o.seed,
        parallelism: n,
        target: o.target,
        image: o.image,
        namespace: o.namespace,
        startAt: o.startAt,
      });
      await mkdir(o.out, { recursive: true });
      const file = join(o.out, `${scenario.name}.job.yaml`);
      await writeFile(file, docs.map((d) => stringify(d)).join('---\n'));
      process.stdout.write(`${file}\n`);
    });
  jobCmd(k8s.command('job'));

  const k6 = program
    .command('k6')
    .description('k6 scripts for users who run k6 themselves (reclab does not ship k6)');
  const k6Cmd = (cmd: Command) =>
    scaleOptions(
      cmd
        .description(
          'write a k6 script of a scenario (arrival-rate executors per phase, thresholds from its assertions); ' +
            'with --operator also a k6-operator TestRun and its ConfigMap',
        )
        .argument('<scenario>', 'scenario name, or a scenario file (.ts, .js, .json)')
        .option(
          '--target <url>',
          'default base URL in the script (RECLAB_TARGET overrides)',
          'http://127.0.0.1:8080',
        )
        .option('--seed <n>', 'seed of the world and the request stream', nonNegativeInt('seed'), 7)
        .option('--operator', 'also write a k6-operator TestRun (<scenario>.testrun.yaml)')
        .option('--parallelism <n>', 'TestRun runner pods', positiveInt('parallelism'), 1)
        .option('--namespace <ns>', 'namespace of the objects')
        .option('--out <dir>', 'output directory', '.'),
    ).action(async (arg: string, o) => {
      const scenario = await scenarioArg(arg, o);
      const { k6Script } = await import('../loadtest/export/k6-script.ts');
      const { REGIONS } = await import('../core/features/schema.ts');
      const { generateWorld } = await import('../sim/world/index.ts');
      const w = generateWorld({ seed: o.seed, users: scenario.world.users, videos: scenario.world.videos });
      const script = k6Script({
        scenario,
        seed: o.seed,
        target: o.target,
        regions: REGIONS,
        userRegions: w.userRegion,
      });
      await mkdir(o.out, { recursive: true });
      const file = join(o.out, `${scenario.name}.k6.js`);
      await writeFile(file, script);
      process.stdout.write(`${file}\n`);
      if (o.operator) {
        const { k6OperatorManifests } = await import('../loadtest/export/k8s-manifests.ts');
        const { stringify } = await import('yaml');
        const docs = k6OperatorManifests({
          scenarioName: scenario.name,
          script,
          parallelism: o.parallelism,
          namespace: o.namespace,
        });
        const tr = join(o.out, `${scenario.name}.testrun.yaml`);
        await writeFile(tr, docs.map((d) => stringify(d)).join('---\n'));
        process.stdout.write(`${tr}\n`);
      }
    });
  k6Cmd(k6.command('export'));

  const exp = program.command('export').description('the k6 export and the Kubernetes Job under one verb');
  k6Cmd(exp.command('k6'));
  jobCmd(exp.command('job'));
}
