/**
 * Merging what several load generators measured for one phase (issue 14) into the figures one
 * generator would have reported: counts are summed and every latency figure comes from the
 * segments' HdrHistograms added together, never from averaging their percentiles (Measurement
 * rules, ARCHITECTURE.md; a p99 is not an average of p99s: test/unit/segments.test.ts).
 *
 * The per-second series keeps exact counts (answered and offered), rungs, sheds and errors; a
 * bucket's percentiles come from the segments' bucket histograms added together. Where a segment
 * recorded no bucket histogram (results from before they existed), that bucket's p99 is the highest
 * of the segments' (an upper bound, so a recovery time judged on it errs on the late side) and has
 * no histogram.
 */
import { decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import { latencyHistogram, summarizeLatencyMs } from '../../reports/latency.ts';
import type { Series, SeriesBucket } from '../../reports/series.ts';
import type { PhaseResult, StatusCounts, WindowStats } from '../drivers/autocannon/open-model.ts';

/** Thrown when the parts cannot be merged (different phases, missing histograms). */
export class MergeError extends Error {
  readonly code = 'RECLAB_ERR_MERGE_INVALID';
}

/** The sum of the histograms (µs, compressed base64) in a fresh auto-resizing latency histogram. */
export function mergeHistograms(encoded: readonly string[]): Histogram {
  const merged = latencyHistogram();
  for (const e of encoded) if (e) merged.add(decodeFromCompressedBase64(e));
  return merged;
}

const sumCounts = (xs: readonly (Record<string, number> | undefined)[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const x of xs) for (const [k, v] of Object.entries(x ?? {})) out[k] = (out[k] ?? 0) + v;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
};

/** Parts with answered requests in bucket `i`. */
const partsAnswering = (parts: readonly Series[], i: number): number =>
  parts.filter((s) => (s.buckets[i]?.p99Ms ?? 0) > 0 || s.buckets[i]?.histogramBase64).length;

/** Buckets summed by index; percentiles from the merged bucket histograms (see the file header). */
export function mergeSeries(parts: readonly Series[]): Series {
  const bucketS = parts[0]?.bucketS ?? 1;
  if (parts.some((s) => s.bucketS !== bucketS)) throw new MergeError('series with different bucket widths');
  const buckets: SeriesBucket[] = [];
  const histograms: string[][] = [];
  for (const s of parts) {
    s.buckets.forEach((b, i) => {
      buckets[i] ??= { startS: b.startS, count: 0, p99Ms: 0, rungCounts: {}, shed: 0, errors: 0 };
      const into = buckets[i];
      into.count += b.count;
      if (b.offered !== undefined) into.offered = (into.offered ?? 0) + b.offered;
      into.p99Ms = Math.max(into.p99Ms, b.p99Ms);
      into.rungCounts = sumCounts([into.rungCounts, b.rungCounts]);
      into.shed += b.shed;
      into.errors += b.errors;
      if (b.histogramBase64) {
        histograms[i] ??= [];
        histograms[i].push(b.histogramBase64);
      }
    });
  }
  buckets.forEach((b, i) => {
    // Exact only when every part that answered requests in this second brought its histogram.
    const hs = histograms[i];
    if (!hs || hs.length !== partsAnswering(parts, i)) return;
    const h = mergeHistograms(hs);
    b.p50Ms = h.getValueAtPercentile(50) / 1000;
    b.p95Ms = h.getValueAtPercentile(95) / 1000;
    b.p99Ms = h.getValueAtPercentile(99) / 1000;
    b.histogramBase64 = encodeIntoCompressedBase64(h);
  });
  // A segment with no slot in some second leaves a hole: an empty bucket, as one recorder would.
  for (let i = 0; i < buckets.length; i++)
    buckets[i] ??= {
      startS: Math.round(i * bucketS * 1000) / 1000,
      count: 0,
      p99Ms: 0,
      rungCounts: {},
      shed: 0,
      errors: 0,
    };
  return { bucketS, buckets };
}

function sumOf<T>(parts: readonly T[], f: (p: T) => number | undefined): number {
  return parts.reduce((a, p) => a + (f(p) ?? 0), 0);
}

/** One window (warm-up or measured) of several segments as one. */
export function mergeWindows(parts: readonly WindowStats[]): WindowStats {
  const withSamples = parts.filter((p) => p.latencyMs.count > 0);
  if (withSamples.some((p) => !p.histogramBase64))
    throw new MergeError('a segment with latency samples has no histogram (histogramBase64)');
  const latency = mergeHistograms(withSamples.map((p) => p.histogramBase64));
  const diagnostics = (key: 'fromSendHistogramBase64' | 'sendLagHistogramBase64') =>
    withSamples.every((p) => p[key]) ? mergeHistograms(withSamples.map((p) => p[key]!)) : undefined;
  const fromSend = diagnostics('fromSendHistogramBase64');
  const sendLag = diagnostics('sendLagHistogramBase64');
  const statusKeys: (keyof StatusCounts)[] = ['2xx', '3xx', '4xx', '5xx', 'errors', 'timeouts'];
  const hasReasons = parts.some((p) => p.reasonCounts);
  const hasShort = parts.some((p) => p.shortLists !== undefined);
  const hasUnexplained = parts.some((p) => p.unexplainedDegraded !== undefined);
  return {
    scheduled: sumOf(parts, (p) => p.scheduled),
    sent: sumOf(parts, (p) => p.sent),
    completed: sumOf(parts, (p) => p.completed),
    late: sumOf(parts, (p) => p.late),
    dropped: sumOf(parts, (p) => p.dropped),
    statusCounts: Object.fromEntries(
      statusKeys.map((k) => [k, sumOf(parts, (p) => p.statusCounts[k])]),
    ) as unknown as StatusCounts,
    shed: sumOf(parts, (p) => p.shed),
    latencyMs: summarizeLatencyMs(latency),
    // Without every segment's histogram, the largest summary stands in (diagnostics only).
    latencyFromSendMs: fromSend
      ? summarizeLatencyMs(fromSend)
      : withSamples.reduce(
          (a, p) => (p.latencyFromSendMs.p99 > a.p99 ? p.latencyFromSendMs : a),
          parts[0].latencyFromSendMs,
        ),
    sendLagMs: sendLag
      ? summarizeLatencyMs(sendLag)
      : withSamples.reduce((a, p) => (p.sendLagMs.p99 > a.p99 ? p.sendLagMs : a), parts[0].sendLagMs),
    rungCounts: sumCounts(parts.map((p) => p.rungCounts)),
    ...(hasReasons ? { reasonCounts: sumCounts(parts.map((p) => p.reasonCounts)) } : {}),
    ...(hasShort ? { shortLists: sumOf(parts, (p) => p.shortLists) } : {}),
    ...(hasUnexplained ? { unexplainedDegraded: sumOf(parts, (p) => p.unexplainedDegraded) } : {}),
    histogramBase64: encodeIntoCompressedBase64(latency),
    ...(fromSend ? { fromSendHistogramBase64: encodeIntoCompressedBase64(fromSend) } : {}),
    ...(sendLag ? { sendLagHistogramBase64: encodeIntoCompressedBase64(sendLag) } : {}),
    series: mergeSeries(parts.map((p) => p.series)),
  };
}

/**
 * The segments' results of one phase as one result: offered rates and connections summed,
 * achieved = completed / durationS, the earliest start and the latest end.
 * @throws MergeError RECLAB_ERR_MERGE_INVALID for no parts, parts of different phases or windows,
 *   or a part with samples and no histogram
 */
export function mergePhaseResults(parts: readonly PhaseResult[]): PhaseResult {
  if (parts.length === 0) throw new MergeError('nothing to merge');
  const first = parts[0];
  for (const p of parts) {
    if (p.phase !== first.phase) throw new MergeError(`phases differ: ${first.phase} and ${p.phase}`);
    if (p.durationS !== first.durationS || p.warmupS !== first.warmupS)
      throw new MergeError(`phase ${p.phase}: the segments' windows differ`);
  }
  const measured = mergeWindows(parts);
  const startedAt = parts.map((p) => p.startedAt).sort()[0];
  const endedAt = parts
    .map((p) => p.endedAt)
    .sort()
    .at(-1)!;
  return {
    phase: first.phase,
    offeredQps: Math.round(sumOf(parts, (p) => p.offeredQps) * 1000) / 1000,
    achievedQps: measured.completed / first.durationS,
    durationS: first.durationS,
    warmupS: first.warmupS,
    connections: sumOf(parts, (p) => p.connections),
    lateThresholdMs: first.lateThresholdMs,
    startedAt,
    endedAt,
    ...(parts.some((p) => p.unsolicitedResponses !== undefined)
      ? { unsolicitedResponses: sumOf(parts, (p) => p.unsolicitedResponses) }
      : {}),
    ...measured,
    warmup: mergeWindows(parts.map((p) => p.warmup)),
  };
}
