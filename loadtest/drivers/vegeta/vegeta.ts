/**
 * Vegeta (MIT, github.com/tsenart/vegeta v12.13.0, built by scripts/setup/33-vegeta.sh) as a second,
 * independent open-model driver (issue 14, `reclab run --driver vegeta`): the same phase, sent by a
 * tool nobody here wrote, read back into the same PhaseResult shape, so reclab's own driver can be
 * checked against it.
 *
 * One phase = one `vegeta attack -rate R -duration D` over a targets file with one request per slot
 * (JSON targets, bodies base64; the same request mix: makeRequest(i) for slot i), its binary results
 * turned into JSON lines by `vegeta encode --to json` and recorded into HdrHistograms (µs) per
 * response: latency, code, body (for the rung), timestamp (for the series and the pacing error).
 *
 * Not supported (refused before the run, `vegetaUnsupported`): any process but `constant` with even
 * spacing — vegeta's CLI paces one constant rate per attack (its sine and linear pacers are not in
 * the CLI) and has no Poisson spacing. Differences from reclab's driver, by construction:
 * - vegeta times a request from the moment its worker began it. `latencyMs` adds its lag behind
 *   the pacer (timestamp − the slot's intended time, slot = `seq`, the pacer's start taken as the
 *   earliest such offset) so that it is from the intended time, as reclab's driver measures; vegeta's
 *   own figure is `latencyFromSendMs`, and the lag `sendLagMs`. Compare the two drivers at a rate
 *   both sustain (late ≈ 0);
 * - responses are read after the attack, so `onResponse` runs after the phase (quality scoring and
 *   simulated users' events happen then, not live), and there is no live progress.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { latencyHistogram, summarizeLatencyMs } from '../../../reports/latency.ts';
import { SeriesRecorder } from '../../../reports/series.ts';
import type { ArrivalProcess } from '../../../scenarios/arrivals.ts';
import type { ScenarioDefinition } from '../../../scenarios/define.ts';
import {
  OpenModelError,
  type PhaseResult,
  type RequestSpec,
  type ResponseInfo,
  rungOf,
  type WindowStats,
} from '../autocannon/open-model.ts';

export const VEGETA_VERSION = 'v12.13.0';
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** Where scripts/setup/33-vegeta.sh puts the binary. */
export const vegetaBinary = (root = ROOT): string =>
  join(root, `.reclab/tools/vegeta-${VEGETA_VERSION}/vegeta`);

/** Why `--driver vegeta` cannot run this scenario (one line per phase), or [] when it can. */
export function vegetaUnsupported(s: ScenarioDefinition): string[] {
  return s.phases.flatMap((p) =>
    p.arrivals.kind === 'constant' && p.arrivals.spacing !== 'poisson'
      ? []
      : [
          `phase ${p.name}: ${p.arrivals.kind}${'spacing' in p.arrivals && p.arrivals.spacing === 'poisson' ? ' (poisson spacing)' : ''} — vegeta paces constant rates only`,
        ],
  );
}

export interface VegetaPhaseOptions {
  url: string;
  arrivals: ArrivalProcess;
  durationS: number;
  phase: string;
  makeRequest: (i: number) => RequestSpec;
  /** Called for every response after the attack (in seq order). */
  onResponse?: (r: ResponseInfo) => void;
  /** Called when the attack starts: faults are timed from here. */
  onScheduleStart?: () => void;
  /** Targets and results go here. */
  workDir: string;
  /** Per-request timeout, s (default 10, as reclab's driver). */
  timeoutS?: number;
  lateThresholdMs?: number;
  bin?: string;
}

/** vegeta's JSON result encoding (lib/results.go). */
interface VegetaResult {
  seq: number;
  code: number;
  /** RFC 3339 with ns. */
  timestamp: string;
  /** ns */
  latency: number;
  error: string;
  /** base64 */
  body: string | null;
}

/**
 * Runs one constant-rate phase with vegeta.
 * @throws OpenModelError RECLAB_ERR_LOADTEST_OPTIONS_INVALID (not a constant rate),
 *   RECLAB_ERR_LOADTEST_ENGINE_FAILED (no binary: run scripts/setup/33-vegeta.sh; vegeta failed)
 */
