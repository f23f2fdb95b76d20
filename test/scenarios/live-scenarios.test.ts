import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toxiproxyNetworkPath } from '../../loadtest/infra/network-proxies.ts';
import { runScenario } from '../../loadtest/run.ts';
import { parseRunResult } from '../../reports/model.ts';
import { baseline } from '../../scenarios/baseline.ts';
import { gpuOutage } from '../../scenarios/gpu-outage.ts';
import { kafkaOutage } from '../../scenarios/kafka-outage.ts';
import { redisFailure } from '../../scenarios/redis-failure.ts';
import { liveRunOptions } from '../helpers/live-run.ts';

// End to end, nothing mocked: real Redis and Kafka containers, the core as its own process with
// FAISS and ONNX Runtime, open-model load. Shortened phases and a smaller world keep CI time down;
// the scenario definitions and their assertions are the real ones.
const common = { ...liveRunOptions('reclab-e2e-'), users: 5000, videos: 3000 };

describe('reclab run (live)', () => {
  it('baseline passes: p99 within budget, no errors, every 200 response has its impression on the topic', async () => {
    const s = await runScenario({ ...common, scenario: baseline, rateScale: 0.5, durationScale: 1 / 3 });
    expect(s.assertions.filter((a) => !a.passed)).toEqual([]);
    expect(s.exitCode).toBe(0);
    const steady = s.phases.find((p) => p.phase === 'steady')!;
    expect(steady.statusCounts['2xx']).toBeGreaterThan(450);
    // The scenario's own budget (rung_share{full} ≥ 0.99, asserted above through exitCode 0); the
    // reasons of any other rung are in the report.
    expect(steady.rungCounts.full).toBeGreaterThanOrEqual(steady.statusCounts['2xx'] * 0.99);
    expect(s.userEvents?.sent).toBeGreaterThan(0);
    // Refused batches are retried (Retry-After), so none is given up.
    expect(s.userEvents!.failed).toBe(0);
    expect(s.events?.lost).toBe(0);
    expect(s.coreExitCode).toBe(0);
    // The real consumer found exactly one message per 200 response.
    expect(s.impressions!.distinctOnTopic).toBe(s.impressions!.responses200);
    expect(s.impressions!.messagesOnTopic).toBe(s.impressions!.responses200);

    const summary = parseRunResult(JSON.parse(readFileSync(join(s.outDir, 'summary.json'), 'utf8')));
    expect(summary.seed).toBe(7);
    expect(summary.worldHash).toMatch(/^[0-9a-f]{64}$/);
    expect(summary.versions.modelVersion).toMatch(/^m-7-/);
    expect(summary.impressions!.published).toBe(s.impressions!.responses200);
    expect(summary.phases.find((p) => p.name === 'steady')?.histogramBase64).toBeTruthy();
    expect(existsSync(join(s.outDir, 'junit.xml'))).toBe(true);

    // Ground-truth quality, per phase and rung: random < served (full pipeline), NDCG ≤ the
    // oracle's, and the editorial rung's static list scores below the full pipeline.
    const full = s.quality.served.byPhase.steady.byRung.full.metrics;
    const refs = s.quality.references.all.byRung;
    for (const m of ['expectedWatchTimeS', 'ndcgAt10'] as const) {
      expect(full[m].mean, m).toBeGreaterThan(refs.random.metrics[m].mean * 1.2);
      expect(full[m].mean, m).toBeGreaterThan(refs.editorial.metrics[m].mean);
    }
    // NDCG is measured against the oracle's ranking, so the oracle bounds it. Expected watch time
    // is not bounded by the oracle: it is a list value under the choice model (items compete for
    // one click) while the oracle ranks by per-item value (sim/quality/item-gain.ts), so it is a
    // reference, not the best list. With the main ranker's own features (artifacts-7) the full
    // pipeline serves more than it (925.7 against 904.5 s in CI; 113% in a baseline run).
    expect(full.ndcgAt10.mean).toBeLessThanOrEqual(refs.oracle.metrics.ndcgAt10.mean);
    expect(summary.quality?.served.byPhase.steady.byRung.full.lists).toBe(steady.rungCounts.full);
  });

  // About 85 s; room for a container action that runs to its bound (loadtest/faults/container-faults.ts).
  it('redis-failure: Redis stopped, hung, slowed, restarted empty: popularity, zero 5xx, recovered after each, never `full` on missing data', {
    timeout: 300_000,
  }, async () => {
    // The scenario's `slow` fault needs Toxiproxy in front of Redis, as `reclab run` builds it.
    // 70/s: under this machine's knee (about 100/s, docs/performance.md), where the scenario's own
    // 100/s browned out 0.5–5.5% of the steady phase in quiet runs and once failed its `full` budget; the
    // recovery windows (3 s, 210 requests) still give a p99 of more than one request.
    const s = await runScenario({
      ...common,
      scenario: redisFailure,
      rateScale: 0.7,
      durationScale: 0.8,
      network: toxiproxyNetworkPath({ seed: 7 }),
    });
    // When a budget fails, the seconds around each fault say why (p99 and rung mix per second).
    for (const p of s.phases.filter((x) => x.phase === 'steady' || x.phase.startsWith('after_'))) {
      const seconds = p.series!.buckets.map((b) => `${b.p99Ms.toFixed(0)}ms ${JSON.stringify(b.rungCounts)}`);
      common.log(
        `${p.phase} per second: ${seconds.join(' | ')}; reasons ${JSON.stringify(p.reasonCounts ?? {})}`,
      );
    }
    // Every budget of the scenario, recovery_time_s < 10 after each fault included. (Inside the
    // suite it once failed after hang and slow: the content source's breaker, opened by the failed
    // recent-watches reads, stayed open past them; the pipeline now skips that source without its
    // breaker. docs/scenarios.md, redis-failure.)
    const recovery = s.assertions.filter((a) => a.expression.startsWith('recovery_time_s'));
    expect(recovery).toHaveLength(3);
    for (const a of recovery) common.log(`${a.expression}: observed ${a.observed}`);
    expect(s.assertions.filter((a) => !a.passed)).toEqual([]);
    // Each calm phase ends on `full`: its last 3 s (one second is 70 requests, where two
    // brownouts would already be 3%).
    for (const name of ['after_stop', 'after_hang', 'after_slow']) {
      const last = s.phases.find((p) => p.phase === name)!.series!.buckets.slice(-3);
      const full = last.reduce((n, b) => n + (b.rungCounts.full ?? 0), 0);
      expect(full, name).toBeGreaterThanOrEqual(last.reduce((n, b) => n + b.count, 0) * 0.95);
    }
    // After the data loss: no `full` response, every one from the kept popularity lists, and why.
    const lost = s.phases.find((p) => p.phase === 'data_lost')!;
    expect(lost.rungCounts.full ?? 0).toBe(0);
    expect(lost.rungCounts.popularity).toBe(lost.statusCounts['2xx']);
    expect(lost.reasonCounts?.['user_context RECLAB_ERR_FEATURES_MISSING']).toBeGreaterThan(0);
    expect(s.phases.every((p) => p.shortLists === 0)).toBe(true);
    for (const name of ['stop', 'hang', 'slow']) {
      const p = s.phases.find((x) => x.phase === name)!;
      expect(p.statusCounts['5xx']).toBe(0);
      expect(p.rungCounts.popularity ?? 0).toBeGreaterThan(p.statusCounts['2xx'] * 0.8);
    }
    // The popularity rung serves lists of lower ground-truth quality than the full pipeline did.
    const steadyFull = s.quality.served.byPhase.steady.byRung.full.metrics.expectedWatchTimeS.mean;
    const stopPopular = s.quality.served.byPhase.stop.byRung.popularity.metrics.expectedWatchTimeS.mean;
    expect(stopPopular).toBeLessThan(steadyFull);
    expect(s.exitCode).toBe(0);
  });

  it('kafka-outage: Kafka stopped for 20 s under load, then restarted; every impression and every accepted event reaches its topic', async () => {
    // The outage phase keeps its full 20 s (the fault is the point); the others are shortened.
    const scenario = {
      ...kafkaOutage,
      phases: kafkaOutage.phases.map((p) => (p.name === 'outage' || p.warmup ? p : { ...p, durationS: 8 })),
    };
    const s = await runScenario({ ...common, scenario, rateScale: 0.5 });
    expect(s.assertions.filter((a) => !a.passed)).toEqual([]);
    expect(s.impressions!.distinctOnTopic).toBe(s.impressions!.responses200);
    expect(s.phases.find((p) => p.phase === 'outage')?.statusCounts['2xx']).toBe(1000);
    // The fault is logged with its window: applied at the outage's start, ended (Kafka answering
    // again) after it.
    expect(s.faults).toEqual([
      expect.objectContaining({ phase: 'outage', target: 'kafka', kind: 'down', status: 'applied' }),
    ]);
    expect(Date.parse(s.faults[0].endedAt!) - Date.parse(s.faults[0].startedAt!)).toBeGreaterThan(19_000);
    // Every event the core accepted is on the events topic, read back by a real consumer.
    expect(s.events?.accepted).toBeGreaterThan(0);
    expect(s.events?.lost).toBe(0);
    expect(s.userEvents?.failed).toBe(0);
    expect(s.coreExitCode).toBe(0);
    expect(s.exitCode).toBe(0);
  });

  // A clean clone trains this world's models first (about 1.5 min), unless another test did.
  it('gpu-outage: the ranker tier process killed, then restarted; light ranker meanwhile, zero 5xx, back to full', {
    timeout: 600_000,
  }, async () => {
    // The scenario's own world (20,000 users × 10,000 videos): its budget says the light ranker's
    // lists are worth less than the main ranker's, which holds there (ratio 0.947 measured on seed 7
    // with artifacts-7, where the main ranker reads engagement columns the light one does not;
    // 0.993–0.994 before) but not in the smaller world of the other tests under artifacts-6, where
    // light beat full by 0.6% (issue 11; docs/behavior-model.md, "The main ranker's own features").
    const { users: _u, videos: _v, ...inScenarioWorld } = common;
    const s = await runScenario({ ...inScenarioWorld, scenario: gpuOutage, rateScale: 0.5 });
    expect(s.assertions.filter((a) => !a.passed)).toEqual([]);
    const outage = s.phases.find((p) => p.phase === 'outage')!;
    expect(outage.statusCounts['5xx']).toBe(0);
    expect(outage.reasonCounts?.['ranking RECLAB_ERR_RANKER_UNAVAILABLE']).toBeGreaterThan(0);
    expect(s.phases.find((p) => p.phase === 'recovery')!.rungCounts.full).toBeGreaterThan(0);
    expect(s.impressions!.distinctOnTopic).toBe(s.impressions!.responses200);
    expect(s.exitCode).toBe(0);
  });
});
