/**
 * Issue 12's acceptance: every built-in scenario fails with exit 3 when its budget is tightened or
 * its fault made worse — one test per scenario. Cheap on purpose: each runs the real scenario file
 * through the simulator (`simulate`, seconds of virtual time on a small fleet, the core's own
 * admission, breakers and ladder), so the suite never waits for a live run. What the simulator
 * cannot measure (the cold start's uploads and cohorts, live only) is checked by evaluating the
 * scenario's own assertions on measurements shaped like a live run's.
 *
 * Each test shows the chosen assertion holding as the scenario is written, and failing — with the
 * run's exit code 3 — once the budget is tightened or the fault made worse.
 */
import { describe, expect, it } from 'vitest';
import { EXIT, runVerdict } from '../../loadtest/run-verdict.ts';
import { evaluate, type RunMeasurements } from '../../scenarios/assertions.ts';
import {
  type Assertion,
  defineScenario,
  type Fault,
  formatAssertion,
  type ScenarioDefinition,
} from '../../scenarios/define.ts';
import { scenarios } from '../../scenarios/index.ts';
import { parseFleet } from '../../sim/fleet/fleet-spec.ts';
import { simulate } from '../../sim/run/simulate.ts';

const small = parseFleet({ replicas: { count: 4 }, redis: { shards: 2 }, rankerPool: { nodes: 4 } });
const sim = (scenario: ScenarioDefinition) =>
  simulate({ scenario, fleet: small, seed: 7, qps: 600, durationScale: 0.5, reclabVersion: 'test' }).result;

/** The outcome of `s`'s assertion written as `expression` (in `s` as written) in a run of `run`. */
function outcome(s: ScenarioDefinition, result: ReturnType<typeof sim>, expression: string) {
  const i = s.assertions.findIndex((a) => formatAssertion(a) === expression);
  if (i < 0) throw new Error(`no assertion ${expression} in ${s.name}`);
  return result.assertions[i];
}

/** The scenario with the value of the assertion written as `expression` replaced. */
function tightened(s: ScenarioDefinition, expression: string, value: number): ScenarioDefinition {
  let found = false;
  const assertions = s.assertions.map((a) => {
    if (formatAssertion(a) !== expression) return a;
    found = true;
    return { ...a, value } as Assertion;
  });
  if (!found) throw new Error(`no assertion ${expression} in ${s.name}`);
  return defineScenario({ ...s, assertions });
}

/** The scenario with `faults` added to phase `phase`. */
function withFaults(s: ScenarioDefinition, phase: string, faults: Fault[]): ScenarioDefinition {
  return defineScenario({
    ...s,
    phases: s.phases.map((p) => (p.name === phase ? { ...p, faults: [...(p.faults ?? []), ...faults] } : p)),
  });
}

/** As written the assertion holds; on the worse variant it fails and the run exits 3. */
function expectBites(s: ScenarioDefinition, worse: ScenarioDefinition, expression: string) {
  const asIs = outcome(s, sim(s), expression);
  expect(asIs, `${s.name} as written`).toMatchObject({ passed: true });
  expect(asIs.skipped).toBeUndefined();
  const w = sim(worse);
  expect(outcome(s, w, expression), `${s.name} made worse`).toMatchObject({ passed: false });
  expect(w.exitCode).toBe(3);
}

/** Tightens a latency or share budget to half of (or just past) what the run as written observed. */
function expectTightenedFails(s: ScenarioDefinition, expression: string) {
  const observed = outcome(s, sim(s), expression);
  expect(observed).toMatchObject({ passed: true });
  expect(observed.observed).toBeGreaterThan(0);
  expectBites(s, tightened(s, expression, observed.observed / 2), expression);
}

