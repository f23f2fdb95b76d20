/**
 * The alert rules (deploy/prometheus/alerts.yml) under promtool, the tool Prometheus ships for it:
 * `check rules` (syntax, PromQL) and `test rules` on alerts.test.yml (each alert fires in one
 * situation and stays quiet in another). promtool is built by scripts/setup/34-promtool.sh; the
 * test fails (never skips) without it. Thresholds: seed 000 §8, seed 003 §9 (docs/observability.md).
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { promtool } from '../helpers/promtool.ts';

const RULES = 'deploy/prometheus/alerts.yml';
const TESTS = 'deploy/prometheus/alerts.test.yml';

interface RuleFile {
  groups: {
    name: string;
    rules: { alert: string; expr: string; for?: string; labels: { severity: string } }[];
  }[];
}
interface RuleTests {
  tests: { name: string; alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
}

const rules = () => (parse(readFileSync(RULES, 'utf8')) as RuleFile).groups.flatMap((g) => g.rules);

describe('alert rules (promtool)', () => {
  it('pass `promtool check rules`', () => {
    const r = promtool(['check', 'rules', RULES]);
    expect(r.output).toContain(`SUCCESS: ${rules().length} rules found`);
    expect(r.code).toBe(0);
  });

  it('pass `promtool test rules`: every alert is tested both firing and quiet', () => {
    const r = promtool(['test', 'rules', TESTS]);
    console.log(r.output.trim());
    expect(r.code, r.output).toBe(0);
    const cases = (parse(readFileSync(TESTS, 'utf8')) as RuleTests).tests.flatMap((t) => t.alert_rule_test);
    for (const { alert } of rules()) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(
        mine.some((c) => c.exp_alerts.length > 0),
        `${alert} is never tested firing`,
      ).toBe(true);
      expect(
        mine.some((c) => c.exp_alerts.length === 0),
        `${alert} is never tested quiet`,
      ).toBe(true);
    }
  });

  it("hold the seeds' thresholds: a drift rule moved off PSI 0.25 fails the tests", () => {
    const byName = Object.fromEntries(rules().map((r) => [r.alert, r]));
    expect(byName.ReclabFeatureDriftWarn.expr).toMatch(/> 0\.1\s*$/);
    expect(byName.ReclabFeatureDriftAct.expr).toMatch(/> 0\.25\s*$/);
    expect(byName.ReclabRecommendationP99OverBudget.expr).toMatch(/> 0\.3\s*$/);
    expect(byName.ReclabRecommendationP99OverBudget.for).toBe('5m');
    expect(byName.ReclabErrorRateHigh.expr).toMatch(/> 0\.01\s*$/);
    expect(byName.ReclabErrorRateHigh.for).toBe('2m');
    // The tests can fail: the same tests against rules whose act threshold is 0.35 (the tests' 0.3 PSI no longer acts).
    const dir = mkdtempSync(join(tmpdir(), 'reclab-alerts-'));
    writeFileSync(
      join(dir, 'alerts.yml'),
      readFileSync(RULES, 'utf8').replace(/\(reclab_drift_psi\) > 0\.25/, '(reclab_drift_psi) > 0.35'),
    );
    copyFileSync(TESTS, join(dir, 'alerts.test.yml'));
    const r = promtool(['test', 'rules', join(dir, 'alerts.test.yml')]);
    expect(r.code).not.toBe(0);
    expect(r.output).toContain('ReclabFeatureDriftAct');
  });
});
