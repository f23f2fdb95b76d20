import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareRuns, formatComparison, logMedianStdError } from '../../reports/compare.ts';
import { renderHtmlReport } from '../../reports/html.ts';
import { parseRunResult, type RunResult, runResultJsonSchema } from '../../reports/model.ts';
import { timelineOf } from '../../reports/timeline.ts';
import { rerenderReports, writeRunReports } from '../../reports/write.ts';
import { scenarios } from '../../scenarios/index.ts';
import { DEFAULT_FLEET } from '../../sim/fleet/fleet-spec.ts';
import { simulate } from '../../sim/run/simulate.ts';

// Real runs from the simulator (in process, ~1 s each): baseline twice with the same seed, and
// with other seeds for the run-to-run noise; gpu-outage for faults and the rung mix.
const sim = (name: string, seed: number): RunResult =>
  simulate({ scenario: scenarios[name], fleet: DEFAULT_FLEET, seed, reclabVersion: 'test' }).result;
const baseline = sim('baseline', 7);
const outage = sim('gpu-outage', 7);

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** The run with every latency (phase percentiles and per-second ones) multiplied by `factor`. */
function slower(r: RunResult, factor: number, only: 'p99' | 'all' = 'p99'): RunResult {
  const c = structuredClone(r);
  for (const p of c.phases) {
    p.latencyMs.p99 *= factor;
    if (only === 'all') {
      p.latencyMs.p50 *= factor;
      p.latencyMs.p95 *= factor;
    }
    for (const b of p.series?.buckets ?? []) b.p99Ms *= factor;
  }
  return c;
}

describe('index.html', () => {
  it('is written with summary.json and junit.xml, and reclab report re-renders it byte for byte', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reclab-report-'));
    dirs.push(dir);
    const paths = await writeRunReports(dir, outage);
    const html = await readFile(paths.html, 'utf8');
    const junit = await readFile(paths.junit, 'utf8');
    await writeFile(paths.html, 'stale');
    await rerenderReports(dir);
    expect(await readFile(paths.html, 'utf8')).toBe(html);
    expect(await readFile(paths.junit, 'utf8')).toBe(junit);
    // A pure function of the stored summary: rendering the in-memory result gives the same page.
    expect(renderHtmlReport(outage)).toBe(html);
  });

  it('is self-contained and shows assertions, faults, fleet and the replay command', () => {
    const html = renderHtmlReport(outage);
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
    expect(html).toContain('uPlot');
    expect(html).toContain('reclab sim gpu-outage --seed 7');
    expect(html).toContain('rung_share{phase:outage,rung:light_ranker}');
    expect(html).toContain('ranker_tier');
    expect(html).toContain('Simulated fleet');
    for (const id of ['latency', 'rate', 'rungs', 'errors', 'distribution'])
      expect(html).toContain(`id="chart-${id}"`);
  });

  it('escapes what comes from the run', () => {
    const r = structuredClone(baseline);
    r.assertions[0].expression = '</script><img src=x onerror=alert(1)>';
    const html = renderHtmlReport(r);
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;/script&gt;&lt;img');
  });

  it('puts the phases on one axis with the fault window where the scenario put it', () => {
    const t = timelineOf(parseRunResult(outage));
    const phase = t.phases.find((p) => p.name === 'outage')!;
    expect(t.faults).toEqual([{ label: 'ranker_tier down', fromX: phase.fromX, toX: phase.toX }]);
    expect(t.x).toEqual([...t.x].sort((a, b) => a - b));
    const i = t.x.indexOf(phase.fromX + 5);
    expect(t.rungs.find((r) => r.name === 'light_ranker')!.share[i]).toBe(1);
    expect(t.offeredQps[i]).toBe(100);
  });
});

describe('reclab compare', () => {
  it('does not flag two runs of the same scenario and seed', () => {
    const again = sim('baseline', 7);
    const c = compareRuns(baseline, again);
    expect(c.regressions).toBe(0);
    expect(c.metrics.find((m) => m.metric === 'latency p99 ms')!.change).toBe(1);
  });

  it('flags an injected 30% p99 regression, and only that', () => {
    const c = compareRuns(baseline, slower(baseline, 1.3));
    const flagged = c.metrics.filter((m) => m.regression);
    expect(flagged.map((m) => `${m.phase} ${m.metric}`)).toEqual(['steady latency p99 ms']);
    expect(formatComparison(c).at(-1)).toBe('1 regression(s)');
  });

  it('does not flag other seeds of the same scenario (run-to-run noise), nor a 5% slowdown', () => {
    for (const seed of [1, 2, 3]) expect(compareRuns(baseline, sim('baseline', seed)).regressions).toBe(0);
    expect(compareRuns(baseline, slower(baseline, 1.05, 'all')).regressions).toBe(0);
  });

  it('raises the latency threshold with the per-second noise', () => {
    expect(logMedianStdError([10, 10, 10, 10])).toBe(0);
    const noisy = structuredClone(baseline);
    const steady = noisy.phases.find((p) => p.name === 'steady')!;
    steady.series!.buckets.forEach((b, i) => {
      b.p99Ms *= i % 2 ? 3 : 0.4;
    });
    const c = compareRuns(noisy, slower(noisy, 1.3));
    const p99 = c.metrics.find((m) => m.metric === 'latency p99 ms')!;
    expect(p99.threshold).toBeGreaterThan(0.3);
    expect(p99.regression).toBe(false);
  });

  it('flags more shed requests and a lower full rung share', () => {
    const worse = structuredClone(baseline);
    const p = worse.phases.find((x) => x.name === 'steady')!;
    p.statusCounts['2xx'] -= 300;
    p.statusCounts['5xx'] += 300;
    p.statusCounts.shed = 300;
    p.rungCounts = { full: 2000, popularity: 700 };
    const flagged = compareRuns(baseline, worse)
      .metrics.filter((m) => m.regression)
      .map((m) => m.metric);
    expect(flagged).toEqual(['shed share', 'full rung share']);
  });
});

describe('docs/summary.schema.json', () => {
  it('is the schema summary.json is validated with (regenerate: reclab schema)', async () => {
    const stored = JSON.parse(
      await readFile(new URL('../../docs/summary.schema.json', import.meta.url), 'utf8'),
    );
    expect(stored).toEqual(runResultJsonSchema());
  });
});
