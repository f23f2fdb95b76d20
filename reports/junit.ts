/**
 * junit.xml: a run as JUnit XML for CI (the de-facto "Ant JUnit" format that GitHub Actions,
 * GitLab and Jenkins read). One <testsuite> per scenario run, one <testcase> per assertion; a
 * failed assertion is a <failure> whose message gives observed vs threshold. The suite's
 * properties carry the seed and world hash, and <system-out> the command that replays the run.
 *
 * A run can fail with every assertion holding (a crash, exit 1/2; lost impressions, exit 4): that
 * run gets one more testcase, `run outcome`, so CI never shows green for a failed run.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import { parseRunResult, type RunResult, replayCommand } from './model.ts';

/** Names the failure kind, after docs/exit-codes.md. */
const EXIT_KIND: Record<number, string> = {
  1: 'crash',
  2: 'invalid configuration',
  3: 'budget breached',
  4: 'invariant violated or data lost',
};

const seconds = (r: RunResult): string =>
  ((Date.parse(r.endedAt) - Date.parse(r.startedAt)) / 1000).toFixed(3);

function failuresOf(r: RunResult): { failures: number; errors: number; tests: number } {
  const failed = r.assertions.filter((a) => !a.passed).length;
  const outcomeCase = r.outcome === 'fail' && failed === 0;
  const crashed = outcomeCase && (r.exitCode === 1 || r.exitCode === 2);
  return {
    tests: r.assertions.length + (outcomeCase ? 1 : 0),
    failures: failed + (outcomeCase && !crashed ? 1 : 0),
    errors: crashed ? 1 : 0,
  };
}

function addSuite(parent: XMLBuilder, r: RunResult): void {
  const totals = failuresOf(r);
  const suite = parent.ele('testsuite', {
    name: r.scenario,
    tests: totals.tests,
    failures: totals.failures,
    errors: totals.errors,
    skipped: r.assertions.filter((a) => a.skipped).length,
    time: seconds(r),
    timestamp: r.startedAt,
    hostname: r.machine.os,
  });
  const props = suite.ele('properties');
  const properties: Array<[string, string | number]> = [
    ['seed', r.seed],
    ['worldHash', r.worldHash],
    ['runId', r.runId],
    ['mode', r.mode ?? 'live'],
    ['reclabVersion', r.versions.reclab],
    ['nodeVersion', r.versions.node],
    ['modelVersion', r.versions.modelVersion],
    ['exitCode', r.exitCode],
    ['outcome', r.outcome],
  ];
  for (const [name, value] of properties) props.ele('property', { name, value: String(value) });

  const classname = `reclab.${r.scenario}`;
  for (const a of r.assertions) {
    const tc = suite.ele('testcase', { name: a.expression, classname, time: '0' });
    if (a.skipped) tc.ele('skipped', { message: a.skipped });
    else if (!a.passed) {
      tc.ele('failure', {
        message: `observed ${a.observed}, threshold ${a.threshold}: ${a.expression}${a.note ? ` (${a.note})` : ''}`,
        type: 'BudgetBreached',
      }).txt(
        `${a.expression}\nobserved: ${a.observed}\nthreshold: ${a.threshold}${a.note ? `\nnote: ${a.note}` : ''}`,
      );
    }
  }
  if (r.outcome === 'fail' && totals.tests > r.assertions.length) {
    const tc = suite.ele('testcase', { name: 'run outcome', classname, time: seconds(r) });
    const kind = EXIT_KIND[r.exitCode] ?? 'failed';
    const imp = r.impressions;
    const lost = imp ? imp.published - imp.consumedOnTopic : 0;
    const detail =
      `exit code ${r.exitCode} (${kind}); ` +
      (imp
        ? `impressions published ${imp.published}, on topic ${imp.consumedOnTopic}${lost ? `, lost ${lost}` : ''}`
        : 'impressions not read back');
    tc.ele(totals.errors ? 'error' : 'failure', { message: detail, type: kind }).txt(detail);
  }
  suite.ele('system-out').txt(`seed=${r.seed} world=${r.worldHash}\nrerun: ${replayCommand(r)}\n`);
}

/** The JUnit XML document for one run, or for several (one testsuite each). */
export function renderJUnit(results: RunResult | readonly RunResult[]): string {
  const runs = (Array.isArray(results) ? results : [results]).map((r) => parseRunResult(r));
  const totals = runs.map(failuresOf);
  const sum = (k: 'tests' | 'failures' | 'errors') => totals.reduce((s, t) => s + t[k], 0);
  const root = create({ version: '1.0', encoding: 'UTF-8' }).ele('testsuites', {
    name: 'reclab',
    tests: sum('tests'),
    failures: sum('failures'),
    errors: sum('errors'),
    time: runs.reduce((s, r) => s + Number(seconds(r)), 0).toFixed(3),
  });
  for (const r of runs) addSuite(root, r);
  return root.end({ prettyPrint: true });
}

/**
 * Writes `<dir>/junit.xml` for one run (or several: one testsuite each), creating `dir` if needed;
 * written to a temporary file and renamed. Returns the path. Throws ReportError
 * (`RECLAB_ERR_REPORT_INVALID`) before touching the disk when a result does not match the schema.
 */
export async function writeJUnit(dir: string, result: RunResult | readonly RunResult[]): Promise<string> {
  const xml = renderJUnit(result);
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'junit.xml');
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${xml}\n`, 'utf8');
  await rename(tmp, path);
  return path;
}
