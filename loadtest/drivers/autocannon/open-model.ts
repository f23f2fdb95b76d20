/**
 * Open-model load driver on autocannon: an arrival process for a fixed time (its schedule of intended
 * send times from scenarios/arrivals.ts, which the simulator follows too), latency measured
 * from each request's intended send time (coordinated omission corrected), percentiles from an
 * HdrHistogram (ARCHITECTURE.md, "Measurement rules").
 *
 * Why the schedule is ours and not autocannon's (read from autocannon 8.0.0, lib/httpClient.js and
 * lib/run.js):
 * - `overallRate` is a per-connection budget of `rate / connections` requests, reset by a 1 s
 *   `setInterval` per connection. Within each second a connection sends back to back (closed loop)
 *   until its budget is spent, so the whole second's load leaves in a burst at the start of the
 *   second (measured, 200 QPS against a fast local endpoint: on 200 connections every request of a
 *   second was written in its first 100 ms; on 20 connections in its first 200 ms). That is not a
 *   constant arrival rate, and a request's place on a t0 + i/rate schedule cannot be recovered.
 * - Each connection is closed loop (one request in flight, the next written when the response
 *   completes). During a server stall no request is written, and the per-second budget of the
 *   stalled seconds is not carried over: those requests are silently never sent.
 * - Its own correction, `recordValueWithExpectedInterval(responseTime, Math.ceil(1 / rate))`, takes
 *   the interval in the wrong unit (1/rate is seconds, the histogram is in ms), so for any rate ≥ 1
 *   per connection it back-fills in 1 ms steps. Measured: 100 responses of ~102 ms (50 QPS on 10
 *   connections) became 10,306 samples with p50 52 ms and min 1 ms; with the correction off, 100
 *   samples, p50 105 ms. It lowers the median instead of exposing the stall.
 *
 * So autocannon stays the HTTP engine (connection pool, request serialisation, response parsing,
 * per-request timeouts, reconnection) and this driver owns the clock: slot i is due at t0 plus the
 * schedule's i-th offset (t0 + i / rateQps for a constant rate), is written on an idle pooled
 * connection as soon as it is due, and its latency is response time − intended time. The pool is
 * sized so the peak rate is not connection-bound (`peak rate × 2 s` connections, at most
 * `connectionsMax`); when every connection is busy, due slots
 * wait (oldest first) and go out late — still measured from their intended time, and counted as late
 * when the wait exceeds `lateThresholdMs`. Slots still waiting when the schedule ends are counted as
 * dropped, never silently lost.
 *
 * The one seam into autocannon's internals: `setupClient` replaces the client's `_doRequest` (which
 * autocannon calls when a connection opens and after each response) with "this connection is idle",
 * and when a slot is due the driver writes it as `_doRequest` would (`writeRaw`: the request queued
 * on `pipelinedRequests`, its bytes on `conn`, the request timer restarted, `reqsMade` counted) but
 * with bytes it built itself (`requestBytes`, byte for byte what autocannon's request builder makes
 * of the same request: pinned by test/unit/open-model.test.ts). Issue 10 counts the runner's CPU per
 * request: autocannon's builder (object copies, a lodash deep clone of the context, an id nobody
 * reads, two buffers joined) took 15.6% of the runner's main thread at 300 requests/s under perf,
 * `requestBytes` 3.0% (docs/performance.md, 2026-12-07); in a hot loop 2.4–3.1 µs against 0.5 µs. The body of a
 * reply is read off the queue's head as the reply completes (no `onResponse` hook: autocannon
 * rebuilt a header object for it with lodash on every reply). It also reads `conn.connecting` (to
 * start the clock once the pool is connected).
 *
 * It also wraps the client's `_connect`, because autocannon keeps one response parser and one queue
 * of outstanding requests per client across reconnections and assumes every response answers a
 * request. A server that writes a response nobody asked for — a 408 on a connection it times out,
 * followed by a close, as the core did to pool connections that had not sent a request yet (Node's
 * request sweep; the core no longer does, docs/configuration.md, but a `--target` may) — made
 * autocannon dereference an empty queue and throw from a socket callback, an uncaught exception
 * that failed the whole run (CI, cold-start). So on every
 * (re)connect the queue is emptied (with one request per connection, a new socket has none
 * outstanding) and the parser restarts (a response cut off on the old socket would otherwise eat
 * the new socket's bytes), and a response with no request outstanding is counted
 * (`unsolicitedResponses`), never attributed to a slot.
 *
 * Checked at start-up (`RECLAB_ERR_LOADTEST_ENGINE_INCOMPATIBLE`) and pinned by
 * test/unit/open-model.test.ts, which fails if autocannon changes how it paces connections.
 */