export async function runVegetaPhase(o: VegetaPhaseOptions): Promise<PhaseResult> {
  const a = o.arrivals;
  if (a.kind !== 'constant' || a.spacing === 'poisson')
    throw new OpenModelError(
      'RECLAB_ERR_LOADTEST_OPTIONS_INVALID',
      `vegeta paces constant rates only (phase ${o.phase})`,
    );
  const bin = o.bin ?? vegetaBinary();
  if (!existsSync(bin))
    throw new OpenModelError(
      'RECLAB_ERR_LOADTEST_ENGINE_FAILED',
      `no vegeta at ${bin}: run scripts/setup/33-vegeta.sh`,
    );
  const timeoutS = o.timeoutS ?? 10;
  const lateMs = o.lateThresholdMs ?? 10;
  const rate = a.rateQps;
  // The slots reclab's driver would send: k / rate for k / rate < durationS.
  const slots = Math.ceil(rate * o.durationS - 1e-9);
  await mkdir(o.workDir, { recursive: true });
  const targetsFile = join(o.workDir, `${o.phase}.targets.jsonl`);
  const resultsFile = join(o.workDir, `${o.phase}.results.bin`);
  const base = o.url.replace(/\/+$/, '');
  const lines: string[] = [];
  for (let i = 0; i < slots; i++) {
    const r = o.makeRequest(i);
    const header: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(r.headers ?? {})) header[k] = [v];
    lines.push(
      JSON.stringify({
        method: r.method,
        url: `${base}${r.path}`,
        header,
        ...(r.body ? { body: Buffer.from(r.body).toString('base64') } : {}),
      }),
    );
  }
  await writeFile(targetsFile, `${lines.join('\n')}\n`);

  // -rate as freq/per with a per long enough that a fractional rate stays exact to 1/1000.
  const rateArg = Number.isInteger(rate) ? `${rate}/1s` : `${Math.round(rate * 1000)}/1000s`;
  const startedAt = new Date();
  o.onScheduleStart?.();
  await execVegeta(bin, [
    'attack',
    '-format=json',
    `-targets=${targetsFile}`,
    `-rate=${rateArg}`,
    `-duration=${o.durationS}s`,
    `-timeout=${timeoutS}s`,
    '-max-body=-1',
    '-redirects=-1',
    `-name=${o.phase}`,
    `-output=${resultsFile}`,
  ]);
  const endedAt = new Date();

  // Read back.
  // From the slot's intended time (the pacer's start + seq / rate), as every reclab driver reports
  // latency (no coordinated omission); vegeta's own figure, from its send, is `fromSend`.
  const latency = latencyHistogram();
  const fromSend = latencyHistogram();
  const sendLag = latencyHistogram();
  const series = new SeriesRecorder(1);
  const stats: Omit<
    WindowStats,
    'latencyMs' | 'latencyFromSendMs' | 'sendLagMs' | 'histogramBase64' | 'series'
  > = {
    scheduled: slots,
    sent: 0,
    completed: 0,
    late: 0,
    dropped: 0,
    statusCounts: { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, errors: 0, timeouts: 0 },
    shed: 0,
    rungCounts: {},
  };
  const results: VegetaResult[] = [];
  const encoder = spawn(bin, ['encode', '--to', 'json', resultsFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  encoder.stderr.on('data', (d) => {
    stderr += d;
  });
  for await (const line of createInterface({ input: encoder.stdout })) {
    if (line.trim()) results.push(JSON.parse(line) as VegetaResult);
  }
  const code = await new Promise<number | null>((resolve) => encoder.on('close', resolve));
  if (code !== 0)
    throw new OpenModelError('RECLAB_ERR_LOADTEST_ENGINE_FAILED', `vegeta encode failed: ${stderr}`);
  results.sort((x, y) => x.seq - y.seq);
  // The pacer's t0: vegeta hits seq k at began + k / rate.
  const t0Ns = results.length ? Math.min(...results.map((r) => tsNs(r.timestamp) - (r.seq / rate) * 1e9)) : 0;
  for (const r of results) {
    stats.sent++;
    const intendedS = r.seq / rate;
    const lagMs = (tsNs(r.timestamp) - t0Ns) / 1e6 - intendedS * 1000;
    sendLag.recordValue(Math.max(1, Math.round(lagMs * 1000)));
    if (lagMs > lateMs) stats.late++;
    if (r.code === 0) {
      if (/timeout|deadline exceeded/i.test(r.error)) stats.statusCounts.timeouts++;
      else stats.statusCounts.errors++;
      series.record(intendedS, 0, undefined);
      continue;
    }
    stats.completed++;
    const fromSendUs = Math.max(1, Math.round(r.latency / 1000));
    const latencyUs = Math.max(1, Math.round(r.latency / 1000 + Math.max(0, lagMs) * 1000));
    fromSend.recordValue(fromSendUs);
    latency.recordValue(latencyUs);
    const cls = Math.floor(r.code / 100);
    if (cls >= 2 && cls <= 5) stats.statusCounts[`${cls}xx` as '2xx']++;
    else stats.statusCounts.errors++;
    if (r.code === 503) stats.shed++;
    const body = r.body ? Buffer.from(r.body, 'base64').toString('utf8') : '';
    const rung = rungOf(body) ?? (cls === 2 ? 'none' : undefined);
    if (rung !== undefined) stats.rungCounts[rung] = (stats.rungCounts[rung] ?? 0) + 1;
    series.record(intendedS, r.code, latencyUs, rung);
    o.onResponse?.({ i: r.seq, status: r.code, body, latencyMs: latencyUs / 1000, warmup: false });
  }
  stats.dropped = Math.max(0, slots - stats.sent);
  const latencyMs = summarizeLatencyMs(latency);
  const empty = emptyWindow();
  return {
    phase: o.phase,
    offeredQps: rate,
    achievedQps: stats.completed / o.durationS,
    durationS: o.durationS,
    warmupS: 0,
    connections: 0,
    lateThresholdMs: lateMs,
    startedAt: startedAt.toISOString(),
    endedAt: endedAt.toISOString(),
    ...stats,
    latencyMs,
    latencyFromSendMs: summarizeLatencyMs(fromSend),
    sendLagMs: summarizeLatencyMs(sendLag),
    histogramBase64: encodeIntoCompressedBase64(latency),
    fromSendHistogramBase64: encodeIntoCompressedBase64(fromSend),
    sendLagHistogramBase64: encodeIntoCompressedBase64(sendLag),
    series: series.series(),
    warmup: empty,
  };
}

/** ns since the epoch of an RFC 3339 timestamp with up to 9 fractional digits. */
function tsNs(ts: string): number {
  const m = /\.(\d+)/.exec(ts);
  const frac = m ? Number(`0.${m[1]}`) : 0;
  const wholeMs = Date.parse(ts.replace(/\.\d+/, ''));
  return wholeMs * 1e6 + frac * 1e9;
}

function emptyWindow(): WindowStats {
  const h = latencyHistogram();
  const z = summarizeLatencyMs(h);
  return {
    scheduled: 0,
    sent: 0,
    completed: 0,
    late: 0,
    dropped: 0,
    statusCounts: { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, errors: 0, timeouts: 0 },
    shed: 0,
    latencyMs: z,
    latencyFromSendMs: z,
    sendLagMs: z,
    rungCounts: {},
    histogramBase64: encodeIntoCompressedBase64(h),
    series: new SeriesRecorder(1).series(),
  };
}

function execVegeta(bin: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', (err) =>
      reject(new OpenModelError('RECLAB_ERR_LOADTEST_ENGINE_FAILED', 'vegeta did not start', { cause: err })),
    );
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(
            new OpenModelError(
              'RECLAB_ERR_LOADTEST_ENGINE_FAILED',
              `vegeta ${args[0]} exited ${code}: ${stderr}`,
            ),
          ),
    );
  });
}
