/**
 * The core's `/metrics` against the Prometheus conventions (issue 16): the real core process
 * (core/main.ts) on real Redis and Kafka, scraped after it served, linted by `promtool check metrics`
 * (built by scripts/setup/34-promtool.sh; the test fails without it), plus the naming guide's rules
 * promtool does not check; and every metric the alert rules (deploy/prometheus/alerts.yml) and the
 * Grafana dashboard (deploy/grafana/reclab-core.json) read exists in the scrape.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type CoreProcess, startCore } from '../../loadtest/core-process.ts';
import { configureContainerEngine } from '../../loadtest/infra/container-engine.ts';
import { type StartedKafka, startKafka } from '../../loadtest/infra/kafka.ts';
import { createTopic } from '../../loadtest/infra/kafka-topics.ts';
import { type StartedRedis, startRedis } from '../../loadtest/infra/redis.ts';
import { prepareWorld } from '../../loadtest/prepare-world.ts';
import { exposedNames, metricNamesIn, promtool } from '../helpers/promtool.ts';

configureContainerEngine(process.env);

/**
 * prom-client's default gauges whose standard names end in `_total` (counts of live handles,
 * requests, resources). Kept as prom-client names them so stock Node.js dashboards match; the one
 * exception to the lint, named here so that no other can slip in.
 */
const PROM_CLIENT_TOTAL_GAUGES = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

let redis: StartedRedis | undefined;
let kafka: StartedKafka | undefined;
let core: CoreProcess | undefined;
let scrape = '';

/** Every PromQL expression of the alert rules and of the dashboard's panels. */
function referencedExprs(): { where: string; expr: string }[] {
  const rules = parse(readFileSync('deploy/prometheus/alerts.yml', 'utf8')) as {
    groups: { rules: { alert: string; expr: string }[] }[];
  };
  const dashboard = JSON.parse(readFileSync('deploy/grafana/reclab-core.json', 'utf8')) as {
    panels: { title: string; targets?: { expr: string }[] }[];
    templating: { list: { name: string; definition?: string }[] };
  };
  return [
    ...rules.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr }))),
    ...dashboard.panels.flatMap((p) =>
      (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr })),
    ),
    ...dashboard.templating.list.flatMap((v) =>
      v.definition ? [{ where: `variable ${v.name}`, expr: v.definition }] : [],
    ),
  ];
}

describe('/metrics of the real core', () => {
  beforeAll(async () => {
    [redis, kafka] = await Promise.all([startRedis(), startKafka({ startupTimeoutMs: 90_000 })]);
    const world = await prepareWorld({
      seed: 7,
      users: 5000,
      videos: 3000,
      cacheDir: resolve('.reclab/cache'),
      redisUrl: redis.url,
      log: () => {},
    });
    const id = randomUUID().slice(0, 8);
    await createTopic(kafka.brokers, `impressions.${id}`);
    await createTopic(kafka.brokers, `events.${id}`);
    const out = mkdtempSync(join(tmpdir(), 'reclab-metrics-lint-'));
    core = await startCore(
      {
        RECLAB_REDIS_URL: redis.url,
        RECLAB_KAFKA_BROKERS: kafka.brokers.join(','),
        RECLAB_ARTIFACTS_DIR: world.artifactsDir,
        RECLAB_IMPRESSION_TOPIC: `impressions.${id}`,
        RECLAB_EVENTS_TOPIC: `events.${id}`,
        RECLAB_IMPRESSION_SPOOL_DIR: join(out, 'imp-spool'),
        RECLAB_EVENT_SPOOL_DIR: join(out, 'ev-spool'),
      },
      join(out, 'core.log'),
    );
    // Served traffic, so that labelled series exist: recommendations, an unknown route, a bad body.
    for (let i = 0; i < 40; i++) {
      const res = await fetch(`${core.url}/v1/recommendations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user_id: `u_${i}`, count: 10 }),
      });
      expect(res.status).toBe(200);
    }
    await fetch(`${core.url}/nope`);
    await fetch(`${core.url}/v1/recommendations`, { method: 'POST', body: '{' });
    scrape = await (await fetch(`${core.url}/metrics`)).text();
  });

  afterAll(async () => {
    await core?.stop(5000).catch(() => {});
    await Promise.all([kafka?.stop(), redis?.stop()]);
  });

  it('passes `promtool check metrics`: no finding but the three prom-client gauges kept by their standard names', () => {
    const r = promtool(['check', 'metrics'], scrape);
    console.log(r.output.trim() || 'promtool check metrics: no finding');
    const findings = r.output
      .split('\n')
      .filter((l) => l.trim() !== '')
      .filter((l) => !PROM_CLIENT_TOTAL_GAUGES.some((n) => l.startsWith(`${n} `) && l.includes('_total')));
    expect(findings, 'promtool findings').toEqual([]);
  });

  it('follows the naming guide where promtool does not look', () => {
    const types = [...scrape.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => ({ name: m[1], type: m[2] }));
    expect(types.length).toBeGreaterThan(40);
    for (const { name, type } of types) {
      // Counters end in _total and nothing else does; no milliseconds or other non-base units.
      if (!PROM_CLIENT_TOTAL_GAUGES.includes(name)) {
        expect(name.endsWith('_total'), `${name} (${type})`).toBe(type === 'counter');
      }
      expect(name, name).not.toMatch(/_(ms|milliseconds|microseconds|kb|mb|kilobytes|megabytes)(_|$)/);
      // The standard process and runtime metrics are prom-client's, unprefixed.
      expect(name, name).not.toMatch(/^reclab_(process|nodejs)_/);
    }
    const names = new Set(types.map((t) => t.name));
    for (const standard of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(names, standard).toContain(standard);
    }
    // Breaker state: one 0/1 series per state, exactly one 1 per breaker.
    const states = [
      ...scrape.matchAll(/^reclab_circuit_breaker_state\{breaker="([^"]+)",state="([^"]+)"\} (\S+)$/gm),
    ];
    expect(states.length).toBeGreaterThan(0);
    const ones = new Map<string, number>();
    for (const [, breaker, , value] of states) {
      expect(['0', '1']).toContain(value);
      ones.set(breaker, (ones.get(breaker) ?? 0) + Number(value));
    }
    for (const [breaker, n] of ones) expect(n, breaker).toBe(1);
    // Bulkhead, queue, shedding and brownout are exported.
    for (const n of [
      'reclab_bulkhead_running',
      'reclab_bulkhead_queued',
      'reclab_bulkhead_queue_delay_seconds',
      'reclab_bulkhead_shedding',
      'reclab_bulkhead_rejections_total',
      'reclab_admission_decisions_total',
      'reclab_admission_in_flight_cpu_seconds',
      'reclab_impressions_total',
      'reclab_event_consumer_lag',
      'reclab_drift_psi',
    ]) {
      expect(names, n).toContain(n);
    }
    // Every recommendation was admitted at some level (brownout may pick a cheaper one on a busy machine).
    const decisions = [...scrape.matchAll(/^reclab_admission_decisions_total\{decision="[^"]+"\} (\S+)$/gm)];
    expect(decisions.reduce((s, m) => s + Number(m[1]), 0)).toBe(40);
  });

  it('has every metric the alert rules and the Grafana dashboard read', () => {
    const exposed = exposedNames(scrape);
    const exprs = referencedExprs();
    expect(exprs.length).toBeGreaterThan(30);
    const missing = exprs.flatMap(({ where, expr }) =>
      metricNamesIn(expr)
        .filter((n) => !exposed.has(n))
        .map((n) => `${where}: ${n}`),
    );
    expect(missing).toEqual([]);
  });
});