const cases: Record<string, () => void> = {
  baseline: () => expectTightenedFails(scenarios.baseline, 'http_req_duration{phase:steady} p(99) <= 200'),

  // Redis stays down through the calm phase after `stop`: no recovery within 10 s of the fault's end.
  'redis-failure': () => {
    const s = scenarios['redis-failure'];
    expectBites(
      s,
      withFaults(s, 'after_stop', [{ target: 'redis', kind: 'down', fromS: 0 }]),
      'recovery_time_s{phase:stop,baseline:steady} < 10',
    );
  },

  'kafka-outage': () =>
    expectTightenedFails(scenarios['kafka-outage'], 'http_req_duration{phase:outage} p(99) <= 200'),

  // The tier down through recovery as well: the core never climbs back to `full`.
  'gpu-outage': () => {
    const s = scenarios['gpu-outage'];
    expectBites(
      s,
      withFaults(s, 'recovery', [{ target: 'ranker_tier', kind: 'down', fromS: 0 }]),
      'rung_share{phase:recovery,rung:full} rate >= 0.5',
    );
  },

  // The tier slow through recovery as well: not back to normal within 10 s of the fault's end.
  'gpu-slow': () => {
    const s = scenarios['gpu-slow'];
    expectBites(
      s,
      withFaults(s, 'recovery', [{ target: 'ranker_tier', kind: 'slow', slowFactor: 10, fromS: 0 }]),
      'recovery_time_s{phase:slow,baseline:steady} < 10',
    );
  },

  'viral-spike': () =>
    expectTightenedFails(scenarios['viral-spike'], 'http_req_duration{phase:spike} p(99) <= 200'),

  'cold-start': () => {
    const s = scenarios['cold-start'];
    expectTightenedFails(s, 'http_req_duration{phase:wave} p(99) <= 200');
    // The uploads and the cohorts are live-only: the scenario's own assertions on measurements
    // shaped like a live run's, then with the uploads made worse (half never served, one leaked).
    const live = coldStartMeasurements(Array(200).fill(2), 0);
    const worse = coldStartMeasurements([...Array(100).fill(2), ...Array(100).fill(null)], 1);
    const uploads = s.assertions.filter((a) => a.metric.startsWith('uploads_') || 'cohort' in a);
    expect(uploads.length).toBeGreaterThanOrEqual(5);
    const verdict = (m: RunMeasurements) => {
      const out = uploads.map((a) => evaluate(a, m));
      expect(out.every((o) => !o.skipped)).toBe(true);
      return runVerdict({
        impressionsLost: 0,
        eventsLost: 0,
        coreExitCode: 0,
        budgetsOk: out.every((o) => o.passed),
      });
    };
    expect(verdict(live)).toBe(EXIT.pass);
    expect(verdict(worse)).toBe(3);
  },
};

/** What the cold start's live-only assertions read: uploads and cohort quality. */
function coldStartMeasurements(timesToListS: (number | null)[], leakedItems: number): RunMeasurements {
  const group = (lists: number, watch: number) => ({
    lists,
    coverage: 0.3,
    metrics: { expectedWatchTimeS: { mean: watch } },
  });
  const phase = (name: string) => ({
    phase: name,
    warmup: false,
    offeredQps: 100,
    achievedQps: 100,
    latencyMs: { count: 1000, p50: 10, p95: 30, p99: 60 },
    statusCounts: { '2xx': 1000, '4xx': 0, '5xx': 0, errors: 0, timeouts: 0 },
    rungCounts: { full: 1000 },
  });
  return {
    phases: ['steady', 'wave', 'after'].map(phase),
    responses200: 3000,
    impressionsOnTopic: 3000,
    quality: {
      byPhase: Object.fromEntries(
        ['steady', 'wave', 'after'].map((p) => [p, { overall: group(1000, 600), byRung: {} }]),
      ),
    },
    qualityCohorts: {
      byPhase: {
        wave: { overall: group(1000, 600), byRung: { cold: group(300, 450), warm: group(700, 650) } },
      },
    },
    uploads: {
      timesToListS,
      leakedItems,
      byPhase: {
        wave: { items: 30_000, uploadItems: 900, explorationItems: 300 },
        after: { items: 15_000, uploadItems: 450, explorationItems: 100 },
      },
    },
  };
}

describe('every built-in scenario fails with exit 3 when its budget is tightened or its fault made worse', () => {
  it('has a case for every built-in scenario', () => {
    expect(Object.keys(cases).sort()).toEqual(Object.keys(scenarios).sort());
  });
  for (const [name, check] of Object.entries(cases)) it(name, check);
});
