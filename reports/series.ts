/**
 * Per-second figures of a phase, by intended send time: what recovery times are measured on
 * (scenarios/recovery.ts) and what a report plots over time. Both runners record them: the live
 * driver and the simulator's phase recorder. Bounded memory: one small histogram per bucket
 * (2 significant digits, enough for a per-second p99), whatever the rate.
 */
import { build, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';

/** One bucket: requests intended in [startS, startS + bucketS) of the phase. */
export interface SeriesBucket {
  /** Seconds from the phase's start (its first intended send time). */
  startS: number;
  /** Requests with an outcome (any status, or a transport error). */
  count: number;
  /** Requests the arrival process intended in the bucket (sent or dropped): the offered rate × bucketS. */
  offered?: number;
  /** p50 and p95 of the answered requests' latency from the intended send time, ms (0 when none). */
  p50Ms?: number;
  p95Ms?: number;
  /** p99 of the answered requests' latency from the intended send time, ms (0 when none). */
  p99Ms: number;
  /**
   * The bucket's latency histogram (µs from the intended send time, HdrHistogram compressed
   * base64, 2 significant digits); absent when nothing was answered, and in runs recorded before
   * it existed. Recovery times merge consecutive buckets' histograms (scenarios/recovery.ts).
   */
  histogramBase64?: string;
  /** 2xx responses by rung (`meta.rung`). */
  rungCounts: Record<string, number>;
  /** 503 responses (shed). */
  shed: number;
  /** Other non-2xx responses, connection errors and timeouts. */
  errors: number;
}

export interface Series {
  bucketS: number;
  buckets: SeriesBucket[];
}

interface Bucket {
  count: number;
  offered: number;
  latency: Histogram | undefined;
  rungs: Map<string, number>;
  shed: number;
  errors: number;
}

export class SeriesRecorder {
  readonly bucketS: number;
  readonly #buckets: Bucket[] = [];

  constructor(bucketS = 1) {
    this.bucketS = bucketS;
  }

  /**
   * One outcome of a request intended `offsetS` into the phase: `status` 0 for a transport error or
   * timeout (no latency), `latencyUs` from the intended time, `rung` of a 2xx response.
   */
  record(offsetS: number, status: number, latencyUs: number | undefined, rung?: string): void {
    const b = this.#bucket(offsetS);
    b.count++;
    if (latencyUs !== undefined) {
      b.latency ??= build({
        bitBucketSize: 32,
        autoResize: true,
        lowestDiscernibleValue: 1,
        highestTrackableValue: 60_000_000,
        numberOfSignificantValueDigits: 2,
      });
      b.latency.recordValue(Math.max(1, Math.round(latencyUs)));
    }
    if (status >= 200 && status < 300) {
      const r = rung ?? 'none';
      b.rungs.set(r, (b.rungs.get(r) ?? 0) + 1);
    } else if (status === 503) b.shed++;
    else b.errors++;
  }

  /** One request the arrival process intended `offsetS` into the phase (sent or not): offered load. */
  offer(offsetS: number): void {
    this.#bucket(offsetS).offered++;
  }

  #bucket(offsetS: number): Bucket {
    const i = Math.max(0, Math.floor(offsetS / this.bucketS + 1e-9));
    while (this.#buckets.length <= i)
      this.#buckets.push({ count: 0, offered: 0, latency: undefined, rungs: new Map(), shed: 0, errors: 0 });
    return this.#buckets[i];
  }

  series(): Series {
    return {
      bucketS: this.bucketS,
      buckets: this.#buckets.map((b, i) => ({
        startS: Math.round(i * this.bucketS * 1000) / 1000,
        count: b.count,
        offered: b.offered,
        p50Ms: pctMs(b.latency, 50),
        p95Ms: pctMs(b.latency, 95),
        p99Ms: pctMs(b.latency, 99),
        ...(b.latency ? { histogramBase64: encodeIntoCompressedBase64(b.latency) } : {}),
        rungCounts: Object.fromEntries([...b.rungs].sort(([x], [y]) => (x < y ? -1 : 1))),
        shed: b.shed,
        errors: b.errors,
      })),
    };
  }
}

const pctMs = (h: Histogram | undefined, p: number): number =>
  h ? Math.round(h.getValueAtPercentile(p)) / 1000 : 0;
