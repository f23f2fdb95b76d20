/**
 * index.html: one self-contained page per run (opens offline from disk). uPlot's script and style
 * (MIT, node_modules/uplot/dist) are inlined with the run's chart data; tables are rendered here.
 *
 * A pure function of the RunResult: no render time, no environment, every map shown in a fixed
 * order; so `reclab report <run-dir>` re-renders, from summary.json, the page the run wrote, byte
 * for byte (reports/write.ts renders the run's page from its stored summary.json for that reason).
 *
 * Shows: latency p50/p95/p99 per second with fault windows shaded and phase boundaries marked,
 * offered vs achieved rate, the rung mix over time, shed and errors, each measured phase's latency
 * distribution; tables of assertions (observed vs threshold), phases, faults (planned window and
 * when they started and ended), quality against the reference lists, the simulated fleet's
 * utilisation, machine and versions, and the seed with the replay command.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CLIENT_SCRIPT } from './html-client.ts';
import { parseRunResult, type RunResult, replayCommand } from './model.ts';
import { latencyDistributions, timelineOf } from './timeline.ts';

const require = createRequire(import.meta.url);
let uplotAssets: { js: string; css: string } | undefined;

/** uPlot's minified script and style, read once from the installed package. */
function uplot(): { js: string; css: string } {
  uplotAssets ??= {
    js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  };
  return uplotAssets;
}

/** Escapes text for HTML content and attribute values. */
export function esc(s: string | number): string {
  return String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}

/** JSON safe inside a <script> element: no `</script>`, no `<!--`. */
const scriptJson = (v: unknown): string =>
  JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');

const f = (x: number | undefined, digits = 1): string =>
  x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits);
const byKey = <T>(o: Record<string, T>): [string, T][] =>
  Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

function table(head: string[], rows: string[][], cls = ''): string {
  if (rows.length === 0) return '<p class="none">none</p>';
  return (
    `<table${cls ? ` class="${cls}"` : ''}><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead>` +
    `<tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`
  );
}

function assertionsSection(r: RunResult): string {
  const rows = r.assertions.map((a) => {
    const verdict = a.skipped
      ? '<span class="skip">skipped</span>'
      : a.passed
        ? '<span class="pass">✓ pass</span>'
        : '<span class="fail">✗ fail</span>';
    return [
      verdict,
      `<code>${esc(a.expression)}</code>`,
      esc(a.observed),
      esc(a.threshold),
      esc(a.skipped ?? a.note ?? ''),
    ];
  });
  return table(['', 'assertion', 'observed', 'threshold', 'note'], rows);
}

function phasesSection(r: RunResult): string {
  const rows = r.phases.map((p) => {
    const s = p.statusCounts;
    const rungs = byKey(p.rungCounts)
      .map(([k, n]) => `${esc(k)}=${n}`)
      .join(' ');
    const cpu = p.cpu
      ? `${f(p.cpu.runnerUsPerRequest, 0)}${p.cpu.coreUsPerRequest !== undefined ? ` / ${f(p.cpu.coreUsPerRequest, 0)}` : ''}`
      : '—';
    return [
      `${esc(p.name)}${p.warmup ? ' <span class="skip">(warm-up, not asserted)</span>' : ''}`,
      esc(p.arrivals ?? ''),
      f(p.offeredQps),
      f(p.achievedQps),
      f(p.durationS, 0),
      f(p.latencyMs.p50),
      f(p.latencyMs.p95),
      f(p.latencyMs.p99),
      f(p.latencyMs.p999),
      f(p.latencyMs.max),
      `${s['2xx']} / ${s['4xx']} / ${s['5xx']}`,
      String(s.shed ?? 0),
      `${s.errors} / ${s.timeouts}`,
      `${p.late} / ${p.dropped}`,
      rungs || '—',
      cpu,
    ];
  });
  const reasons = r.phases.flatMap((p) =>
    byKey(p.reasonCounts ?? {})
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([k, n]) => [esc(p.name), `<code>${esc(k)}</code>`, String(n)]),
  );
  return (
    table(
      [
        'phase',
        'arrivals',
        'offered /s',
        'achieved /s',
        'duration s',
        'p50 ms',
        'p95 ms',
        'p99 ms',
        'p99.9 ms',
        'max ms',
        '2xx / 4xx / 5xx',
        'shed',
        'errors / timeouts',
        'late / dropped',
        'rungs',
        'CPU µs/req runner / core',
      ],
      rows,
    ) +
    (reasons.length
      ? `<h3>Why responses stepped down (top reasons per phase)</h3>${table(['phase', 'stage and code', 'responses'], reasons)}`
      : '')
  );
}

