/**
 * The live core's garbage-collection pauses, from its Prometheus page (GET /metrics): prom-client's
 * default `nodejs_gc_duration_seconds` histogram (count and sum per `kind`: minor, major,
 * incremental, weakcb), with or without the core's `reclab_` prefix. Read before and after a phase,
 * the differences give pauses per request and their mean length: the simulator's GC model
 * (fleet `replicas.gcPauses`, sim/fleet/replica.ts).
 */
import { request } from 'undici';

/** Pauses so far by kind: how many, and their total length in seconds. */
export type GcCounters = Record<string, { count: number; sumS: number }>;

const LINE = /^(?:reclab_)?nodejs_gc_duration_seconds_(count|sum)\{kind="([a-z_]+)"\} (\S+)$/;

/**
 * Scrapes `baseUrl`/metrics.
 * @throws Error when the page is unreachable or not 200
 */
export async function readGcCounters(baseUrl: string): Promise<GcCounters> {
  const res = await request(`${baseUrl}/metrics`, { headersTimeout: 5000, bodyTimeout: 5000 });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`GET ${baseUrl}/metrics: ${res.statusCode}`);
  return parseGcCounters(text);
}

/** The GC lines of a Prometheus text page (other lines are ignored). */
export function parseGcCounters(text: string): GcCounters {
  const out: GcCounters = {};
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    out[m[2]] ??= { count: 0, sumS: 0 };
    const kind = out[m[2]];
    if (m[1] === 'count') kind.count = Number(m[3]);
    else kind.sumS = Number(m[3]);
  }
  return out;
}

/** Pauses of one kind over a phase: per request, and their mean length (µs). */
export interface GcRate {
  kind: string;
  perRequest: number;
  meanPauseUs: number;
}

/** `after` − `before`, per request; kinds with no pause in between are left out. */
export function gcRates(before: GcCounters, after: GcCounters, requests: number): GcRate[] {
  const out: GcRate[] = [];
  for (const [kind, a] of Object.entries(after)) {
    const b = before[kind] ?? { count: 0, sumS: 0 };
    const n = a.count - b.count;
    if (n <= 0 || requests <= 0) continue;
    out.push({ kind, perRequest: n / requests, meanPauseUs: ((a.sumS - b.sumS) * 1e6) / n });
  }
  return out;
}