import type { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import autocannon, { type Client } from 'autocannon';
import { encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import { z } from 'zod';
import type { RandomStream } from '../../../core/ports/random.ts';
import { type LatencySummaryMs, latencyHistogram, summarizeLatencyMs } from '../../../reports/latency.ts';
import { type Series, SeriesRecorder } from '../../../reports/series.ts';
import {
  type ArrivalProcess,
  arrivalSchedule,
  meanRateQps,
  peakRateQps,
  rateAt,
} from '../../../scenarios/arrivals.ts';
import { type SegmentSpec, segmentSchedule, WHOLE } from '../../../scenarios/segments.ts';

/** One request of the schedule, produced by the caller for slot `i`. */
export interface RequestSpec {
  method: 'POST' | 'GET';
  /** Path and query, e.g. `/v1/recommendations`. */
  path: string;
  headers?: Record<string, string>;
  /** Request body (UTF-8). Give `content-type` in `headers` when it is JSON. */
  body?: string;
}

/** What the per-response callback receives. */
export interface ResponseInfo {
  /** Slot index on the schedule (its intended send time is the schedule's i-th). */
  i: number;
  status: number;
  /** Response body as autocannon assembled it (a UTF-8 string). */
  body: Buffer | string;
  /** Response time − intended send time, in ms. */
  latencyMs: number;
  /** True when the slot falls in the warm-up window (not part of the measured figures). */
  warmup: boolean;
}

export interface OpenModelOptions {
  /** Base URL, e.g. `http://127.0.0.1:8080`. Its path is ignored: each request gives its own. */
  url: string;
  /**
   * The arrival process over warm-up + measured window (scenarios/arrivals.ts), the schedule both
   * runners follow. Give this or `rateQps`.
   */
  arrivals?: ArrivalProcess;
  /** The stream a Poisson process draws from (e.g. `arrivals.<phase>` of the run's seed). */
  random?: RandomStream;
  /** Shorthand for `arrivals: { kind: 'constant', rateQps }` (> 0). */
  rateQps?: number;
  /** Measured window, seconds (> 0). */
  durationS: number;
  /** Warm-up window before the measured one, seconds (default 0). */
  warmupS?: number;
  /** Phase name the result is tagged with. */
  phase: string;
  /** Builds the request of slot i. Called when slot i is written, in slot order. */
  makeRequest: (i: number) => RequestSpec;
  /** Called once per response (warm-up included). A throw aborts the run. */
  onResponse?: (r: ResponseInfo) => void;
  /** Upper bound of the connection pool (default 256). */
  connectionsMax?: number;
  /** Per-request timeout, seconds (default 10, ≥ 1: autocannon's minimum). */
  timeoutS?: number;
  /** A slot written more than this after its intended time counts as late (default 10 ms). */
  lateThresholdMs?: number;
  /**
   * Send only this segment of the schedule (scenarios/segments.ts): slots k with k mod N = i, the
   * pool sized for its share. Default: the whole schedule. `offeredQps` is the segment's share.
   */
  segment?: SegmentSpec;
  /**
   * Awaited once the pool has connected, just before the schedule starts (t0): a coordinator's
   * start barrier (several load processes starting one phase together). A rejection aborts the run
   * with RECLAB_ERR_LOADTEST_CALLBACK_FAILED.
   */
  beforeStart?: () => Promise<void>;
  /** Called once when the schedule starts (its first slot is due now): faults are timed from here. */
  onScheduleStart?: () => void;
  /** Called every `progressIntervalMs` (default 1000) while the schedule runs, with the last interval's figures. */
  onProgress?: (p: LiveProgress) => void;
  progressIntervalMs?: number;
}

/** What the driver saw in the last progress interval (for a live progress line). */
export interface LiveProgress {
  phase: string;
  /** Seconds since the schedule started, and its length (warm-up + measured). */
  elapsedS: number;
  totalS: number;
  /** Slots that came due, and responses received (any status), per second over the interval. */
  offeredQps: number;
  achievedQps: number;
  /** p99 of the interval's responses, ms from the intended send time (0 without responses). */
  p99Ms: number;
  /** The interval's 2xx responses by rung. */
  rungCounts: Record<string, number>;
  /** The interval's 503s, and its other errors (other non-2xx, connection errors, timeouts). */
  shed: number;
  errors: number;
}

export type { LatencySummaryMs } from '../../../reports/latency.ts';

/** Responses by status class; `errors` are connection errors/closures, `timeouts` unanswered requests. */
export interface StatusCounts {
  '2xx': number;
  '3xx': number;
  '4xx': number;
  '5xx': number;
  errors: number;
  timeouts: number;
}

/** Figures of one window (warm-up or measured) of a phase. */
export interface WindowStats {
  /** Slots whose intended send time falls in the window. */
  scheduled: number;
  /** Slots written to a connection. */
  sent: number;
  /** Slots answered with an HTTP response (any status). */
  completed: number;
  /** Slots written more than `lateThresholdMs` after their intended time. */
  late: number;
  /** Slots never written because no connection was free before the schedule ended. */
  dropped: number;
  statusCounts: StatusCounts;
  /** 503 responses (also counted in `statusCounts['5xx']`): requests the service shed. */
  shed: number;
  /** Response time − intended send time (the open-model latency). */
  latencyMs: LatencySummaryMs;
  /** Response time − actual write time: what a closed-model tool would report. Diagnostic only. */
  latencyFromSendMs: LatencySummaryMs;
  /** Actual write time − intended send time: the driver's own pacing error. */
  sendLagMs: LatencySummaryMs;
  /** Responses by fallback rung (`meta.rung`); 2xx responses without one count as `none`. */
  rungCounts: Record<string, number>;
  /** Degradation reasons (`"<stage> <code>"` → responses), filled in by the runner. */
  reasonCounts?: Record<string, number>;
  /** 200 responses with fewer items than the request's `count`, filled in by the runner. */
  shortLists?: number;
  /** 200 responses not on `full` whose `meta.reasons` is empty (a degradation that names no reason), filled in by the runner. */
  unexplainedDegraded?: number;
  /** The intended-time latency histogram, µs, HdrHistogram compressed base64 (mergeable). */
  histogramBase64: string;
  /** `latencyFromSendMs` and `sendLagMs` as histograms (µs, compressed base64), for merging segments. */
  fromSendHistogramBase64?: string;
  sendLagHistogramBase64?: string;
  /** Per-second figures by intended send time (seconds from the window's start). */
  series: Series;
}

/** Result of one phase: the measured window's figures at top level, the warm-up's under `warmup`. */
export interface PhaseResult extends WindowStats {
  phase: string;
  /** The mean arrival rate the process intends over the measured window, requests/s. */
  offeredQps: number;
  /** Responses (any status) to measured slots / `durationS`. */
  achievedQps: number;
  durationS: number;
  warmupS: number;
  connections: number;
  lateThresholdMs: number;
  /** Wall-clock start of the schedule (t0) and end of the drain, ISO 8601. */
  startedAt: string;
  endedAt: string;
  /**
   * Responses that arrived on a connection with no request outstanding (a server's 408 as it times
   * the connection out, before closing it): attributed to no slot. Absent from drivers that cannot
   * see them (vegeta).
   */
  unsolicitedResponses?: number;
  warmup: WindowStats;
}

/** Error codes of this driver (callers match on `code`). */
export type OpenModelErrorCode =
  | 'RECLAB_ERR_LOADTEST_OPTIONS_INVALID'
  | 'RECLAB_ERR_LOADTEST_ENGINE_INCOMPATIBLE'
  | 'RECLAB_ERR_LOADTEST_ENGINE_FAILED'
  | 'RECLAB_ERR_LOADTEST_CALLBACK_FAILED';

export class OpenModelError extends Error {
  readonly code: OpenModelErrorCode;
  constructor(code: OpenModelErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OpenModelError';
    this.code = code;
  }
}

const optionsSchema = z.object({
  url: z.url({ protocol: /^https?$/ }),
  rateQps: z.number().positive().finite().optional(),
  durationS: z.number().positive().finite(),
  warmupS: z.number().nonnegative().finite().default(0),
  phase: z.string().min(1),
  connectionsMax: z.number().int().positive().default(256),
  timeoutS: z.number().min(1).finite().default(10),
  lateThresholdMs: z.number().nonnegative().finite().default(10),
  progressIntervalMs: z.number().min(100).finite().default(1000),
});

/**
 * Pool size = rate × this (capped by connectionsMax): a full stall of up to this long, and the
 * burst of replies after it, is absorbed without late writes.
 */
const POOL_HEADROOM_S = 2;
/** Extra wait after the last per-request timeout could have fired, before giving up on a reply. */
const DRAIN_MARGIN_MS = 250;
/** Bound on the wait for the pool's sockets to connect before t0. */
const CONNECT_WAIT_MS = 2_000;
/** Kept off exact slot boundaries so float error never makes a slot due one interval late (ms). */
const SLOT_EPSILON_MS = 1e-6;

/** The parts of autocannon 8's Client (lib/httpClient.js) that are not in its public API. */
interface ClientInternals extends Client {
  _doRequest: () => void;
  _connect: () => void;
  _destroyConnection: () => void;
  destroyed: boolean;
  reqsMade: number;
  conn?: Socket;
  /** Requests written and not yet answered, oldest first (lib/pipelinedRequestsQueue.js). */
  pipelinedRequests: {
    size: () => number;
    clear: () => void;
    insertRequest: (req: object) => void;
    /** The oldest outstanding request: its `body` is the reply's body so far (a string). */
    peek: () => { body: string } | undefined;
  };
  /** The per-request timeout (retimer) and its length, ms: restarted at each write. */
  timeoutTicker: { reschedule: (ms: number) => void };
  timeout: number;
  /** http-parser-js's HTTPParser: its callbacks live under numeric keys named on its constructor. */
  parser: {
    type: string;
    initialize: (type: string) => void;
    constructor: { kOnMessageComplete: number };
    [callback: number]: () => void;
  };
}

interface InFlight {
  i: number;
  intendedMs: number;
  sentMs: number;
  /** Intended send time, s from the schedule's start. */
  offsetS: number;
}

interface Connection {
  client: ClientInternals;
  idle: boolean;
  inFlight: InFlight | undefined;
  /** A request whose connection closed before the reply, until classified (timeout or error). */
  lost: InFlight | undefined;
}

interface WindowRecorder {
  stats: Omit<WindowStats, 'latencyMs' | 'latencyFromSendMs' | 'sendLagMs' | 'histogramBase64' | 'series'>;
  latency: Histogram;
  fromSend: Histogram;
  sendLag: Histogram;
  series: SeriesRecorder;
  /** Offset of the window's start in the schedule, s. */
  startS: number;
}

function newWindow(startS: number): WindowRecorder {
  return {
    stats: {
      scheduled: 0,
      sent: 0,
      completed: 0,
      late: 0,
      dropped: 0,
      statusCounts: { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, errors: 0, timeouts: 0 },
      shed: 0,
      rungCounts: {},
    },
    latency: latencyHistogram(),
    fromSend: latencyHistogram(),
    sendLag: latencyHistogram(),
    series: new SeriesRecorder(1),
    startS,
  };
}

const msToUs = (ms: number): number => Math.max(1, Math.round(ms * 1000));

function finishWindow(w: WindowRecorder): WindowStats {
  return {
    ...w.stats,
    latencyMs: summarizeLatencyMs(w.latency),
    latencyFromSendMs: summarizeLatencyMs(w.fromSend),
    sendLagMs: summarizeLatencyMs(w.sendLag),
    histogramBase64: encodeIntoCompressedBase64(w.latency),
    fromSendHistogramBase64: encodeIntoCompressedBase64(w.fromSend),
    sendLagHistogramBase64: encodeIntoCompressedBase64(w.sendLag),
    series: w.series.series(),
  };
}

const RUNG_RE = /"rung"\s*:\s*"([^"\\]{1,64})"/y;

