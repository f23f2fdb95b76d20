/**
 * A scenario as a k6 script (issue 14, `reclab k6 export`), for planners who run k6 themselves.
 * reclab never builds, bundles or runs k6 (AGPL; SETUP-NOTES "k6"): this writes text in k6's
 * documented format (k6 docs: "Scenarios", "Executors", "Thresholds", "k6/execution").
 *
 * - Each phase is one k6 scenario with `startTime` (phases back to back): `constant` and `poisson`
 *   → `constant-arrival-rate` (k6 has no Poisson spacing: the mean rate, noted in a comment);
 *   `ramp`, `step`, `spike` → `ramping-arrival-rate` with stages tracing the rate curve.
 *   Scenario tags: `phase`, and `reclab_measured: "true"|"false"` (warm-up phases are "false").
 * - Requests are seeded from the world: user = hash(seed, phase, the iteration's global index
 *   `exec.scenario.iterationInTest`) mod users, region from the world's table (one digit per user),
 *   so the same scenario and seed give the same request stream, also across k6 execution segments.
 * - The response's rung is counted (`reclab_rungs` counter tagged `rung`); 5xx, shed (503),
 *   transport errors and short lists are counters; each `rung_share` assertion gets a Rate metric.
 * - Assertions k6 can evaluate become `options.thresholds` in k6's grammar; the others are listed in
 *   a comment at the top (impressions and events on topics, quality, recovery time, viral clock,
 *   achieved-rate ratio, reason share).
 */
import type { ArrivalProcess } from '../../scenarios/arrivals.ts';
import type { Assertion, Phase, ScenarioDefinition } from '../../scenarios/define.ts';
import { formatAssertion } from '../../scenarios/define.ts';
import { PAGE_COUNT } from '../segments/segment-run.ts';

export interface K6ExportOptions {
  scenario: ScenarioDefinition;
  seed: number;
  /** Default base URL (the script reads `__ENV.RECLAB_TARGET` first). */
  target: string;
  /** The world's user → region table: region names and one index per user. */
  regions: readonly string[];
  userRegions: ArrayLike<number>;
}

/** k6 executor fields per executor (k6 docs, "Executors"): what the static check allows. */
export const K6_EXECUTOR_FIELDS: Record<string, readonly string[]> = {
  'constant-arrival-rate': [
    'executor',
    'rate',
    'timeUnit',
    'duration',
    'preAllocatedVUs',
    'maxVUs',
    'startTime',
    'gracefulStop',
    'exec',
    'env',
    'tags',
    'options',
  ],
  'ramping-arrival-rate': [
    'executor',
    'startRate',
    'timeUnit',
    'stages',
    'preAllocatedVUs',
    'maxVUs',
    'startTime',
    'gracefulStop',
    'exec',
    'env',
    'tags',
    'options',
  ],
};

/** A k6 threshold expression: `<aggregation> <op> <number>` (k6 docs, "Thresholds"). */
export const K6_THRESHOLD_RE =
  /^(avg|min|max|med|count|rate|value|p\((\d+(\.\d+)?)\))\s*(<|<=|>|>=|==|===|!=)\s*-?\d+(\.\d+)?$/;

/** k6 takes integer rates: a rate per `timeUnit` that keeps 1/100 of a request per second. */
function k6Rate(qps: number): { rate: number; timeUnit: string } {
  return Number.isInteger(qps)
    ? { rate: qps, timeUnit: '1s' }
    : { rate: Math.round(qps * 100), timeUnit: '100s' };
}

const secs = (s: number) => `${Math.round(s * 1000) / 1000}s`;

/** Stages `[target, durationS]` of a piecewise-linear process (ramping-arrival-rate). */
function stagesOf(a: ArrivalProcess, durationS: number): { start: number; stages: [number, number][] } {
  switch (a.kind) {
    case 'ramp':
      return { start: a.fromQps, stages: [[a.toQps, durationS]] };
    case 'step': {
      const stages: [number, number][] = [];
      for (let t = 0, k = 0; t < durationS - 1e-9; t += a.everyS, k++) {
        const r = Math.max(0, a.fromQps + k * a.stepQps);
        if (k > 0) stages.push([r, 0]); // a jump
        stages.push([r, Math.min(a.everyS, durationS - t)]);
      }
      return { start: a.fromQps, stages };
    }
    case 'spike': {
      const hold = a.holdS ?? 0;
      const rest = durationS - a.atS - a.riseS - hold - a.decayS;
      const stages: [number, number][] = [
        [a.baseQps, a.atS],
        [a.peakQps, a.riseS],
        [a.peakQps, hold],
        [a.baseQps, a.decayS],
        [a.baseQps, rest],
      ];
      return { start: a.baseQps, stages: stages.filter(([, d]) => d > 0) };
    }
    default:
      throw new Error(`not a ramping process: ${a.kind}`);
  }
}

