/**
 * The loader's pre-encoded MSET (sim/loader/mset-records.ts) must put on the wire exactly the bytes
 * ioredis sends for `MSET key₀ encodeRecord(r₀) …`; ioredis's own encoder is the reference.
 */
import { Command } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { keys } from '../../core/adapters/redis/keys.ts';
import { encodeRecord } from '../../core/features/schema.ts';
import { decimalKeyPrefix, EncodedCommand, encodeMsetRecords } from '../../sim/loader/mset-records.ts';
import { userId, videoId } from '../../sim/world/ids.ts';

/** ioredis's encoding of MSET over records [start, end). */
function reference(prefix: string, records: Float32Array, len: number, start: number, end: number): Buffer {
  const args: (string | Buffer)[] = [];
  for (let i = start; i < end; i++)
    args.push(`${prefix}${i}`, encodeRecord(records.subarray(i * len, (i + 1) * len)));
  const bytes = new Command('mset', args).toWritable({});
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
}

/** Records whose bytes include CR, LF, NUL and 0xff, so any framing mistake shows. */
function records(n: number, len: number): Float32Array {
  const out = new Float32Array(n * len);
  const bytes = new Uint8Array(out.buffer);
  for (let i = 0; i < bytes.length; i++) bytes[i] = [13, 10, 0, 255, 36, 42][i % 6] ^ (i * 31);
  return out;
}

describe('encodeMsetRecords', () => {
  it.each([
    [0, 1],
    [0, 12],
    [95, 105], // 2 → 3 digits
    [998, 1003], // 3 → 4 digits
    [99_990, 100_010],
  ])('equals ioredis encoding for indices [%i, %i)', (start, end) => {
    const len = 6;
    const recs = records(end, len);
    expect(
      encodeMsetRecords('v:v_', recs, len, start, end).equals(reference('v:v_', recs, len, start, end)),
    ).toBe(true);
  });

  it('reads a Float32Array view at a byte offset and a UTF-8 prefix correctly', () => {
    const len = 20;
    const backing = records(40, len);
    const view = backing.subarray(3 * len, 33 * len); // byteOffset 240
    const prefix = 'lab·ü:u:u_';
    expect(encodeMsetRecords(prefix, view, len, 7, 30).equals(reference(prefix, view, len, 7, 30))).toBe(
      true,
    );
  });

  it('wraps bytes in a command whose toWritable returns them unchanged', () => {
    const bytes = encodeMsetRecords('u:u_', records(3, 20), 20, 0, 3);
    const cmd = new EncodedCommand('mset', bytes);
    expect(cmd.name).toBe('mset');
    expect(cmd.toWritable({})).toBe(bytes);
  });
});

describe('decimalKeyPrefix', () => {
  it('derives the prefixes of the core key design', () => {
    expect(decimalKeyPrefix((i) => keys.user(userId(i)))).toBe('u:u_');
    expect(decimalKeyPrefix((i) => keys.video(videoId(i)))).toBe('v:v_');
  });

  it('throws for keys that are not prefix + decimal index', () => {
    expect(() => decimalKeyPrefix((i) => `u:${i}:rec`)).toThrow(/not/);
    expect(() => decimalKeyPrefix((i) => `u:${String(i).padStart(8, '0')}`)).toThrow(/not/);
  });
});