/**
 * The fallback rung of a recommendation response (`meta.rung`), or undefined. Cheap: no JSON.parse,
 * a scan for `"meta"` then for the first `"rung":"…"` after it (the response's only `rung` key).
 */
export function rungOf(body: string): string | undefined {
  const meta = body.indexOf('"meta"');
  if (meta < 0) return undefined;
  let at = body.indexOf('"rung"', meta);
  while (at >= 0) {
    RUNG_RE.lastIndex = at;
    const m = RUNG_RE.exec(body);
    if (m) return m[1];
    at = body.indexOf('"rung"', at + 6);
  }
  return undefined;
}

/**
 * The bytes of one HTTP/1.1 request as autocannon 8's request builder (lib/httpRequestBuilder.js)
 * makes them for `spec` on a connection to `host` (`host:port`): the request line, `Host` (unless
 * `spec.headers` names one), `Connection: keep-alive`, `spec.headers` in their order, then
 * `Content-Length` when there is a body, a blank line and the body (UTF-8). A `Content-Length` in
 * `spec.headers` is replaced by the body's length, as autocannon does.
 */
export function requestBytes(spec: RequestSpec, host: string): Buffer {
  let head = `${spec.method} ${spec.path} HTTP/1.1\r\n`;
  let lines = '';
  let hostDefined = false;
  const body = spec.body ?? '';
  const bodyBytes = Buffer.byteLength(body);
  let lengthWritten = false;
  if (spec.headers) {
    for (const key in spec.headers) {
      if (key.toLowerCase() === 'host') hostDefined = true;
      if (key === 'Content-Length' && bodyBytes > 0) {
        lengthWritten = true;
        lines += `Content-Length: ${bodyBytes}\r\n`;
        continue;
      }
      lines += `${key}: ${spec.headers[key]}\r\n`;
    }
  }
  if (!hostDefined) head += `Host: ${host}\r\n`;
  head += 'Connection: keep-alive\r\n';
  if (bodyBytes > 0 && !lengthWritten) lines += `Content-Length: ${bodyBytes}\r\n`;
  return Buffer.from(`${head}${lines}\r\n${body}`, 'utf8');
}

