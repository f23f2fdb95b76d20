import { rungOf } from './drivers/autocannon/open-model.ts';

/** The parts of a 200 recommendation response the lab reads (core/app.ts documents the shape). */
export interface ServedResponse {
  items?: { video_id?: unknown }[];
  meta?: {
    rung?: unknown;
    reasons?: { stage?: unknown; code?: unknown }[];
    /** Wall time of each pipeline stage and `total`, ms (core/pipeline/recommend.ts). */
    timings_ms?: Record<string, unknown>;
  };
}

/**
 * Parses one response body once for everything the runner does with it (quality scoring,
 * degradation reasons, the simulated users' reactions). Undefined when it is not JSON.
 */
export function parseServed(body: Buffer | string): ServedResponse | undefined {
  try {
    const parsed = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
    return parsed !== null && typeof parsed === 'object' ? (parsed as ServedResponse) : undefined;
  } catch {
    return undefined;
  }
}

/** What `scanServed` read from one response body. */
export interface ScannedList {
  /** Whether the body has an `items` key at all (false: not a recommendation response). */
  hasItems: boolean;
  /** Video indices written to `out[0 … videos − 1]`, in served order (unknown ids left out). */
  videos: number;
  /** `video_id`s that are not `v_<index>` with index < the catalogue size, or not strings. */
  unknownIds: number;
  /** `meta.rung`, or undefined. */
  rung: string | undefined;
  /** Whether `meta.reasons` is present and not `[]` (then parse the body to read them). */
  hasReasons: boolean;
}

const ITEMS_KEY = '"items"';
const VIDEO_ID_KEY = '"video_id"';
const REASONS_KEY = '"reasons"';
/** `v_` + at most 10 digits, as sim/world/ids.ts's VIDEO_ID pattern. */
const VIDEO_ID_DIGITS_MAX = 10;
const QUOTE = 0x22;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

function skipSpaces(s: string, at: number): number {
  while (at < s.length) {
    const c = s.charCodeAt(at);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    at++;
  }
  return at;
}

/**
 * Reads a recommendation response's video indices, rung and whether it has degradation reasons
 * without `JSON.parse` (≈ 30 µs for a 2 KB body; this is a few µs), for the runner's hot path during
 * a measured phase. Each `"video_id": "v_<i>"` in the items (before `"meta"`) gives index i, as
 * `servedVideos` (sim/quality/served-items.ts) would: an id that is not `v_` + a canonical decimal
 * below `catalogueSize`, or not a string, counts in `unknownIds`. Written for the core's compact
 * JSON (core/app.ts): an id with a JSON escape counts as unknown, and an item without a `video_id`
 * key is not seen. At most `out.length` indices are written; the rest count as unknown. Never throws.
 */
export function scanServed(body: string, catalogueSize: number, out: Int32Array): ScannedList {
  const result: ScannedList = {
    hasItems: false,
    videos: 0,
    unknownIds: 0,
    rung: undefined,
    hasReasons: false,
  };
  const itemsAt = body.indexOf(ITEMS_KEY);
  if (itemsAt < 0) return result;
  result.hasItems = true;
  const metaAt = body.indexOf('"meta"', itemsAt);
  const end = metaAt < 0 ? body.length : metaAt;
  let at = body.indexOf(VIDEO_ID_KEY, itemsAt);
  while (at >= 0 && at < end) {
    let p = skipSpaces(body, at + VIDEO_ID_KEY.length);
    let index = -1;
    if (body.charCodeAt(p) === 0x3a /* : */) {
      p = skipSpaces(body, p + 1);
      if (
        body.charCodeAt(p) === QUOTE &&
        body.charCodeAt(p + 1) === 0x76 /* v */ &&
        body.charCodeAt(p + 2) === 0x5f /* _ */
      ) {
        let q = p + 3;
        let value = 0;
        while (q < body.length && q - (p + 3) <= VIDEO_ID_DIGITS_MAX) {
          const c = body.charCodeAt(q);
          if (c < DIGIT_0 || c > DIGIT_9) break;
          value = value * 10 + (c - DIGIT_0);
          q++;
        }
        const digits = q - (p + 3);
        const canonical = digits === 1 || (digits > 1 && body.charCodeAt(p + 3) !== DIGIT_0);
        if (body.charCodeAt(q) === QUOTE && digits > 0 && digits <= VIDEO_ID_DIGITS_MAX && canonical)
          index = value < catalogueSize ? value : -1;
      }
    }
    if (index >= 0 && result.videos < out.length) out[result.videos++] = index;
    else result.unknownIds++;
    at = body.indexOf(VIDEO_ID_KEY, p);
  }
  if (metaAt >= 0) {
    result.rung = rungOf(body);
    const reasonsAt = body.indexOf(REASONS_KEY, metaAt);
    if (reasonsAt >= 0) {
      let p = skipSpaces(body, reasonsAt + REASONS_KEY.length);
      if (body.charCodeAt(p) === 0x3a) p = skipSpaces(body, p + 1);
      result.hasReasons = !(body.charCodeAt(p) === 0x5b && body.charCodeAt(skipSpaces(body, p + 1)) === 0x5d);
    }
  }
  return result;
}

/**
 * `meta.reasons` of a response body, parsing only that array (a degraded response's reasons are a
 * few dozen bytes; the whole body is ≈ 2 KB). Falls back to parsing the whole body when the array
 * cannot be delimited or parsed; undefined when there are none to read.
 */
export function reasonsOf(body: string): { stage?: unknown; code?: unknown }[] | undefined {
  const metaAt = body.indexOf('"meta"');
  const at = metaAt < 0 ? -1 : body.indexOf(REASONS_KEY, metaAt);
  if (at >= 0) {
    let p = skipSpaces(body, at + REASONS_KEY.length);
    if (body.charCodeAt(p) === 0x3a) p = skipSpaces(body, p + 1);
    if (body.charCodeAt(p) === 0x5b) {
      // The closing bracket, skipping strings (with their escapes). Entries are flat objects; a
      // nested array would cut the slice short, fail to parse and fall back below.
      let inString = false;
      for (let q = p + 1; q < body.length; q++) {
        const c = body.charCodeAt(q);
        if (inString) {
          if (c === 0x5c) q++;
          else if (c === QUOTE) inString = false;
        } else if (c === QUOTE) inString = true;
        else if (c === 0x5d /* ] */) {
          try {
            const parsed = JSON.parse(body.slice(p, q + 1));
            if (Array.isArray(parsed)) return parsed;
          } catch {
            // fall through to the whole body
          }
          break;
        }
      }
    }
  }
  return parseServed(body)?.meta?.reasons;
}
