/**
 * Time-window arithmetic shared by the writer (core/streaming/event-consumer.ts) and the reader
 * (core/adapters/redis/realtime-features.ts). Pure functions of epoch milliseconds; no I/O.
 *
 * View counts: per-video, per-minute buckets (one Redis hash per video and epoch hour, field = epoch
 * minute). A sliding window of W minutes is estimated the way Cloudflare's rate limiter does it
 * (blog.cloudflare.com/counting-things-a-lot-of-different-things): the W most recent whole buckets,
 * the current one included, plus the bucket just before them weighted by the part of it still
 * inside the window. Error ≤ one bucket's worth at the window's trailing edge.
 *
 * Trending: per-minute sorted sets merged with weights 2^(-age/halfLife), normalised to sum 1, so a
 * score reads as exponentially weighted views per minute over the last `windowMinutes` minutes.
 */

/** One minute in ms. */
export const MINUTE_MS = 60_000;
/** One hour in ms. */
export const HOUR_MS = 3_600_000;

/** Epoch minute (floor(ms / 60 000)). */
export const epochMinute = (ms: number): number => Math.floor(ms / MINUTE_MS);
/** Epoch hour (floor(ms / 3 600 000)). */
export const epochHour = (ms: number): number => Math.floor(ms / HOUR_MS);
/** Epoch hour a given epoch minute falls in. */
export const hourOfMinute = (minute: number): number => Math.floor(minute / 60);

/** Per-video view counts: `m1` over the last minute, `h1` over the last hour (estimates, rounded). */
export interface ViewCounts {
  m1: number;
  h1: number;
}

/**
 * Sliding-window counts at `nowMs` from per-minute buckets (epoch minute → views).
 * Buckets newer than now (clock skew) count as the current minute.
 */
export function slidingCounts(buckets: ReadonlyMap<number, number>, nowMs: number): ViewCounts {
  const cur = epochMinute(nowMs);
  const remaining = 1 - (nowMs - cur * MINUTE_MS) / MINUTE_MS; // share of the oldest bucket still inside
  let m1 = 0;
  let h1 = 0;
  for (const [minute, count] of buckets) {
    const age = Math.max(0, cur - minute);
    if (age === 0) m1 += count;
    else if (age === 1) m1 += count * remaining;
    if (age < 60) h1 += count;
    else if (age === 60) h1 += count * remaining;
  }
  return { m1: Math.round(m1), h1: Math.round(h1) };
}

/**
 * Weights of the trending merge, one per minute age 0..windowMinutes-1 (age 0 = current minute):
 * 2^(-age/halfLifeMinutes), normalised to sum to 1.
 */
export function trendingWeights(windowMinutes: number, halfLifeMinutes: number): number[] {
  const raw = Array.from({ length: windowMinutes }, (_, age) => 2 ** (-age / halfLifeMinutes));
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((w) => w / sum);
}
