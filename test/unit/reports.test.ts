import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { create } from 'xmlbuilder2';
import { writeSummaryJson } from '../../reports/json.ts';
import { renderJUnit, writeJUnit } from '../../reports/junit.ts';
import {
  PhaseSchema,
  parseRunResult,
  type RunResult,
  RunResultSchema,
  replayCommand,
  runResultJsonSchema,
} from '../../reports/model.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'reclab-reports-'));
  dirs.push(d);
  return d;
}

const latency = (p99: number) => ({
  count: 3000,
  mean: 20,
  p50: 12,
  p90: 40,
  p95: 60,
  p99,
  p999: p99 * 1.5,
  max: p99 * 2,
});

function sample(overrides: Partial<RunResult> = {}): RunResult {
  return {
    schemaVersion: 1,
    runId: 'baseline-20250101T000000-s42',
    scenario: 'baseline',
    seed: 42,
    worldHash: 'w-3f9a1c',
    versions: {
      reclab: '0.1.0',
      node: 'v20.20.2',
      modelVersion: 'mmoe-3f9a1c',
      images: { redis: 'localhost/reclab-redis:7' },
    },
    machine: { cpus: 2, memGiB: 8, os: 'Linux 6.1' },
    startedAt: '2025-01-01T00:00:00.000Z',
    endedAt: '2025-01-01T00:01:30.500Z',
    phases: [
      {
        name: 'warmup',
        warmup: true,
        offeredQps: 50,
        achievedQps: 50,
        durationS: 10,
        latencyMs: latency(80),
        statusCounts: { '2xx': 500, '4xx': 0, '5xx': 0, errors: 0, timeouts: 0 },
        late: 0,
        dropped: 0,
        rungCounts: { full: 500 },
      },
      {
        name: 'steady',
        offeredQps: 100,
        achievedQps: 99.5,
        durationS: 60,
        latencyMs: latency(212.4),
        statusCounts: { '2xx': 5960, '4xx': 0, '5xx': 10, errors: 0, timeouts: 0 },
        late: 3,
        dropped: 0,
        rungCounts: { full: 5900, popularity: 60 },
        histogramBase64: 'HISTFAAAABx4nJNpmSzMwMDAxAABzFCaEUTP2fYBABvYAuA=',
      },
    ],
    assertions: [
      {
        expression: 'http_req_duration{phase:steady} p(99) < 150',
        observed: 212.4,
        threshold: 150,
        passed: false,
      },
      { expression: 'errors_5xx count == 0', observed: 10, threshold: 0, passed: false },
      {
        expression: 'rung_share{rung:popularity} rate < 0.05',
        observed: 0.01,
        threshold: 0.05,
        passed: true,
      },
    ],
    impressions: { published: 6460, consumedOnTopic: 6460 },
    outcome: 'fail',
    exitCode: 3,
    ...overrides,
  };
}

type XmlObject = Record<string, unknown>;
const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
/**
 * xmlbuilder2's object format keeps the predefined entities encoded (it is meant to be turned back
 * into XML; its DOM does decode them): decode them to compare with the original strings.
 */
function decodeEntities(v: unknown): unknown {
  if (typeof v === 'string') {
    return v.replace(
      /&(lt|gt|quot|apos|amp);/g,
      (_, e: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[e]!,
    );
  }
  if (Array.isArray(v)) return v.map(decodeEntities);
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decodeEntities(x)]));
  return v;
}
function parseJUnit(xml: string): XmlObject {
  return decodeEntities(create(xml).end({ format: 'object' })) as XmlObject;
}

describe('writeSummaryJson', () => {
  it('writes <dir>/summary.json that parses back to the same result', async () => {
    const dir = join(await tmp(), 'nested', 'run');
    const path = await writeSummaryJson(dir, sample());
    expect(path).toBe(join(dir, 'summary.json'));
    const back = JSON.parse(await readFile(path, 'utf8'));
    expect(RunResultSchema.parse(back)).toEqual(sample());
    expect(await readdir(dir)).toEqual(['summary.json']); // no temporary file left behind
  });

  it('rejects an invalid result with every problem listed, and writes nothing', async () => {
    const dir = await tmp();
    const bad = {
      ...sample(),
      schemaVersion: 2,
      seed: 1.5,
      phases: [{ ...sample().phases[1], late: -1 }],
    } as unknown as RunResult;
    const err = await writeSummaryJson(dir, bad).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'RECLAB_ERR_REPORT_INVALID' });
    const paths = (err as { issues: { path: PropertyKey[] }[] }).issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['schemaVersion', 'seed', 'phases.0.late']));
    expect(await readdir(dir)).toEqual([]);
  });

  it('rejects verdicts that disagree: pass with a non-zero exit code or a failed assertion', () => {
    expect(() => parseRunResult(sample({ outcome: 'pass', exitCode: 3 }))).toThrow(
      /outcome pass with exit code 3/,
    );
    expect(() => parseRunResult(sample({ outcome: 'pass', exitCode: 0 }))).toThrow(/failed assertion/);
    expect(() => parseRunResult(sample({ outcome: 'fail', exitCode: 0 }))).toThrow(
      /outcome fail with exit code 0/,
    );
    expect(() => parseRunResult(sample({ endedAt: '2024-12-31T23:59:59Z' }))).toThrow(/endedAt/);
  });

  it('accepts the open-model driver phase figures (the runner maps phase → name)', () => {
    const driverPhase = {
      phase: 'steady',
      offeredQps: 200,
      achievedQps: 199.7,
      durationS: 3,
      latencyMs: latency(9),
      statusCounts: { '2xx': 599, '3xx': 0, '4xx': 0, '5xx': 0, errors: 0, timeouts: 0 },
      late: 0,
      dropped: 0,
      rungCounts: { full: 599 },
      histogramBase64: 'HISTFAAAABx4nJNpmSzMwMDAxAABzFCaEUTP2fYBABvYAuA=',
    };
    expect(PhaseSchema.safeParse({ name: driverPhase.phase, ...driverPhase }).success).toBe(true);
  });

  it('publishes the contract as JSON Schema', () => {
    const schema = runResultJsonSchema() as {
      properties: Record<string, { const?: unknown }>;
      required: string[];
    };
    expect(schema.properties.schemaVersion.const).toBe(1);
    expect(schema.required).toEqual(
      expect.arrayContaining(['runId', 'seed', 'worldHash', 'phases', 'exitCode']),
    );
  });
});

