import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { Ajv } from 'ajv';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { REGIONS } from '../../core/features/schema.ts';
import { K6_EXECUTOR_FIELDS, K6_THRESHOLD_RE, k6Script } from '../../loadtest/export/k6-script.ts';
import { k6OperatorManifests, loadJobManifests } from '../../loadtest/export/k8s-manifests.ts';
import { meanRateQps } from '../../scenarios/arrivals.ts';
import { scenarios } from '../../scenarios/index.ts';

const USERS = 500;
const userRegions = Uint8Array.from({ length: USERS }, (_, i) => i % REGIONS.length);

/** The CRD's schema of a TestRun (k6-operator v1.6.0, copied unchanged in test/reference). */
const crdPath = fileURLToPath(new URL('../reference/k6-operator/k6.io_testruns.yaml', import.meta.url));
function testRunSchema(): object {
  const crd = parseYaml(readFileSync(crdPath, 'utf8')) as {
    spec: { versions: { name: string; schema: { openAPIV3Schema: object } }[] };
  };
  return crd.spec.versions.find((v) => v.name === 'v1alpha1')!.schema.openAPIV3Schema;
}

interface Recorded {
  url: string;
  body: string;
  phase: string;
}

/**
 * Runs a k6 script's module code with stand-ins for k6's modules: the imports are checked (k6 only),
 * `http.post` records each request. Returns the exports and the recorder.
 */
function loadK6Script(source: string) {
  // Static: parse as an ES module and list its imports.
  const sf = ts.createSourceFile('script.js', source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const diagnostics = (sf as unknown as { parseDiagnostics: ts.Diagnostic[] }).parseDiagnostics;
  expect(diagnostics.map((d) => d.messageText)).toEqual([]);
  const imports = sf.statements
    .filter(ts.isImportDeclaration)
    .map((d) => (d.moduleSpecifier as ts.StringLiteral).text);
  for (const m of imports) expect(m === 'k6' || m.startsWith('k6/')).toBe(true);

  const recorded: Recorded[] = [];
  const counters: Record<string, number> = {};
  const current = { name: '', iterationInTest: 0 };
  const modules: Record<string, unknown> = {
    'k6/http': {
      default: {
        post: (url: string, body: string) => {
          recorded.push({ url, body, phase: current.name });
          const u = JSON.parse(body).user_id as string;
          return {
            status: 200,
            json: () => ({
              items: Array(30).fill({}),
              meta: { rung: u.endsWith('0') ? 'popularity' : 'full' },
            }),
          };
        },
      },
    },
    'k6/execution': { default: { scenario: current } },
    'k6/metrics': {
      Counter: class {
        constructor(readonly name: string) {}
        add(v: number, tags?: Record<string, string>) {
          const k = `${this.name}${tags ? JSON.stringify(tags) : ''}`;
          counters[k] = (counters[k] ?? 0) + v;
        }
      },
      Rate: class {
        constructor(readonly name: string) {}
        add(v: boolean) {
          counters[`${this.name}:${v}`] = (counters[`${this.name}:${v}`] ?? 0) + 1;
        }
      },
    },
  };
  const js = ts.transpileModule(source, {
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
    },
  }).outputText;
  const exports: Record<string, unknown> = {};
  const context = vm.createContext({
    exports,
    require: (m: string) => {
      if (!(m in modules)) throw new Error(`import of ${m}`);
      return { __esModule: true, ...(modules[m] as object) };
    },
    __ENV: {},
  });
  new vm.Script(js).runInContext(context);
  return { exports, recorded, counters, current };
}

