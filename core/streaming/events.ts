import { z } from 'zod';
import { parseVideoIndex } from '../features/ids.ts';
import { REGIONS } from '../features/schema.ts';

/**
 * User events of the streaming-features path (ARCHITECTURE.md "Streaming features", seed 000 §2.3
 * real-time and near-real-time tiers): what POST /v1/events accepts, what goes on the Kafka topic
 * `events` (JSON, keyed by `user_id`), and what core/streaming/event-consumer.ts applies to Redis.
 *
 * Shape (JSON):
 * ```
 * { event_id: string (1..128 chars, globally unique, e.g. a UUID; the dedupe key),
 *   type: 'watch' | 'click' | 'like' | 'impression',
 *   user_id: string (1..128 chars, public id, e.g. "u_42"),
 *   video_id: "v_<index>",
 *   region?: one of REGIONS ("na", "eu", …),
 *   watch_time_s?: number ≥ 0 (seconds watched; meaningful for "watch"),
 *   timestamp_ms: integer ms since the Unix epoch (event time, client or edge clock) }
 * ```
 * Unknown fields are dropped (forward compatibility), never an error.
 */

/** Error code of an event that fails validation; HTTP 400 (core/errors.ts). */
export const EVENT_INVALID_CODE = 'RECLAB_ERR_EVENT_INVALID';

/** Event types; `watch` is the one that counts as a view. */
export const EVENT_TYPES = ['watch', 'click', 'like', 'impression'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Longest accepted watch time (s): one day; anything longer is a client bug. */
const MAX_WATCH_TIME_S = 86_400;

/** zod schema of one event (see the module docstring for the shape). */
export const streamEventSchema = z.object({
  event_id: z.string().min(1).max(128),
  type: z.enum(EVENT_TYPES),
  user_id: z.string().min(1).max(128),
  video_id: z
    .string()
    .max(32)
    .refine((id) => parseVideoIndex(id) >= 0, { message: 'must be "v_<index>"' }),
  region: z.enum(REGIONS).optional(),
  watch_time_s: z.number().finite().min(0).max(MAX_WATCH_TIME_S).optional(),
  timestamp_ms: z.number().int().positive(),
});

/** One validated event. */
export type StreamEvent = z.infer<typeof streamEventSchema>;

/** Result of parsing: the event, or the error code and a human-readable detail naming the field. */
export type ParseEventResult =
  | { ok: true; event: StreamEvent }
  | { ok: false; code: typeof EVENT_INVALID_CODE; detail: string };

/** Validates one event. Never throws; a bad event yields `{ ok: false, code: 'RECLAB_ERR_EVENT_INVALID' }`. */
export function parseEvent(input: unknown): ParseEventResult {
  const r = streamEventSchema.safeParse(input);
  if (r.success) return { ok: true, event: r.data };
  return { ok: false, code: EVENT_INVALID_CODE, detail: describeIssues(r.error) };
}

/** Result of parsing a batch: every event, or the first bad one's index and detail. */
export type ParseEventBatchResult =
  | { ok: true; events: StreamEvent[] }
  | { ok: false; code: typeof EVENT_INVALID_CODE; index: number; detail: string };

/** Default most events in one POST /v1/events body. */
export const DEFAULT_MAX_EVENTS_PER_BATCH = 500;

/**
 * Validates a batch (e.g. the body of POST /v1/events): `input` must be an array of 1..`maxEvents`
 * events; all or nothing. `index` is -1 when the array itself is wrong (not an array, empty, too long).
 */
export function parseEventBatch(
  input: unknown,
  maxEvents = DEFAULT_MAX_EVENTS_PER_BATCH,
): ParseEventBatchResult {
  if (!Array.isArray(input)) {
    return { ok: false, code: EVENT_INVALID_CODE, index: -1, detail: 'events must be an array' };
  }
  if (input.length === 0 || input.length > maxEvents) {
    return {
      ok: false,
      code: EVENT_INVALID_CODE,
      index: -1,
      detail: `events must hold 1..${maxEvents} items, got ${input.length}`,
    };
  }
  const events: StreamEvent[] = [];
  for (let i = 0; i < input.length; i++) {
    const r = parseEvent(input[i]);
    if (!r.ok) return { ok: false, code: r.code, index: i, detail: `events[${i}]: ${r.detail}` };
    events.push(r.event);
  }
  return { ok: true, events };
}

/** Decodes and validates one Kafka message value (UTF-8 JSON); never throws. */
export function decodeEvent(value: Buffer | null | undefined): ParseEventResult {
  if (value === null || value === undefined)
    return { ok: false, code: EVENT_INVALID_CODE, detail: 'empty message' };
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch {
    return { ok: false, code: EVENT_INVALID_CODE, detail: 'not JSON' };
  }
  return parseEvent(json);
}

/** Index of `region` in REGIONS, or undefined when absent. */
export function regionIndexOf(region: StreamEvent['region']): number | undefined {
  return region === undefined ? undefined : REGIONS.indexOf(region);
}

function describeIssues(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(event)'}: ${i.message}`)
    .join('; ');
}