/** The k6 scenario object of one phase (what `options.scenarios[phase.name]` holds). */
export function k6ScenarioOf(phase: Phase, startS: number): Record<string, unknown> {
  const a = phase.arrivals;
  const peak =
    a.kind === 'constant' || a.kind === 'poisson'
      ? a.rateQps
      : Math.max(...stagesOf(a, phase.durationS).stages.map(([r]) => r), stagesOf(a, phase.durationS).start);
  // VUs: an arrival-rate executor needs rate × latency of them; 2 s of headroom at the peak, as
  // reclab's own pool (open-model.ts POOL_HEADROOM_S).
  const vus = {
    preAllocatedVUs: Math.max(5, Math.ceil(peak * 0.2)),
    maxVUs: Math.max(10, Math.ceil(peak * 2)),
  };
  const common = {
    startTime: secs(startS),
    gracefulStop: '10s',
    exec: 'recommend',
    tags: { phase: phase.name, reclab_measured: phase.warmup ? 'false' : 'true' },
  };
  if (a.kind === 'constant' || a.kind === 'poisson') {
    return {
      executor: 'constant-arrival-rate',
      ...k6Rate(a.rateQps),
      duration: secs(phase.durationS),
      ...vus,
      ...common,
    };
  }
  const { start, stages } = stagesOf(a, phase.durationS);
  // All stage targets share the start rate's timeUnit: scale every target alike.
  const unit = [start, ...stages.map(([r]) => r)].every(Number.isInteger) ? 1 : 100;
  return {
    executor: 'ramping-arrival-rate',
    startRate: Math.round(start * unit),
    timeUnit: unit === 1 ? '1s' : '100s',
    stages: stages.map(([r, d]) => ({ target: Math.round(r * unit), duration: secs(d) })),
    ...vus,
    ...common,
  };
}

/** Metric name of a rung_share assertion's Rate. */
const rungRateName = (rung: string) => `reclab_rung_share_${rung.replace(/[^A-Za-z0-9_]/g, '_')}`;

/** The k6 threshold of an assertion, or undefined when k6 cannot evaluate it. */
export function k6Threshold(a: Assertion): { metric: string; expression: string } | undefined {
  const tag = 'phase' in a && a.phase ? `{phase:${a.phase}}` : '{reclab_measured:true}';
  const op = a.op;
  switch (a.metric) {
    case 'http_req_duration':
      return {
        metric: `http_req_duration${tag}`,
        expression: `${a.stat === 'max' ? 'max' : a.stat}${op}${a.value}`,
      };
    case 'errors_5xx':
      return { metric: `reclab_errors_5xx${tag}`, expression: `count${op}${a.value}` };
    case 'errors_5xx_other':
      return { metric: `reclab_errors_5xx_other${tag}`, expression: `count${op}${a.value}` };
    case 'errors_shed':
      return { metric: `reclab_errors_shed${tag}`, expression: `count${op}${a.value}` };
    case 'errors_transport':
      return { metric: `reclab_errors_transport${tag}`, expression: `count${op}${a.value}` };
    case 'short_lists':
      return { metric: `reclab_short_lists${tag}`, expression: `count${op}${a.value}` };
    case 'degraded_unexplained':
      return { metric: `reclab_degraded_unexplained${tag}`, expression: `count${op}${a.value}` };
    case 'rung_share':
      return { metric: `${rungRateName(a.rung)}${tag}`, expression: `rate${op}${a.value}` };
    default:
      return undefined;
  }
}

