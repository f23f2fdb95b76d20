/**
 * `reclab sim --fidelity high` (issue 13; sim/hifi/): the real recommend() on simulated adapters,
 * in virtual time. It must be deterministic like the fleet run (same seed ⇒ the same trace hash
 * and summary; another seed ⇒ another hash), go through the same rungs as the fleet run under the
 * same faults (the fleet replica's surrogate of recommend() is honest about the ladder), and score
 * what it served against ground truth, so quality assertions are checked instead of skipped.
 *
 * The world is the small one the other integration tests use (2000 users × 1500 videos, seed 21;
 * built once into .reclab/cache), the scenario gpu-outage at a tenth of its length.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScenarioDefinition } from '../../scenarios/define.ts';
import { gpuOutage } from '../../scenarios/gpu-outage.ts';
import { redisFailure } from '../../scenarios/redis-failure.ts';
import { rungMix } from '../../scenarios/rung-mix.ts';
import { DEFAULT_FLEET } from '../../sim/fleet/fleet-spec.ts';
import { prepareHifi } from '../../sim/hifi/prepare.ts';
import type { HifiInputs } from '../../sim/hifi/simulate-high.ts';
import { simulateHigh } from '../../sim/hifi/simulate-high.ts';
import { type SimRun, simulate } from '../../sim/run/simulate.ts';

const ROOT = join(import.meta.dirname, '../..');
const small = (s: ScenarioDefinition): ScenarioDefinition => ({ ...s, world: { users: 2000, videos: 1500 } });

let hifi: (HifiInputs & { release(): Promise<void> }) | undefined;

beforeAll(async () => {
  hifi = await prepareHifi({
    scenario: small(gpuOutage),
    seed: 21,
    cacheDir: join(ROOT, '.reclab/cache'),
    coreEnv: {},
    log: () => {},
  });
}, 300_000);

afterAll(async () => {
  await hifi?.release();
});

const opts = (scenario: ScenarioDefinition, seed: number) => ({
  scenario: small(scenario),
  fleet: DEFAULT_FLEET,
  seed,
  durationScale: 0.3,
  reclabVersion: 'test',
});

/** Each measured phase's share of 200s per rung. */
const mix = (r: SimRun) =>
  Object.fromEntries(
    r.result.phases.filter((p) => !p.warmup).map((p) => [p.name, Object.fromEntries(rungMix(p.rungCounts))]),
  );

describe('reclab sim --fidelity high', () => {
  it('is deterministic: the same seed gives the same hash and summary, another seed another hash', async () => {
    const a = await simulateHigh(opts(gpuOutage, 3), hifi!);
    const b = await simulateHigh(opts(gpuOutage, 3), hifi!);
    expect(b.traceHash).toBe(a.traceHash);
    expect(JSON.stringify(b.result)).toBe(JSON.stringify(a.result));
    const c = await simulateHigh(opts(gpuOutage, 4), hifi!);
    expect(c.traceHash).not.toBe(a.traceHash);
  }, 120_000);

  it('goes through the fleet run’s rungs phase by phase under a ranker outage and a Redis failure', async () => {
    for (const scenario of [gpuOutage, redisFailure]) {
      const high = mix(await simulateHigh(opts(scenario, 5), hifi!));
      const fleet = mix(simulate(opts(scenario, 5)));
      expect(Object.keys(high)).toEqual(Object.keys(fleet));
      for (const [phase, shares] of Object.entries(fleet)) {
        for (const rung of new Set([...Object.keys(shares), ...Object.keys(high[phase])])) {
          const d = Math.abs((shares[rung] ?? 0) - (high[phase][rung] ?? 0));
          expect(d, `${scenario.name} ${phase} ${rung}`).toBeLessThanOrEqual(0.03);
        }
      }
    }
  }, 180_000);

  it('scores what it served: quality by phase and rung, and the quality assertion checked, not skipped', async () => {
    const run = await simulateHigh(opts(gpuOutage, 6), hifi!);
    const q = run.result.quality!;
    expect(run.result.versions.modelVersion).not.toBe('surrogate');
    const steady = q.served.byPhase.steady;
    const outage = q.served.byPhase.outage;
    expect(steady.byRung.full.lists).toBeGreaterThan(0);
    expect(outage.byRung.light_ranker.lists).toBeGreaterThan(0);
    expect(steady.byRung.full.metrics.expectedWatchTimeS.mean).toBeGreaterThan(
      q.references.byPhase.steady.byRung.random.metrics.expectedWatchTimeS.mean,
    );
    const a = run.result.assertions.find((x) => x.expression.startsWith('quality.expected_watch_time'));
    expect(a).toBeDefined();
    expect(a?.skipped).toBeUndefined();
    expect(a?.observed).toBeGreaterThan(0);
  }, 120_000);
});