/** Writes `bytes` on the client's connection as its `_doRequest` would write the current request. */
function writeRaw(c: ClientInternals, bytes: Buffer): void {
  // The queue entry's `req` is only read by autocannon's per-request hooks, which this driver does not use.
  c.pipelinedRequests.insertRequest({});
  c.conn!.write(bytes);
  c.timeoutTicker.reschedule(c.timeout);
  c.reqsMade++;
}

/**
 * Runs one phase of an arrival process (`arrivals`, or a constant `rateQps`) over warmupS +
 * durationS: slot i is intended at t0 + the schedule's i-th offset (for a constant rate, i / rateQps
 * for ceil(rateQps × (warmupS + durationS)) slots); slots of the first warmupS seconds are reported
 * under `warmup`, the rest at top level. Resolves once every written request has been answered or
 * has timed out (at most timeoutS after the schedule ends).
 *
 * Errors (rejections, by `code`): RECLAB_ERR_LOADTEST_OPTIONS_INVALID (bad options, all problems
 * listed), RECLAB_ERR_LOADTEST_ENGINE_INCOMPATIBLE (the installed autocannon lacks the client
 * internals described above), RECLAB_ERR_LOADTEST_ENGINE_FAILED (autocannon failed or stopped
 * early), RECLAB_ERR_LOADTEST_CALLBACK_FAILED (makeRequest or onResponse threw; `cause` holds it).
 * HTTP errors and timeouts are counted, never thrown.
 */
