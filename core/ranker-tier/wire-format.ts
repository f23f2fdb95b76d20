/**
 * The ranker tier's wire format (POST /v1/rank; docs/ranker-tier.md). Binary both ways, so 300
 * candidates cost one 300 × RANKER_INPUT_DIM × 4-byte body and no JSON number formatting.
 *
 * Request: `content-type: application/octet-stream`, headers `x-reclab-model-version: <version>`
 * and `x-reclab-rows: <n>`; body n rows of `rowWidth` float32, little-endian, row-major (exactly
 * n × rowWidth × 4 bytes).
 *
 * Response 200, `content-type: application/octet-stream`:
 *
 * | offset | size | field |
 * |---|---|---|
 * | 0 | 4 | magic `RKP1` (0x52 0x4B 0x50 0x31): format and its version |
 * | 4 | 4 | rows n, uint32 LE |
 * | 8 | 4 | heads bitmask, uint32 LE: bit 0 p_click, 1 watch_time_s, 2 p_like, 3 p_finish, 4 p_dislike (bits 0, 1 always set) |
 * | 12 | 4·n per head | each head present, in bit order: n float32 LE |
 *
 * Length is exactly 12 + 4·n·(heads present). Errors are JSON `{"error": {"code", "message"}}`
 * with the code's HTTP status (core/errors.ts).
 */
import { ReclabError } from '../errors.ts';
import type { Predictions } from '../ports/ranker.ts';

export const HEADER_MODEL_VERSION = 'x-reclab-model-version';
export const HEADER_ROWS = 'x-reclab-rows';
export const CONTENT_TYPE = 'application/octet-stream';

const MAGIC = 0x3150_4b52; // 'RKP1' read as uint32 LE
const HEADER_BYTES = 12;
/** Heads in bit order. */
export const WIRE_HEADS = ['pClick', 'watchTimeS', 'pLike', 'pFinish', 'pDislike'] as const;
const REQUIRED_MASK = 0b11;
const KNOWN_MASK = (1 << WIRE_HEADS.length) - 1;

const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Copies float32 values into `out` at `byteOffset`, little-endian. */
function writeF32LE(values: Float32Array, out: Uint8Array, byteOffset: number): void {
  if (HOST_LE) {
    out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), byteOffset);
    return;
  }
  const view = new DataView(out.buffer, out.byteOffset + byteOffset, values.byteLength);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
}

/** Reads `count` little-endian float32 from `bytes` at `byteOffset` into a new, aligned array. */
function readF32LE(bytes: Uint8Array, byteOffset: number, count: number): Float32Array {
  const out = new Float32Array(count);
  if (HOST_LE) {
    new Uint8Array(out.buffer).set(bytes.subarray(byteOffset, byteOffset + count * 4));
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + byteOffset, count * 4);
  for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/** The request body for `features` (`Float32Array`, n × rowWidth): a view on little-endian hosts. */
export function encodeRows(features: Float32Array): Uint8Array {
  if (HOST_LE) return new Uint8Array(features.buffer, features.byteOffset, features.byteLength);
  const out = new Uint8Array(features.byteLength);
  writeF32LE(features, out, 0);
  return out;
}

/**
 * Parses a request body of `rows` rows × `rowWidth` float32 LE.
 * @throws ReclabError RECLAB_ERR_REQUEST_INVALID when the row count is not a positive integer or
 *   the body is not exactly rows × rowWidth × 4 bytes
 */
export function decodeRows(body: Uint8Array, rows: number, rowWidth: number): Float32Array {
  if (!Number.isInteger(rows) || rows < 1) {
    throw new ReclabError('RECLAB_ERR_REQUEST_INVALID', `${HEADER_ROWS} must be a positive integer`);
  }
  const want = rows * rowWidth * 4;
  if (body.byteLength !== want) {
    throw new ReclabError(
      'RECLAB_ERR_REQUEST_INVALID',
      `${rows} rows × ${rowWidth} float32 need ${want} bytes, body has ${body.byteLength}`,
    );
  }
  return readF32LE(body, 0, rows * rowWidth);
}

/** Encodes the first `rows` values of every head present (response body). */
export function encodePredictions(p: Predictions, rows: number): Uint8Array {
  let mask = 0;
  WIRE_HEADS.forEach((head, bit) => {
    if (p[head] !== undefined) mask |= 1 << bit;
  });
  if ((mask & REQUIRED_MASK) !== REQUIRED_MASK) {
    throw new ReclabError('RECLAB_ERR_RANKER_INVALID_OUTPUT', 'pClick and watchTimeS are required');
  }
  const heads = WIRE_HEADS.filter((h) => p[h] !== undefined);
  const out = new Uint8Array(HEADER_BYTES + heads.length * rows * 4);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, rows, true);
  view.setUint32(8, mask, true);
  let at = HEADER_BYTES;
  for (const head of heads) {
    const values = p[head]!;
    if (values.length < rows) {
      throw new ReclabError(
        'RECLAB_ERR_RANKER_INVALID_OUTPUT',
        `${head} has ${values.length} < ${rows} values`,
      );
    }
    writeF32LE(values.subarray(0, rows), out, at);
    at += rows * 4;
  }
  return out;
}

/**
 * Decodes a response body; `expectedRows` is the row count the request sent.
 * @throws ReclabError RECLAB_ERR_RANKER_INVALID_OUTPUT on a wrong magic, unknown or missing heads,
 *   another row count, or a length that does not match
 */
export function decodePredictions(body: Uint8Array, expectedRows: number): Predictions {
  const bad = (why: string) =>
    new ReclabError('RECLAB_ERR_RANKER_INVALID_OUTPUT', `ranker tier reply: ${why}`);
  if (body.byteLength < HEADER_BYTES) throw bad(`${body.byteLength} bytes`);
  const view = new DataView(body.buffer, body.byteOffset, HEADER_BYTES);
  if (view.getUint32(0, true) !== MAGIC) throw bad('not RKP1');
  const rows = view.getUint32(4, true);
  const mask = view.getUint32(8, true);
  if (rows !== expectedRows) throw bad(`${rows} rows for ${expectedRows} sent`);
  if ((mask & ~KNOWN_MASK) !== 0 || (mask & REQUIRED_MASK) !== REQUIRED_MASK) {
    throw bad(`heads mask 0x${mask.toString(16)}`);
  }
  const heads = WIRE_HEADS.filter((_, bit) => (mask & (1 << bit)) !== 0);
  const want = HEADER_BYTES + heads.length * rows * 4;
  if (body.byteLength !== want) throw bad(`${body.byteLength} bytes, expected ${want}`);
  // One aligned copy of all heads; each head is a view into it.
  const all = readF32LE(body, HEADER_BYTES, heads.length * rows);
  const out = {} as Predictions;
  heads.forEach((head, i) => {
    out[head] = all.subarray(i * rows, (i + 1) * rows);
  });
  return out;
}
