import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * The `runScenario` options every live test shares: seed 7, Testcontainers, the shell's
 * environment, reports under a fresh temporary directory named `<prefix>…`, the repository's model
 * cache, and the run's log lines on stdout (indented) unless `quiet`. Tests add the scenario, the
 * world size and the scaling.
 */
export function liveRunOptions(prefix: string, opts: { quiet?: boolean } = {}) {
  return {
    seed: 7,
    infra: 'testcontainers' as const,
    env: process.env,
    outRoot: mkdtempSync(join(tmpdir(), prefix)),
    cacheDir: resolve('.reclab/cache'),
    log: opts.quiet ? () => {} : (line: string) => process.stdout.write(`    ${line}\n`),
  };
}

/** The part of a run's summary `budgetsExceptSpeed` reads. */
interface JudgedRun {
  assertions: readonly { expression: string; passed: boolean; observed: unknown }[];
}

/**
 * For a live test of a scenario whose rates sit at the knee of some machines of this size: logs
 * the speed budgets named in `speed` (assertion expressions, e.g. `http_req_duration{phase:spike}
 * p(99) <= 200`) and returns every other failed assertion, which the test expects to be none.
 * Speed targets belong to the benchmarks (bench/knee.ts) and to `reclab run`'s own verdict.
 * `expectedExitCode` is the exit the run must have: 0, or 3 when only a speed budget failed.
 * @throws Error when a name in `speed` is not one of the run's assertions
 */
export function budgetsExceptSpeed(
  run: JudgedRun,
  speed: readonly string[],
  log: (line: string) => void,
  name: string,
): { failed: JudgedRun['assertions'][number][]; expectedExitCode: number } {
  const isSpeed = new Set(speed);
  // A renamed assertion would otherwise stop being logged without a word.
  const unknown = speed.filter((e) => !run.assertions.some((a) => a.expression === e));
  if (unknown.length) throw new Error(`${name}: no assertion ${unknown.join(', ')} in this run`);
  for (const a of run.assertions.filter((x) => isSpeed.has(x.expression)))
    log(`${name} ${a.expression}: observed ${a.observed} (${a.passed ? 'pass' : 'FAIL'})`);
  return {
    failed: run.assertions.filter((a) => !a.passed && !isSpeed.has(a.expression)),
    expectedExitCode: run.assertions.every((a) => a.passed) ? 0 : 3,
  };
}