export async function runOpenModel(opts: OpenModelOptions): Promise<PhaseResult> {
  const parsed = optionsSchema.safeParse(opts);
  if (!parsed.success) {
    throw new OpenModelError('RECLAB_ERR_LOADTEST_OPTIONS_INVALID', z.prettifyError(parsed.error));
  }
  if (typeof opts.makeRequest !== 'function') {
    throw new OpenModelError('RECLAB_ERR_LOADTEST_OPTIONS_INVALID', 'makeRequest must be a function');
  }
  const o = parsed.data;
  const { makeRequest, onResponse } = opts;
  if ((opts.arrivals === undefined) === (o.rateQps === undefined)) {
    throw new OpenModelError('RECLAB_ERR_LOADTEST_OPTIONS_INVALID', 'give either arrivals or rateQps');
  }
  const arrivals: ArrivalProcess = opts.arrivals ?? { kind: 'constant', rateQps: o.rateQps! };
  const totalS = o.warmupS + o.durationS;
  const segment = opts.segment ?? WHOLE;
  if (
    !(Number.isInteger(segment.count) && segment.count >= 1 && Number.isInteger(segment.index)) ||
    segment.index < 0 ||
    segment.index >= segment.count
  ) {
    throw new OpenModelError('RECLAB_ERR_LOADTEST_OPTIONS_INVALID', 'segment must be i/N with 0 ≤ i < N');
  }
  let schedule: ReturnType<typeof arrivalSchedule>;
  try {
    schedule = segmentSchedule(arrivalSchedule(arrivals, totalS, opts.random), segment);
  } catch (err) {
    throw new OpenModelError('RECLAB_ERR_LOADTEST_OPTIONS_INVALID', (err as Error).message);
  }
  const connections = Math.min(
    o.connectionsMax,
    Math.max(1, Math.ceil((peakRateQps(arrivals, totalS) / segment.count) * POOL_HEADROOM_S)),
  );
  const lateMs = o.lateThresholdMs;
  const warm = newWindow(0);
  const measured = newWindow(o.warmupS);
  const windowOfOffset = (offsetS: number): WindowRecorder => (offsetS < o.warmupS - 1e-9 ? warm : measured);
  const windowOf = (f: InFlight): WindowRecorder => windowOfOffset(f.offsetS);

  let t0 = Number.NaN;
  let windowEndMs = Number.NaN;
  let nextSlot = 0;
  /** Offset (s) of slot `nextSlot` on the schedule; undefined once the schedule has no more. */
  let pendingOffsetS = schedule.next();
  let pumpAtMs = Number.POSITIVE_INFINITY;
  let scheduleClosed = false;
  let finished = false;
  let failure: OpenModelError | undefined;
  let pending = 0; // requests written and neither answered nor classified as lost
  let pumpTimer: NodeJS.Timeout | undefined;
  let drainTimer: NodeJS.Timeout | undefined;
  const pool: Connection[] = [];
  let unsolicited = 0; // responses that arrived with no request outstanding on their connection
  const idle: Connection[] = []; // LIFO: keeps a few connections hot instead of cycling through all
  let resolveDrained!: () => void;
  const drained = new Promise<void>((resolve) => {
    resolveDrained = resolve;
  });

  // The parser's completion hook (setupClient) reads the reply's body off the queue just before the
  // client's 'response' event, synchronously: one variable carries it to onReply.
  let lastBody = '';
  const host = new URL(o.url).host;

  /** The next slot of the schedule is due at `now`. */
  const isDue = (now: number): boolean =>
    pendingOffsetS !== undefined && t0 + pendingOffsetS * 1000 <= now + SLOT_EPSILON_MS;

  // The live progress figures of the current interval.
  let live = {
    responses: 0,
    shed: 0,
    errors: 0,
    rungs: new Map<string, number>(),
    latency: latencyHistogram(),
  };
  let liveSinceMs = Number.NaN;
  let progressTimer: NodeJS.Timeout | undefined;
  function reportProgress(): void {
    const now = performance.now();
    const spanS = Math.max(1e-3, (now - liveSinceMs) / 1000);
    const elapsedS = (now - t0) / 1000;
    opts.onProgress?.({
      phase: o.phase,
      elapsedS,
      totalS,
      offeredQps: rateAt(arrivals, totalS, Math.min(elapsedS, totalS - 1e-6)) / segment.count,
      achievedQps: live.responses / spanS,
      p99Ms: live.latency.totalCount ? live.latency.getValueAtPercentile(99) / 1000 : 0,
      rungCounts: Object.fromEntries(live.rungs),
      shed: live.shed,
      errors: live.errors,
    });
    live = { responses: 0, shed: 0, errors: 0, rungs: new Map(), latency: latencyHistogram() };
    liveSinceMs = now;
  }

  function fail(code: OpenModelErrorCode, message: string, cause?: unknown): void {
    failure ??= new OpenModelError(code, message, { cause });
    finish();
  }

  /** Writes the next slot of the schedule (due now) on `conn`. */
  function write(conn: Connection): void {
    const i = nextSlot++;
    const offsetS = pendingOffsetS!;
    pendingOffsetS = schedule.next();
    let bytes: Buffer;
    try {
      bytes = requestBytes(makeRequest(i), host);
    } catch (err) {
      fail('RECLAB_ERR_LOADTEST_CALLBACK_FAILED', `makeRequest(${i}) threw`, err);
      return;
    }
    const now = performance.now();
    const intendedMs = t0 + offsetS * 1000;
    const w = windowOfOffset(offsetS);
    w.stats.scheduled++;
    w.series.offer(offsetS - w.startS);
    w.stats.sent++;
    const lagMs = now - intendedMs;
    w.sendLag.recordValue(msToUs(lagMs));
    if (lagMs > lateMs) w.stats.late++;
    conn.idle = false;
    conn.inFlight = { i, intendedMs, sentMs: now, offsetS };
    pending++;
    writeRaw(conn.client, bytes);
  }

  /** autocannon asks this connection for its next request: on connect, reconnect, and after a reply. */
  function onConnectionReady(conn: Connection): void {
    if (finished) return;
    if (conn.inFlight) {
      // The socket closed or timed out with our request unanswered. autocannon emits 'timeout'
      // right after this call on a timeout, so classify on the next microtask.
      if (conn.lost) settleLost(conn, 'errors');
      conn.lost = conn.inFlight;
      conn.inFlight = undefined;
      queueMicrotask(() => settleLost(conn, 'errors'));
    }
    const now = performance.now();
    if (!scheduleClosed && isDue(now)) {
      if (conn.idle) {
        // An idle connection reconnecting between two pump ticks: take it off the idle stack first.
        conn.idle = false;
        idle.splice(idle.indexOf(conn), 1);
      }
      write(conn);
      // The pump slept through a backlog; wake it for the next slot (or the schedule's end).
      if (!isDue(now)) armPump(now);
      return;
    }
    if (!conn.idle) {
      conn.idle = true;
      idle.push(conn);
    }
  }

  function settleLost(conn: Connection, kind: 'errors' | 'timeouts'): void {
    const lost = conn.lost;
    if (!lost || finished) return;
    conn.lost = undefined;
    const w = windowOf(lost);
    w.stats.statusCounts[kind]++;
    w.series.record(lost.offsetS - w.startS, 0, undefined);
    live.errors++;
    pending--;
    maybeDrained();
  }

  function onReply(conn: Connection, status: number): void {
    const at = performance.now();
    const body = lastBody;
    lastBody = '';
    const f = conn.inFlight;
    if (!f || finished) return;
    conn.inFlight = undefined;
    pending--;
    const w = windowOf(f);
    w.stats.completed++;
    const cls = Math.floor(status / 100);
    if (cls >= 2 && cls <= 5) w.stats.statusCounts[`${cls}xx` as '2xx']++;
    else w.stats.statusCounts.errors++;
    if (status === 503) w.stats.shed++;
    const latencyMs = at - f.intendedMs;
    w.latency.recordValue(msToUs(latencyMs));
    w.fromSend.recordValue(msToUs(at - f.sentMs));
    const rung = rungOf(body) ?? (cls === 2 ? 'none' : undefined);
    if (rung !== undefined) w.stats.rungCounts[rung] = (w.stats.rungCounts[rung] ?? 0) + 1;
    w.series.record(f.offsetS - w.startS, status, msToUs(latencyMs), rung);
    live.responses++;
    live.latency.recordValue(msToUs(latencyMs));
    if (cls === 2 && rung !== undefined) live.rungs.set(rung, (live.rungs.get(rung) ?? 0) + 1);
    else if (status === 503) live.shed++;
    else if (cls !== 2) live.errors++;
    if (onResponse) {
      try {
        onResponse({ i: f.i, status, body, latencyMs, warmup: w === warm });
      } catch (err) {
        fail('RECLAB_ERR_LOADTEST_CALLBACK_FAILED', `onResponse threw for slot ${f.i}`, err);
        return;
      }
    }
    maybeDrained();
  }

  function setupClient(client: Client): void {
    const c = client as ClientInternals;
    if (
      typeof c._doRequest !== 'function' ||
      typeof c._connect !== 'function' ||
      typeof c._destroyConnection !== 'function' ||
      typeof c.reqsMade !== 'number' ||
      typeof c.pipelinedRequests?.clear !== 'function' ||
      typeof c.pipelinedRequests.insertRequest !== 'function' ||
      typeof c.pipelinedRequests.peek !== 'function' ||
      typeof c.timeout !== 'number' ||
      typeof c.parser?.initialize !== 'function' ||
      typeof c.parser.constructor.kOnMessageComplete !== 'number'
    ) {
      throw new OpenModelError(
        'RECLAB_ERR_LOADTEST_ENGINE_INCOMPATIBLE',
        'autocannon Client lacks _doRequest/_connect/_destroyConnection/reqsMade/pipelinedRequests/parser: this driver is written against autocannon 8.0',
      );
    }
    // See the module comment. autocannon installs its parser callbacks and its request timer after
    // `setupClient` and before its first `_connect`, so the completion guard goes in (and the timer
    // is checked) on the first connect.
    const connect = c._connect;
    const destroyConnection = c._destroyConnection;
    const kComplete = c.parser.constructor.kOnMessageComplete;
    let guarded = false;
    // autocannon's request timer also fires on a connection with nothing outstanding (it restarts
    // only on a write) and then replaces the socket. Most of a pool sized for the peak rate is idle,
    // so that was a reconnection per idle connection every `timeoutS` (about 20/s on a 200-socket
    // pool): CPU on both sides of the measurement for nothing. An idle, open socket is kept.
    let keptIdle = false;
    c._destroyConnection = () => {
      const socket = c.conn;
      if (
        !c.destroyed &&
        c.pipelinedRequests.size() === 0 &&
        socket &&
        !socket.destroyed &&
        !socket.connecting
      ) {
        keptIdle = true; // the timeout's reconnect that follows is skipped too
        return;
      }
      destroyConnection.call(c);
    };
    c._connect = () => {
      if (keptIdle) {
        keptIdle = false;
        return;
      }
      c.pipelinedRequests.clear();
      c.parser.initialize(c.parser.type);
      if (!guarded) {
        guarded = true;
        if (typeof c.timeoutTicker?.reschedule !== 'function')
          throw new OpenModelError(
            'RECLAB_ERR_LOADTEST_ENGINE_INCOMPATIBLE',
            'autocannon Client lacks timeoutTicker: this driver is written against autocannon 8.0',
          );
        const onComplete = c.parser[kComplete];
        c.parser[kComplete] = () => {
          const outstanding = c.pipelinedRequests.peek();
          if (outstanding === undefined) {
            unsolicited++;
            return;
          }
          lastBody = outstanding.body;
          return onComplete();
        };
      }
      connect.call(c);
    };
    const conn: Connection = {
      client: c,
      idle: false,
      inFlight: undefined,
      lost: undefined,
    };
    c._doRequest = () => onConnectionReady(conn);
    // 'connError' and 'timeout' are real Client events that @types/autocannon does not declare.
    const events: EventEmitter = c;
    events.on('response', (status: number) => onReply(conn, status));
    // 'connError' is emitted before autocannon reconnects (and asks for the next request).
    events.on('connError', () => {
      if (finished || !conn.inFlight) return;
      if (conn.lost) settleLost(conn, 'errors');
      conn.lost = conn.inFlight;
      conn.inFlight = undefined;
      settleLost(conn, 'errors');
    });
    // Also fires on idle connections (autocannon's timer restarts at each write): only a request
    // left unanswered counts.
    events.on('timeout', () => settleLost(conn, 'timeouts'));
    pool.push(conn);
  }

  function pump(): void {
    pumpTimer = undefined;
    pumpAtMs = Number.POSITIVE_INFINITY;
    if (finished || scheduleClosed) return;
    const now = performance.now();
    while (isDue(now) && idle.length > 0) {
      write(idle.pop()!);
      if (finished) return;
    }
    if (pendingOffsetS === undefined || now >= windowEndMs) {
      closeSchedule();
      return;
    }
    armPump(now);
  }

  /**
   * Wakes the pump for the next slot, or for the schedule's end. Due slots without a connection
   * wait for onConnectionReady, which re-arms the pump once the backlog is written.
   */
  function armPump(now: number): void {
    if (finished || scheduleClosed) return;
    const at =
      pendingOffsetS === undefined
        ? now
        : isDue(now)
          ? windowEndMs
          : Math.min(windowEndMs, t0 + pendingOffsetS * 1000);
    if (pumpTimer !== undefined && pumpAtMs <= at) return;
    clearTimeout(pumpTimer);
    pumpAtMs = at;
    // A whole number of ms: Node keeps one timer list per distinct duration and its event loop
    // counts whole ms, so a fractional delay woke the loop once too early (libuv truncates the
    // delay) and then again on the next ms, about 1.85 wake-ups per slot at 300/s against 1.0, at
    // the same send times (a 300/s pump alone, 2026-12-07: 178–193 against 126–159 ms of CPU for
    // 1,800 slots, mean send lag 0.665–0.747 against 0.660–0.743 ms).
    pumpTimer = setTimeout(pump, Math.ceil(Math.max(0, at - now)));
  }

  function closeSchedule(): void {
    scheduleClosed = true;
    clearInterval(progressTimer);
    // Slots of the schedule never written before its end: dropped, never silently lost.
    while (pendingOffsetS !== undefined) {
      const w = windowOfOffset(pendingOffsetS);
      w.stats.scheduled++;
      w.series.offer(pendingOffsetS - w.startS);
      w.stats.dropped++;
      nextSlot++;
      pendingOffsetS = schedule.next();
    }
    // autocannon times a request out timeoutS after its write; wait that long at most.
    drainTimer = setTimeout(finish, o.timeoutS * 1000 + DRAIN_MARGIN_MS);
    maybeDrained();
  }

  function maybeDrained(): void {
    if (scheduleClosed && pending === 0) finish();
  }

  function finish(): void {
    if (finished) return;
    finished = true;
    clearTimeout(pumpTimer);
    clearTimeout(drainTimer);
    clearInterval(progressTimer);
    for (const conn of pool) {
      // Unanswered by the end of the drain: counted as timeouts.
      for (const f of [conn.inFlight, conn.lost]) {
        if (!f) continue;
        const w = windowOf(f);
        w.stats.statusCounts.timeouts++;
        w.series.record(f.offsetS - w.startS, 0, undefined);
      }
      conn.inFlight = undefined;
      conn.lost = undefined;
    }
    resolveDrained();
  }

  let engineError: unknown;
  let resolveEngine!: () => void;
  const engineDone = new Promise<void>((resolve) => {
    resolveEngine = resolve;
  });
  let instance: autocannon.Instance;
  try {
    instance = autocannon(
      {
        url: o.url,
        connections,
        pipelining: 1,
        timeout: o.timeoutS,
        // A safety net only: the driver stops autocannon itself once the schedule has drained.
        duration: o.warmupS + o.durationS + o.timeoutS + 5,
        // How often autocannon checks its stop flag (and samples its own, unused, counters).
        sampleInt: 100,
        setupClient,
        skipAggregateResult: true,
      },
      (err: unknown) => {
        if (err) engineError = err;
        if (!finished)
          fail('RECLAB_ERR_LOADTEST_ENGINE_FAILED', 'autocannon stopped before the schedule drained', err);
        resolveEngine();
      },
    );
  } catch (err) {
    if (err instanceof OpenModelError) throw err;
    throw new OpenModelError('RECLAB_ERR_LOADTEST_ENGINE_FAILED', 'autocannon failed to start', {
      cause: err,
    });
  }

  let startedAt = new Date();
  if (!failure) {
    await waitForConnections(pool);
    if (opts.beforeStart) {
      try {
        await opts.beforeStart();
      } catch (err) {
        fail('RECLAB_ERR_LOADTEST_CALLBACK_FAILED', 'beforeStart rejected', err);
      }
    }
  }
  if (!failure) {
    // Start from the first-opened connection: a server accepts a burst of connections in order, so
    // the last-opened one may not be accepted yet when the first slot is due.
    idle.reverse();
    startedAt = new Date();
    t0 = performance.now();
    windowEndMs = t0 + totalS * 1000;
    liveSinceMs = t0;
    if (opts.onProgress) progressTimer = setInterval(reportProgress, o.progressIntervalMs);
    try {
      opts.onScheduleStart?.();
    } catch (err) {
      fail('RECLAB_ERR_LOADTEST_CALLBACK_FAILED', 'onScheduleStart threw', err);
    }
    pump();
  }
  await drained;
  const endedAt = new Date();
  // `stop` exists only once autocannon got past option validation (which reports synchronously).
  if (typeof instance.stop === 'function') instance.stop();
  await engineDone;
  if (failure) throw failure;
  if (engineError)
    throw new OpenModelError('RECLAB_ERR_LOADTEST_ENGINE_FAILED', 'autocannon failed', {
      cause: engineError,
    });

  const m = finishWindow(measured);
  // Λ over the measured window ÷ its length: the mean rate the process intends there.
  // A segment intends its 1/N share of it.
  const offeredQps =
    (meanRateQps(arrivals, totalS) * totalS - meanRateQps(arrivals, o.warmupS) * o.warmupS) /
    o.durationS /
    segment.count;
  return {
    phase: o.phase,
    offeredQps: Math.round(offeredQps * 1000) / 1000,
    achievedQps: m.completed / o.durationS,
    durationS: o.durationS,
    warmupS: o.warmupS,
    connections,
    lateThresholdMs: lateMs,
    startedAt: startedAt.toISOString(),
    endedAt: endedAt.toISOString(),
    unsolicitedResponses: unsolicited,
    ...m,
    warmup: finishWindow(warm),
  };
}

/** Waits (bounded) until the pool's sockets have connected, so t0 does not include TCP set-up. */
async function waitForConnections(pool: Connection[]): Promise<void> {
  const deadline = performance.now() + CONNECT_WAIT_MS;
  while (pool.some((c) => c.client.conn?.connecting) && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