describe('reclab k6 export, every built-in scenario', () => {
  for (const scenario of Object.values(scenarios)) {
    it(`${scenario.name}: parses, imports only k6, valid executors and thresholds, requests from the world`, () => {
      const script = k6Script({
        scenario,
        seed: 7,
        target: 'http://core:8080',
        regions: REGIONS,
        userRegions,
      });
      const { exports, recorded, counters, current } = loadK6Script(script);
      const options = exports.options as {
        scenarios: Record<string, Record<string, unknown>>;
        thresholds: Record<string, string[]>;
      };
      // One k6 scenario per phase, back to back, with the documented executor fields only.
      expect(Object.keys(options.scenarios)).toEqual(scenario.phases.map((p) => p.name));
      let startS = 0;
      for (const p of scenario.phases) {
        const s = options.scenarios[p.name];
        const allowed = K6_EXECUTOR_FIELDS[s.executor as string];
        expect(allowed, `executor ${s.executor}`).toBeDefined();
        for (const k of Object.keys(s)) expect(allowed).toContain(k);
        expect(s.startTime).toBe(`${startS}s`);
        expect(s.tags).toEqual({ phase: p.name, reclab_measured: p.warmup ? 'false' : 'true' });
        expect(s.exec).toBe('recommend');
        expect(typeof exports[s.exec as string]).toBe('function');
        const unitS = s.timeUnit === '1s' ? 1 : 100;
        // The requests the executor would start over the phase = the scenario's.
        if (s.executor === 'constant-arrival-rate') {
          expect(((s.rate as number) / unitS) * p.durationS).toBeCloseTo(
            meanRateQps(p.arrivals, p.durationS) * p.durationS,
            0,
          );
        } else {
          let cum = 0;
          let r = (s.startRate as number) / unitS;
          for (const st of s.stages as { target: number; duration: string }[]) {
            const d = Number.parseFloat(st.duration);
            cum += ((r + st.target / unitS) / 2) * d;
            r = st.target / unitS;
          }
          expect(cum).toBeCloseTo(meanRateQps(p.arrivals, p.durationS) * p.durationS, 0);
        }
        startS += p.durationS;
      }
      // Thresholds in k6's grammar; every assertion is a threshold or named in the comment.
      for (const [metric, exprs] of Object.entries(options.thresholds)) {
        expect(metric).toMatch(/^[a-z_][a-z0-9_]*(\{[a-z_]+:[a-z0-9_-]+\})?$/);
        for (const e of exprs) expect(e).toMatch(K6_THRESHOLD_RE);
      }
      const p99 = scenario.assertions.find((a) => a.metric === 'http_req_duration');
      if (p99 && 'phase' in p99 && p99.phase)
        expect(options.thresholds[`http_req_duration{phase:${p99.phase}}`]).toContain(
          `${p99.stat}${p99.op}${p99.value}`,
        );
      expect(script).toContain('reclab does not ship, build or run k6');

      // Harness: a few iterations of each phase.
      for (const p of scenario.phases) {
        current.name = p.name;
        for (let i = 0; i < 20; i++) {
          current.iterationInTest = i;
          (exports.recommend as () => void)();
        }
      }
      expect(recorded.length).toBe(20 * scenario.phases.length);
      for (const r of recorded) {
        expect(r.url).toBe('http://core:8080/v1/recommendations');
        const body = JSON.parse(r.body);
        const u = Number(body.user_id.slice(2));
        expect(u).toBeGreaterThanOrEqual(0);
        expect(u).toBeLessThan(USERS);
        expect(body.count).toBe(30);
        expect(body.context.region).toBe(REGIONS[userRegions[u]]); // the world's region of that user
      }
      // Seeded: the same iteration gives the same user; iterations spread over users.
      expect(new Set(recorded.map((r) => r.body)).size).toBeGreaterThan(15 * scenario.phases.length);
      const again = loadK6Script(script);
      again.current.name = scenario.phases[0].name;
      again.current.iterationInTest = 3;
      (again.exports.recommend as () => void)();
      expect(again.recorded[0].body).toBe(recorded[3].body);
      // The rung is counted.
      const rungTotal = Object.entries(counters)
        .filter(([k]) => k.startsWith('reclab_rungs'))
        .reduce((a, [, v]) => a + v, 0);
      expect(rungTotal).toBe(recorded.length);
    });

    it(`${scenario.name}: a k6-operator TestRun valid against the CRD, and an Indexed Job valid for Kubernetes`, () => {
      const script = k6Script({
        scenario,
        seed: 7,
        target: 'http://core:8080',
        regions: REGIONS,
        userRegions,
      });
      const [cm, testRun] = k6OperatorManifests({ scenarioName: scenario.name, script, parallelism: 4 });
      const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
      const validate = ajv.compile(testRunSchema());
      expect(validate(testRun), JSON.stringify(validate.errors)).toBe(true);
      expect(() => new ConfigMap(cm as never).validate()).not.toThrow();

      const [jobCm, job] = loadJobManifests({
        scenario,
        seed: 7,
        parallelism: 3,
        target: 'http://reclab-core:8080',
        image: 'registry.example/reclab-load:1',
        startAt: '2026-12-05T20:00:00Z',
      });
      expect(() => new ConfigMap(jobCm as never).validate()).not.toThrow();
      expect(() => new Job(job as never).validate()).not.toThrow();
      const spec = (job as { spec: Record<string, unknown> }).spec;
      expect(spec.completionMode).toBe('Indexed');
      expect(spec.completions).toBe(3);
      const container = (spec.template as { spec: { containers: { args: string[] }[] } }).spec.containers[0];
      expect(container.args.join(' ')).toContain('--segment $(SEGMENT_INDEX)/3');
      // The ConfigMap's scenario is the scenario.
      expect(JSON.parse((jobCm as { data: Record<string, string> }).data['scenario.json'])).toEqual(
        JSON.parse(JSON.stringify(scenario)),
      );
    });
  }

  it('an invalid TestRun is refused by the CRD schema (the check can fail)', () => {
    const validate = new Ajv({ strict: false, logger: false }).compile(testRunSchema());
    expect(validate({ apiVersion: 'k6.io/v1alpha1', kind: 'TestRun', spec: { parallelism: 'four' } })).toBe(
      false,
    );
  });

  it('an invalid Job is refused by kubernetes-models (the check can fail)', () => {
    const [, job] = loadJobManifests({
      scenario: scenarios.baseline,
      seed: 7,
      parallelism: 2,
      target: 'http://x:1',
      image: 'i',
    });
    const bad = JSON.parse(JSON.stringify(job));
    bad.spec.completions = 'two';
    expect(() => new Job(bad).validate()).toThrow();
  });
});