describe('writeJUnit', () => {
  it('writes one testsuite per scenario, one testcase per assertion, failures with observed vs threshold', async () => {
    const dir = await tmp();
    const path = await writeJUnit(dir, sample());
    expect(path).toBe(join(dir, 'junit.xml'));
    const doc = parseJUnit(await readFile(path, 'utf8'));
    const suites = doc.testsuites as XmlObject;
    expect(suites['@tests']).toBe('3');
    expect(suites['@failures']).toBe('2');
    const suite = suites.testsuite as XmlObject;
    expect(suite['@name']).toBe('baseline');
    expect(suite['@failures']).toBe('2');
    expect(suite['@errors']).toBe('0');
    expect(suite['@time']).toBe('90.500');

    const props = asArray((suite.properties as XmlObject).property as XmlObject[]);
    const prop = (name: string) => props.find((p) => p['@name'] === name)?.['@value'];
    expect(prop('seed')).toBe('42');
    expect(prop('worldHash')).toBe('w-3f9a1c');

    const cases = asArray(suite.testcase as XmlObject[]);
    expect(cases.map((c) => c['@name'])).toEqual(sample().assertions.map((a) => a.expression)); // `<` survives escaping
    const failures = cases.filter((c) => c.failure !== undefined).map((c) => c.failure as XmlObject);
    expect(failures).toHaveLength(2);
    expect(failures[0]['@message']).toBe(
      'observed 212.4, threshold 150: http_req_duration{phase:steady} p(99) < 150',
    );
    expect(cases[2].failure).toBeUndefined();

    expect(String(suite['system-out'])).toContain('rerun: reclab run baseline --seed 42');
  });

  it('shows a run that failed with every assertion holding (lost impressions, exit 4) as a failure', () => {
    const r = sample({
      assertions: [{ expression: 'errors_5xx count == 0', observed: 0, threshold: 0, passed: true }],
      impressions: { published: 100, consumedOnTopic: 97 },
      exitCode: 4,
    });
    const suite = (parseJUnit(renderJUnit(r)).testsuites as XmlObject).testsuite as XmlObject;
    expect(suite['@tests']).toBe('2');
    expect(suite['@failures']).toBe('1');
    const outcome = asArray(suite.testcase as XmlObject[]).find((c) => c['@name'] === 'run outcome')!;
    expect((outcome.failure as XmlObject)['@message']).toMatch(/exit code 4 .*lost 3/);
  });

  it('reports a crash (exit 1) as an error, and several runs as several suites', () => {
    const crashed = sample({ scenario: 'redis-failure', assertions: [], exitCode: 1, mode: 'sim', seed: 7 });
    const doc = parseJUnit(renderJUnit([sample(), crashed]));
    const suites = asArray((doc.testsuites as XmlObject).testsuite as XmlObject[]);
    expect(suites.map((s) => s['@name'])).toEqual(['baseline', 'redis-failure']);
    expect(suites[1]['@errors']).toBe('1');
    expect(suites[1]['@failures']).toBe('0');
    expect(String(suites[1]['system-out'])).toContain('rerun: reclab sim redis-failure --seed 7');
    expect((doc.testsuites as XmlObject)['@failures']).toBe('2');
    expect((doc.testsuites as XmlObject)['@errors']).toBe('1');
  });

  it('rejects an invalid result before writing', async () => {
    const dir = await tmp();
    await expect(writeJUnit(dir, { ...sample(), scenario: '' })).rejects.toMatchObject({
      code: 'RECLAB_ERR_REPORT_INVALID',
    });
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('replayCommand', () => {
  it('names the runner, the scenario and the seed', () => {
    expect(replayCommand({ scenario: 'gpu-outage', seed: 9 })).toBe('reclab run gpu-outage --seed 9');
  });
});