function faultsSection(r: RunResult): string {
  const rows = (r.faults ?? []).map((x) => [
    esc(x.phase),
    esc(x.target),
    esc(x.kind),
    esc(
      byKey(x.params ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
    ),
    `${x.fromS} – ${x.toS ?? x.fromS}`,
    `<span class="${x.status === 'applied' ? 'pass' : x.status === 'failed' ? 'fail' : 'skip'}">${esc(x.status)}</span>`,
    esc(x.startedAt ?? '—'),
    esc(x.appliedAt ?? '—'),
    esc(x.endedAt ?? '—'),
    esc(x.message ?? ''),
  ]);
  return table(
    [
      'phase',
      'target',
      'kind',
      'parameters',
      'window s (from phase start)',
      'status',
      'started',
      'in force',
      'ended',
      'message',
    ],
    rows,
  );
}

function qualitySection(r: RunResult): string {
  const q = r.quality;
  if (!q)
    return `<p class="none">not scored (${r.mode === 'sim' ? 'a simulated run serves no lists' : 'no world for this run'})</p>`;
  type Group = NonNullable<RunResult['quality']>['served']['all']['overall'];
  const m = (g: Group, k: string, d: number) => f(g.metrics[k]?.mean, d);
  const row = (label: string, rung: string, g: Group) => [
    label,
    esc(rung),
    String(g.lists),
    m(g, 'expectedWatchTimeS', 1),
    m(g, 'expectedClicks', 3),
    m(g, 'ndcgAt10', 3),
    m(g, 'intraListDiversity', 3),
    m(g, 'freshShare', 3),
    f(g.coverage, 4),
  ];
  const rows: string[][] = [];
  for (const [phase, scope] of byKey(q.served.byPhase)) {
    rows.push(row(esc(phase), 'all', scope.overall));
    for (const [rung, g] of byKey(scope.byRung)) rows.push(row(esc(phase), rung, g));
  }
  for (const [ref, g] of byKey(q.references.all.byRung)) rows.push(row('<i>reference</i>', ref, g));
  return (
    table(
      [
        'phase',
        'rung / list',
        'lists',
        'expected watch s',
        'expected clicks',
        'NDCG@10',
        'diversity',
        'fresh share',
        'coverage',
      ],
      rows,
    ) +
    `<p class="note">Catalogue ${q.served.catalogueSize} videos; unreadable ${q.unreadable}${q.overflow ? `, not scored (log full) ${q.overflow}` : ''}. Means per list against the world's ground truth (docs/behavior-model.md).</p>`
  );
}

function fleetSection(r: RunResult): string {
  const fl = r.fleet;
  if (!fl) return '';
  const pct = (x: number | undefined) => (x === undefined ? '—' : `${(x * 100).toFixed(1)}%`);
  const rows = r.phases.map((p) => {
    const u = fl.utilisation[p.name];
    return [esc(p.name), pct(u?.replicaCpu), pct(u?.redis), pct(u?.ranker), pct(u?.rankerBusy)];
  });
  return (
    `<section><h2>Simulated fleet</h2><p>${esc(fl.name)}: ${fl.replicas} replicas, ${fl.redisShards} Redis shards, ` +
    `${fl.rankerNodes} ranker nodes; ${fl.events} events; impressions lost ${fl.impressionsLost}; trace hash <code>${esc(fl.traceHash)}</code></p>` +
    table(['phase', 'replica CPU', 'Redis', 'ranker (rows ÷ capacity)', 'ranker busy'], rows) +
    '</section>'
  );
}

function metaSection(r: RunResult): string {
  const kv: [string, string][] = [
    ['run id', esc(r.runId)],
    ['mode', r.mode === 'sim' ? 'simulated (virtual time)' : 'live'],
    ['seed', String(r.seed)],
    ['replay', `<code>${esc(replayCommand(r))}</code>`],
    ['world hash', `<code>${esc(r.worldHash)}</code>`],
    ['model version', esc(r.versions.modelVersion)],
    ['reclab', esc(r.versions.reclab)],
    ['node', esc(r.versions.node)],
    ...byKey(r.versions.images).map(([k, v]): [string, string] => [`image ${esc(k)}`, esc(v)]),
    ['machine', `${r.machine.cpus} CPUs, ${r.machine.memGiB} GiB, ${esc(r.machine.os)}`],
    ['started', esc(r.startedAt)],
    ['ended', esc(r.endedAt)],
  ];
  if (r.target) kv.push(['target', esc(r.target)]);
  if (r.coreExitCode !== undefined) kv.push(['core exit code', String(r.coreExitCode)]);
  if (r.impressions)
    kv.push([
      'impressions',
      `${r.impressions.published} published, ${r.impressions.consumedOnTopic} read back from the topic`,
    ]);
  if (r.events)
    kv.push([
      'events',
      `${r.events.accepted} accepted, ${r.events.distinctOnTopic} on the topic, ${r.events.lost} lost`,
    ]);
  if (r.viral)
    kv.push([
      'viral video',
      `${esc(r.viral.videoId)} (${esc(r.viral.region)}): time to a served list ${r.viral.timeToListS === null ? 'never' : `${r.viral.timeToListS} s`}`,
    ]);
  return `<table class="kv"><tbody>${kv.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</tbody></table>`;
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"DejaVu Sans",sans-serif;margin:24px auto;max-width:1140px;padding:0 16px;color:#212121}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:14px}
table{border-collapse:collapse;margin:6px 0;font-size:13px}th,td{border:1px solid #e0e0e0;padding:3px 7px;text-align:left;vertical-align:top}
thead th{background:#f5f5f5}table.kv th{background:#fafafa;font-weight:600}code{font:12px "DejaVu Sans Mono",monospace}
.pass{color:#2e7d32;font-weight:600}.fail{color:#c62828;font-weight:600}.skip{color:#757575}.none,.note{color:#757575}
.verdict{display:inline-block;padding:2px 10px;border-radius:4px;color:#fff;font-weight:700}.verdict.pass{background:#2e7d32}.verdict.fail{background:#c62828}
.chart{margin:10px 0 18px}.warn{background:#fff8e1;border:1px solid #ffe082;padding:6px 10px}
`;

/**
 * The report page of a run. Validates `input` first (throws ReportError,
 * `RECLAB_ERR_REPORT_INVALID`, listing every problem). Pure: the same input gives the same bytes.
 */
export function renderHtmlReport(input: unknown): string {
  const r = parseRunResult(input);
  const { js, css } = uplot();
  const data = { timeline: timelineOf(r), distributions: latencyDistributions(r) };
  const hasSeries = data.timeline.x.length > 0;
  const failed = r.assertions.filter((a) => !a.passed).length;
  const warnings = r.warnings?.length
    ? `<div class="warn"><b>Warnings</b><ul>${r.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul></div>`
    : '';
  const charts = hasSeries
    ? ['latency', 'rate', 'rungs', 'errors']
        .map((id) => `<div class="chart" id="chart-${id}"></div>`)
        .join('')
    : '<p class="none">No per-second series in this run (recorded by runs since schema v1 added `series`).</p>';
  const distribution =
    data.distributions.length > 0
      ? '<div class="chart" id="chart-distribution"></div>'
      : '<p class="none">No stored latency histogram.</p>';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>reclab ${esc(r.scenario)} · ${esc(r.runId)} · ${r.outcome.toUpperCase()}</title>
<style>${css}</style>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>reclab · ${esc(r.scenario)} <span class="verdict ${r.outcome}">${r.outcome.toUpperCase()}</span></h1>
<p>${esc(r.runId)} · ${r.mode === 'sim' ? 'simulated run' : 'live run'} · exit code ${r.exitCode} (docs/exit-codes.md) · ${r.assertions.length} assertions, ${failed} failed · seed ${r.seed} · replay: <code>${esc(replayCommand(r))}</code></p>
</header>
${warnings}
<section><h2>Over time</h2>
<p class="note">x: seconds from the first phase's start${r.mode === 'sim' ? ' (virtual time)' : ''}, requests by intended send time. Shaded red: fault windows; dashed: phase starts.</p>
${charts}
<h3>Latency distribution</h3>
${distribution}
</section>
<section><h2>Assertions</h2>${assertionsSection(r)}</section>
<section><h2>Phases</h2>${phasesSection(r)}</section>
<section><h2>Faults</h2>${faultsSection(r)}</section>
<section><h2>Quality of the served lists</h2>${qualitySection(r)}</section>
${fleetSection(r)}
<section><h2>Run, machine and versions</h2>${metaSection(r)}</section>
<script id="reclab-data" type="application/json">${scriptJson(data)}</script>
<script>${js}</script>
<script>${CLIENT_SCRIPT}</script>
</body>
</html>
`;
}
