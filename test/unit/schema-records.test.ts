/**
 * Record bytes as stored in Redis (core/features/schema.ts): `decodeRecord` must give back exactly
 * the floats `encodeRecord` wrote, from Buffers at any byte offset (ioredis replies are slices of a
 * larger buffer), and refuse values of the wrong length.
 */
import { describe, expect, it } from 'vitest';
import { decodeRecord, encodeRecord, USER_RECORD_LEN, VIDEO_RECORD_LEN } from '../../core/features/schema.ts';

/** Floats whose bytes cover signs, zeros, subnormals, infinities and large magnitudes. */
const SPECIAL = [
  0,
  -0,
  1,
  -1.5,
  1.7e9,
  3.4028234663852886e38,
  1.401298464324817e-45,
  -1e-40,
  Infinity,
  -Infinity,
];

function record(len: number, salt: number): Float32Array {
  const r = new Float32Array(len);
  for (let i = 0; i < len; i++) r[i] = SPECIAL[(i + salt) % SPECIAL.length]! * (salt % 2 === 0 ? 1 : 0.37);
  return r;
}

describe('decodeRecord', () => {
  it.each([VIDEO_RECORD_LEN, USER_RECORD_LEN])(
    'round-trips encodeRecord at every byte offset (len %i)',
    (len) => {
      for (let offset = 0; offset < 8; offset++) {
        const rec = record(len, offset);
        const pool = Buffer.alloc(offset + len * 4 + 5, 0xab);
        encodeRecord(rec).copy(pool, offset);
        const out = decodeRecord(pool.subarray(offset, offset + len * 4), len)!;
        expect(out).toBeInstanceOf(Float32Array);
        expect(out.length).toBe(len);
        for (let i = 0; i < len; i++) expect(Object.is(out[i], rec[i])).toBe(true);
      }
    },
  );

  it('returns undefined for a missing value or a length that is not len × 4 bytes', () => {
    expect(decodeRecord(null, VIDEO_RECORD_LEN)).toBeUndefined();
    expect(decodeRecord(undefined, VIDEO_RECORD_LEN)).toBeUndefined();
    expect(decodeRecord(Buffer.alloc(VIDEO_RECORD_LEN * 4 - 1), VIDEO_RECORD_LEN)).toBeUndefined();
    expect(decodeRecord(Buffer.alloc(VIDEO_RECORD_LEN * 4 + 4), VIDEO_RECORD_LEN)).toBeUndefined();
  });

  it('gives each call its own record, independent of the bytes it was read from', () => {
    const bytes = encodeRecord(record(VIDEO_RECORD_LEN, 2));
    const copy = Buffer.from(bytes);
    const a = decodeRecord(copy, VIDEO_RECORD_LEN)!;
    const b = decodeRecord(copy, VIDEO_RECORD_LEN)!;
    a[0] = 42;
    copy.fill(0);
    expect(b[0]).not.toBe(42);
    expect(encodeRecord(b).equals(bytes)).toBe(true);
  });
});