/** The k6 script (ES module text) of a scenario. */
export function k6Script(o: K6ExportOptions): string {
  const { scenario } = o;
  const scenarios: Record<string, unknown> = {};
  let startS = 0;
  const notes: string[] = [];
  for (const p of scenario.phases) {
    scenarios[p.name] = k6ScenarioOf(p, startS);
    if (p.arrivals.kind === 'poisson' || ('spacing' in p.arrivals && p.arrivals.spacing === 'poisson'))
      notes.push(`phase ${p.name}: Poisson spacing is not in k6; its mean rate is sent evenly`);
    if (p.faults?.length) notes.push(`phase ${p.name}: faults are not injected by this script`);
    startS += p.durationS;
  }
  const thresholds: Record<string, string[]> = {};
  const skipped: string[] = [];
  for (const a of scenario.assertions) {
    const t = k6Threshold(a);
    if (!t) skipped.push(formatAssertion(a));
    else {
      thresholds[t.metric] ??= [];
      thresholds[t.metric].push(t.expression);
    }
  }
  const rungRates = [
    ...new Set(scenario.assertions.flatMap((a) => (a.metric === 'rung_share' ? [a.rung] : []))),
  ];
  const regionDigits = Array.from(o.userRegions, (r) => r.toString(36)).join('');
  const phaseIndex = Object.fromEntries(scenario.phases.map((p, i) => [p.name, i]));
  const options = {
    scenarios,
    thresholds,
    summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
  };
  const lines = [
    `// k6 script for the reclab scenario '${scenario.name}' (seed ${o.seed}), written by \`reclab k6 export\`.`,
    '// reclab does not ship, build or run k6: run it with your own k6, e.g.',
    `//   k6 run -e RECLAB_TARGET=http://core:8080 ${scenario.name}.k6.js`,
    `// ${scenario.description}`,
    ...(notes.length ? ['// Differences from `reclab run`:', ...notes.map((n) => `//   - ${n}`)] : []),
    ...(skipped.length
      ? ['// Assertions k6 cannot evaluate (check them with reclab):', ...skipped.map((s) => `//   - ${s}`)]
      : []),
    "import http from 'k6/http';",
    "import exec from 'k6/execution';",
    "import { Counter, Rate } from 'k6/metrics';",
    '',
    `const TARGET = (__ENV.RECLAB_TARGET || ${JSON.stringify(o.target)}).replace(/\\/+$/, '');`,
    `const SEED = ${o.seed >>> 0};`,
    `const USERS = ${o.userRegions.length};`,
    `const PAGE_COUNT = ${PAGE_COUNT};`,
    `const REGIONS = ${JSON.stringify(o.regions)};`,
    '// The world: region of user i is REGIONS[parseInt(USER_REGIONS[i], 36)].',
    `const USER_REGIONS = ${JSON.stringify(regionDigits)};`,
    `const PHASE_INDEX = ${JSON.stringify(phaseIndex)};`,
    '',
    `export const options = ${JSON.stringify(options, null, 2)};`,
    '',
    "const rungs = new Counter('reclab_rungs');",
    "const errors5xx = new Counter('reclab_errors_5xx');",
    "const errors5xxOther = new Counter('reclab_errors_5xx_other');",
    "const shed = new Counter('reclab_errors_shed');",
    "const transport = new Counter('reclab_errors_transport');",
    "const shortLists = new Counter('reclab_short_lists');",
    "const unexplained = new Counter('reclab_degraded_unexplained');",
    `const rungShares = { ${rungRates.map((r) => `${JSON.stringify(r)}: new Rate(${JSON.stringify(rungRateName(r))})`).join(', ')} };`,
    '',
    '// A 32-bit mix (splitmix-style) of the seed, the phase and the iteration: the request stream.',
    'function mix(a, b, c) {',
    '  let h = (a ^ Math.imul(b + 0x9e3779b9, 0x85ebca6b) ^ Math.imul(c + 0x7f4a7c15, 0xc2b2ae35)) >>> 0;',
    '  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;',
    '  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;',
    '  return (h ^ (h >>> 16)) >>> 0;',
    '}',
    '',
    'export function recommend() {',
    '  const phase = exec.scenario.name;',
    '  const user = mix(SEED, PHASE_INDEX[phase], exec.scenario.iterationInTest) % USERS;',
    '  const region = REGIONS[parseInt(USER_REGIONS[user], 36)];',
    '  const body = JSON.stringify({ user_id: `u_${user}`, count: PAGE_COUNT, context: { region } });',
    "  const res = http.post(`${TARGET}/v1/recommendations`, body, { headers: { 'content-type': 'application/json' } });",
    '  if (res.status === 0) {',
    '    transport.add(1);',
    '    return;',
    '  }',
    '  if (res.status >= 500) {',
    '    errors5xx.add(1);',
    '    if (res.status === 503) shed.add(1);',
    '    else errors5xxOther.add(1);',
    '  }',
    '  if (res.status < 200 || res.status >= 300) return;',
    '  let rung = "none";',
    '  let items = 0;',
    '  let reasons = 0;',
    '  try {',
    '    const parsed = res.json();',
    '    rung = (parsed.meta && parsed.meta.rung) || "none";',
    '    items = Array.isArray(parsed.items) ? parsed.items.length : 0;',
    '    reasons = parsed.meta && Array.isArray(parsed.meta.reasons) ? parsed.meta.reasons.length : 0;',
    '  } catch (e) {',
    '    rung = "unreadable";',
    '  }',
    '  rungs.add(1, { rung });',
    '  if (res.status === 200 && items < PAGE_COUNT) shortLists.add(1);',
    '  if (res.status === 200 && rung !== "full" && reasons === 0) unexplained.add(1);',
    '  for (const name of Object.keys(rungShares)) rungShares[name].add(rung === name);',
    '}',
    '',
    'export default recommend;',
    '',
  ];
  return lines.join('\n');
}
