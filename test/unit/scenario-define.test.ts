/**
 * The scenario model v2 (scenarios/define.ts): schema validation with one line per problem, the
 * built-in scenarios and aliases, typed core settings, scaling.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { coreEnvOf } from '../../scenarios/core-settings.ts';
import { defineScenario, formatAssertion, parseScenario, ScenarioError } from '../../scenarios/define.ts';
import { builtInScenario, scenarios } from '../../scenarios/index.ts';
import { loadScenario } from '../../scenarios/load.ts';
import { peakMeasuredRateQps, scaleScenario } from '../../scenarios/scale.ts';

const valid = {
  name: 'mine',
  description: 'a user scenario',
  world: { users: 100, videos: 100 },
  phases: [
    { name: 'warmup', arrivals: { kind: 'constant', rateQps: 10 }, durationS: 2, warmup: true },
    { name: 'steady', arrivals: { kind: 'poisson', rateQps: 50 }, durationS: 10 },
    {
      name: 'outage',
      arrivals: { kind: 'spike', baseQps: 50, peakQps: 150, atS: 2, riseS: 1, holdS: 2, decayS: 1 },
      durationS: 10,
      faults: [{ target: 'redis', kind: 'latency', latencyMs: 200, jitterMs: 50, fromS: 1, toS: 6 }],
    },
  ],
  assertions: [
    { metric: 'http_req_duration', stat: 'p(99.9)', op: '<', value: 500 },
    {
      metric: 'quality.expected_watch_time',
      stat: 'ratio_to',
      phase: 'outage',
      baseline: 'steady',
      op: '>=',
      value: 0.6,
    },
    { metric: 'recovery_time_s', baseline: 'steady', op: '<', value: 10 },
  ],
  core: { breaker: { openMs: 2000 }, deadlines: { rankingMs: 80 } },
};

function problems(value: unknown): string[] {
  try {
    parseScenario(value);
  } catch (err) {
    expect(err).toBeInstanceOf(ScenarioError);
    expect((err as ScenarioError).code).toBe('RECLAB_ERR_SCENARIO_INVALID');
    return [...(err as ScenarioError).problems];
  }
  return [];
}

describe('scenario model v2: validation', () => {
  it('accepts a valid scenario and fills in defaults (fault fromS 0)', () => {
    const s = defineScenario({
      ...valid,
      phases: [
        ...valid.phases,
        {
          name: 'after',
          arrivals: { kind: 'ramp', fromQps: 50, toQps: 10 },
          durationS: 5,
          faults: [{ target: 'kafka', kind: 'down' }],
        },
      ],
    } as never);
    expect(s.phases[3].faults?.[0]).toEqual({ target: 'kafka', kind: 'down', fromS: 0 });
    expect(problems(valid)).toEqual([]);
  });

  it('lists every shape problem, one line each, with its path', () => {
    const bad = {
      ...valid,
      name: 'Has Spaces',
      phases: [
        { name: 'steady', rateQps: 100, durationS: 10 },
        { name: 'x', arrivals: { kind: 'zigzag' }, durationS: -1 },
      ],
    };
    const p = problems(bad);
    expect(p).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^name: /),
        expect.stringMatching(/^phases\[0\]: unknown field\(s\) 'rateQps' \(v1: write arrivals/),
        expect.stringMatching(/^phases\[0\]\.arrivals: /),
        expect.stringMatching(/^phases\[1\]\.durationS: /),
        expect.stringMatching(/^phases\[1\]\.arrivals/),
      ]),
    );
  });

  it('lists every cross-field problem: windows, spike timing, phases named, ranker tier, core settings', () => {
    const bad = {
      ...valid,
      phases: [
        valid.phases[0],
        valid.phases[1],
        {
          name: 'outage',
          arrivals: { kind: 'spike', baseQps: 50, peakQps: 150, atS: 8, riseS: 1, holdS: 2, decayS: 1 },
          durationS: 10,
          faults: [
            { target: 'redis', kind: 'latency', fromS: 4, toS: 3 },
            { target: 'redis', kind: 'down', fromS: 12 },
            { target: 'redis', kind: 'restart_empty', toS: 5 },
            { target: 'ranker_tier', kind: 'nan', slowFactor: 3 },
          ],
        },
        { name: 'steady', arrivals: { kind: 'constant', rateQps: 0 }, durationS: 1 },
      ],
      assertions: [
        { metric: 'rung_share', rung: 'full', phase: 'nope', stat: 'rate', op: '>=', value: 0.9 },
        { metric: 'errors_5xx', phase: 'warmup', stat: 'count', op: '==', value: 0 },
        { metric: 'quality.ndcg_at_10', stat: 'ratio_to', phase: 'outage', op: '>=', value: 0.8 },
        { metric: 'recovery_time_s', target: 'kafka', baseline: 'steady', op: '<', value: 10 },
      ],
      core: { bulkhead: { maxConcurrent: 64 }, deadlines: { userMs: 0.5 } },
    };
    expect(problems(bad).sort()).toEqual(
      [
        "phases[2].arrivals: spike ends at 12 s (atS + riseS + holdS + decayS), after the phase's 10 s",
        "phases[2].faults[0].latencyMs: kind 'latency' needs latencyMs",
        'phases[2].faults[0].toS: toS must be after fromS (4 s)',
        'phases[2].faults[1].fromS: 12 s is not inside the phase (10 s)',
        'phases[2].faults[2].toS: restart_empty is an event: no toS',
        'phases[2].faults[3]: a ranker_tier fault needs rankerTier: true',
        "phases[2].faults[3]: slowFactor belongs to kind 'slow'",
        "phases[3].name: duplicate phase name 'steady'",
        'phases[3].arrivals: the process offers no request',
        "assertions[0].phase: no phase 'nope' (phases: warmup, steady, outage)",
        "assertions[1].phase: phase 'warmup' is a warm-up: never measured",
        'assertions[2].baseline: ratio_to needs a baseline phase',
        'assertions[3]: recovery_time_s selects no fault',
      ]
        .concat(problems(bad).filter((p) => p.startsWith('core:')))
        .sort(),
    );
    // The core's own config schema judges the settings (RECLAB_DEADLINE_USER_MS ≥ 1).
    expect(problems(bad).filter((p) => p.startsWith('core:'))).toEqual([
      expect.stringMatching(/^core: the core refuses these settings: .*RECLAB_DEADLINE_USER_MS/),
    ]);
  });

  it('a viral phase: accepted and scaled; atS inside the phase, users’ events on, an assertion that has one', () => {
    const viralPhase = { ...valid.phases[1], viral: { atS: 4, users: 50, eventsPerS: 20 } };
    const ok = parseScenario({
      ...valid,
      phases: [valid.phases[0], viralPhase, valid.phases[2]],
      assertions: [{ metric: 'viral_time_to_list_s', op: '<', value: 60 }],
    });
    expect(ok.phases[1].viral).toEqual({ atS: 4, users: 50, eventsPerS: 20 });
    expect(ok.assertions[0]).toMatchObject({ stat: 'max' });
    expect(scaleScenario(ok, { rateScale: 2, durationScale: 0.5 }).phases[1].viral).toEqual({
      atS: 2,
      users: 50,
      eventsPerS: 40,
    });
    expect(
      problems({
        ...valid,
        phases: [
          valid.phases[0],
          { ...valid.phases[1], viral: { atS: 1, users: 0, eventsPerS: 20 } },
          { ...valid.phases[2], viral: { atS: 1, users: 5, eventsPerS: 1, region: 'eu' } },
        ],
      }).sort(),
    ).toEqual([
      expect.stringMatching(/^phases\[1\]\.viral\.users: /),
      "phases[2].viral: unknown field(s) 'region'",
    ]);
    expect(
      problems({
        ...valid,
        userEvents: false,
        phases: [valid.phases[0], { ...valid.phases[1], viral: { atS: 10, users: 5, eventsPerS: 20 } }],
        assertions: [],
      }).sort(),
    ).toEqual([
      'phases[1].viral.atS: 10 s is not inside the phase (10 s)',
      "phases[1].viral: a viral video needs the simulated users' events (userEvents not false)",
    ]);
    expect(
      problems({ ...valid, assertions: [{ metric: 'viral_time_to_list_s', op: '<', value: 60 }] }),
    ).toEqual(['assertions[0]: viral_time_to_list_s needs a phase with viral']);
  });

  it('typed core settings map to the core’s variables', () => {
    expect(
      coreEnvOf({
        breaker: { openMs: 2000 },
        bulkhead: { maxQueue: 0 },
        rankingCascadeTopN: 100,
        brownout: { enabled: false, leanMaxMs: 120 },
      }),
    ).toEqual({
      RECLAB_BREAKER_OPEN_MS: '2000',
      RECLAB_BULKHEAD_MAX_QUEUE: '0',
      RECLAB_RANKING_CASCADE_TOP_N: '100',
      RECLAB_BROWNOUT: 'off',
      RECLAB_BROWNOUT_LEAN_MAX_MS: '120',
    });
    expect(problems({ ...valid, core: { RECLAB_BREAKER_OPEN_MS: '2000' } })).toEqual([
      "core: unknown field(s) 'RECLAB_BREAKER_OPEN_MS'",
    ]);
  });

  it('formats assertions as k6-like expressions', () => {
    const s = parseScenario(valid);
    expect(s.assertions.map(formatAssertion)).toEqual([
      'http_req_duration p(99.9) < 500',
      'quality.expected_watch_time{phase:outage} ratio_to{phase:steady} >= 0.6',
      'recovery_time_s{baseline:steady} < 10',
    ]);
  });
});

describe('built-in scenarios', () => {
  it('every built-in scenario validates; ranker-outage is an alias of gpu-outage', () => {
    for (const s of Object.values(scenarios)) expect(() => parseScenario(s)).not.toThrow();
    expect(builtInScenario('ranker-outage')).toBe(scenarios['gpu-outage']);
    expect(scenarios['gpu-outage'].core).toEqual({ breaker: { openMs: 2000 } });
  });

  it('loads by name, alias and path; an unknown name or a bad file is a ScenarioError', async () => {
    expect((await loadScenario('ranker-outage')).name).toBe('gpu-outage');
    await expect(loadScenario('nope')).rejects.toMatchObject({
      code: 'RECLAB_ERR_SCENARIO_INVALID',
      message: expect.stringContaining('ranker-outage (= gpu-outage)'),
    });
    const dir = mkdtempSync(join(process.cwd(), 'test', '.tmp-scenario-'));
    try {
      const file = join(dir, 'mine.mts');
      writeFileSync(file, `export default ${JSON.stringify(valid)};\n`);
      expect((await loadScenario(file)).phases[2].faults?.[0].kind).toBe('latency');
      const bad = join(dir, 'bad.mts');
      writeFileSync(bad, `export const s = ${JSON.stringify({ ...valid, phases: [] })};\n`);
      await expect(loadScenario(bad)).rejects.toMatchObject({
        problems: expect.arrayContaining([expect.stringMatching(/^phases: /)]),
      });
    } finally {
      const { rmSync } = await import('node:fs');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('scales rates everywhere and measured times only (warm-up keeps its duration)', () => {
    const s = scaleScenario(parseScenario(valid), { rateScale: 2, durationScale: 0.5 });
    expect(s.phases[0]).toMatchObject({ durationS: 2, arrivals: { rateQps: 20 } });
    expect(s.phases[1]).toMatchObject({ durationS: 5, arrivals: { rateQps: 100 } });
    expect(s.phases[2]).toMatchObject({
      durationS: 5,
      arrivals: { baseQps: 100, peakQps: 300, atS: 1, riseS: 0.5, holdS: 1, decayS: 0.5 },
      faults: [{ fromS: 0.5, toS: 3 }],
    });
    expect(peakMeasuredRateQps(parseScenario(valid))).toBe(150);
  });
});
