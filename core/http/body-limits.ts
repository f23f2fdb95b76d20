import { z } from 'zod';
import { DEFAULT_MAX_EVENTS_PER_BATCH, streamEventSchema } from '../streaming/events.ts';

/**
 * Body limits of the core's routes, each derived from the route's own schema: the byte length of
 * the largest body the schema admits, written as compact JSON (no whitespace, no unknown fields),
 * so a valid request never meets 413 RECLAB_ERR_BODY_TOO_LARGE and an invalid one is not read
 * beyond what a valid one could be. A client that pads its JSON can exceed a limit with valid
 * content: send compact JSON.
 */

/** The subset of JSON Schema the core's body schemas use (Fastify's and zod's `toJSONSchema`). */
export interface BoundedSchema {
  type?: string;
  enum?: readonly unknown[];
  maxLength?: number;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  properties?: Readonly<Record<string, BoundedSchema>>;
  additionalProperties?: boolean | BoundedSchema;
  items?: BoundedSchema;
}

/**
 * Longest JSON text of one UTF-16 code unit: `\uXXXX` (6 bytes) — control characters and lone
 * surrogates are written so by JSON.stringify, and any client may escape any character so; a
 * character's UTF-8 bytes are at most 3 per code unit.
 */
const MAX_BYTES_PER_CHAR = 6;
/** Longest JSON text of a finite double: sign, 17 digits, point, `e`, sign, 3 digits. */
const MAX_NUMBER_BYTES = '-1.2345678901234567e-308'.length;

/**
 * The byte length of the largest compact JSON text that `schema` admits: every property present,
 * strings at `maxLength` with every character escaped, arrays at `maxItems`, numbers at their
 * longest (an integer between finite bounds: its longest bound's digits).
 * @throws Error naming the path when a part is unbounded (a string without maxLength or enum, an
 *   array without maxItems, an object that admits other properties)
 */
export function maxJsonBytes(schema: BoundedSchema, path = '$'): number {
  if (schema.enum) {
    return Math.max(...schema.enum.map((v) => Buffer.byteLength(JSON.stringify(v))));
  }
  switch (schema.type) {
    case 'string':
      if (schema.maxLength === undefined) throw new Error(`${path}: string without maxLength`);
      return 2 + MAX_BYTES_PER_CHAR * schema.maxLength;
    case 'integer': {
      const lo = schema.minimum ?? schema.exclusiveMinimum;
      const hi = schema.maximum ?? schema.exclusiveMaximum;
      if (lo === undefined || hi === undefined || !Number.isSafeInteger(lo) || !Number.isSafeInteger(hi)) {
        return MAX_NUMBER_BYTES;
      }
      return Math.max(String(lo).length, String(hi).length);
    }
    case 'number':
      return MAX_NUMBER_BYTES;
    case 'boolean':
      return 'false'.length;
    case 'null':
      return 'null'.length;
    case 'array': {
      if (schema.maxItems === undefined || !schema.items) throw new Error(`${path}: array without maxItems`);
      const n = schema.maxItems;
      return 2 + n * maxJsonBytes(schema.items, `${path}[]`) + Math.max(0, n - 1);
    }
    case 'object': {
      if (schema.additionalProperties !== false) {
        throw new Error(`${path}: object admits other properties (additionalProperties: false)`);
      }
      const entries = Object.entries(schema.properties ?? {});
      const members = entries.map(
        ([key, value]) => Buffer.byteLength(JSON.stringify(key)) + 1 + maxJsonBytes(value, `${path}.${key}`),
      );
      return 2 + members.reduce((a, b) => a + b, 0) + Math.max(0, entries.length - 1);
    }
    default:
      throw new Error(`${path}: no type or enum`);
  }
}

/** JSON Schema of a POST /v1/events body as the route validates it (core/streaming/events.ts). */
export const eventBatchJsonSchema = z.toJSONSchema(
  z.array(streamEventSchema).min(1).max(DEFAULT_MAX_EVENTS_PER_BATCH),
  { io: 'output' },
) as BoundedSchema;

/**
 * Limit of the routes that take no body (GET, DELETE, POST /admin/models/rollback): room for `{}`
 * and a client's stray small payload, nothing more.
 */
export const NO_BODY_LIMIT_BYTES = 1024;
