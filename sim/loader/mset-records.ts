/**
 * MSET commands encoded straight from a Float32 record array, for the bulk loader.
 *
 * Why not `redis.mset(key, value, …)`: ioredis turns every argument into a string header plus a
 * Buffer part and copies them into one buffer per command, and the keys are JS strings built per
 * key; at 2M keys that client work cost more than Redis's own (about 1.5–2.5 µs per key on this
 * lab's cores, while Redis spends about 1 µs of its CPU per key stored by MSET). Here each command
 * is one `Buffer.allocUnsafe` of the exact size, filled with the RESP bytes in a single pass: key
 * digits written as ASCII, each record copied once from the array's memory (`Buffer#copy`, no
 * intermediate views). The bytes are exactly what ioredis would send for
 * `MSET key₀ encodeRecord(r₀) key₁ …` (test/unit/mset-records.test.ts checks this).
 *
 * Sending goes through ioredis's `sendCommand` with a `Command` whose `toWritable` (public in
 * ioredis's typings) returns the pre-built buffer, so the connection, its reply parsing, offline
 * queue and reconnect resends work as for any other command.
 */
import { Command } from 'ioredis';

const CRLF_0 = 13;
const CRLF_1 = 10;
const DOLLAR = 36;
const DIGIT_0 = 48;

/** Number of decimal digits of a non-negative integer. */
function decimalDigits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

/** Writes non-negative integer `n` (`digits` decimal digits) as ASCII at `pos`; returns the end. */
function writeDecimal(buf: Buffer, pos: number, n: number, digits: number): number {
  let p = pos + digits;
  do {
    const r = n % 10;
    buf[--p] = DIGIT_0 + r;
    n = (n - r) / 10;
  } while (n > 0);
  return pos + digits;
}

/**
 * The key prefix shared by every key `key(i)`, i.e. `key(i) === prefix + String(i)` — e.g.
 * `u:u_` for `(i) => keys.user(userId(i))`. Derived from the key functions, so the key design keeps
 * one source (core/adapters/redis/keys.ts).
 * @throws Error when `key` does not have that shape (then the encoder cannot be used).
 */
export function decimalKeyPrefix(key: (i: number) => string): string {
  const prefix = key(0).slice(0, -1);
  for (const i of [0, 7, 42, 1_000_003]) {
    if (key(i) !== `${prefix}${i}`) {
      throw new Error(`key(${i}) = ${JSON.stringify(key(i))} is not ${JSON.stringify(prefix)} + index`);
    }
  }
  return prefix;
}

/**
 * RESP bytes of `MSET <prefix><start> rec[start] … <prefix><end-1> rec[end-1]`, where
 * `rec[i] = records[i·recordLen … (i+1)·recordLen)` as raw bytes (platform byte order, as
 * `encodeRecord` stores them).
 *
 * @param keyPrefix bytes before the decimal index (UTF-8; include a client's `keyPrefix` here)
 * @param records `Float32Array` of at least `end × recordLen` floats
 * @param recordLen floats per record
 * @param start first index (integer ≥ 0)
 * @param end one past the last index (`end > start`)
 */
export function encodeMsetRecords(
  keyPrefix: string,
  records: Float32Array,
  recordLen: number,
  start: number,
  end: number,
): Buffer {
  const prefix = Buffer.from(keyPrefix, 'utf8');
  const valueBytes = recordLen * 4;
  const src = Buffer.from(records.buffer, records.byteOffset, records.byteLength);
  const count = end - start;
  const head = Buffer.from(`*${2 * count + 1}\r\n$4\r\nmset\r\n`, 'latin1');
  const valueHead = Buffer.from(`$${valueBytes}\r\n`, 'latin1');

  // Size: per key `$<klen>\r\n<key>\r\n` + `$<vlen>\r\n<value>\r\n`.
  // The index's digit count changes only at powers of ten: track it instead of recounting per key.
  let size = head.length + count * (valueHead.length + valueBytes + 2);
  for (let i = start, digits = decimalDigits(start), next = 10 ** digits; i < end; i++) {
    if (i === next) {
      digits++;
      next *= 10;
    }
    const keyLen = prefix.length + digits;
    size += 1 + decimalDigits(keyLen) + 2 + keyLen + 2;
  }

  const out = Buffer.allocUnsafe(size);
  let pos = head.copy(out, 0);
  for (let i = start, indexDigits = decimalDigits(start), next = 10 ** indexDigits; i < end; i++) {
    if (i === next) {
      indexDigits++;
      next *= 10;
    }
    const keyLen = prefix.length + indexDigits;
    out[pos++] = DOLLAR;
    pos = writeDecimal(out, pos, keyLen, decimalDigits(keyLen));
    out[pos++] = CRLF_0;
    out[pos++] = CRLF_1;
    pos += prefix.copy(out, pos);
    pos = writeDecimal(out, pos, i, indexDigits);
    out[pos++] = CRLF_0;
    out[pos++] = CRLF_1;
    pos += valueHead.copy(out, pos);
    pos += src.copy(out, pos, i * valueBytes, (i + 1) * valueBytes);
    out[pos++] = CRLF_0;
    out[pos++] = CRLF_1;
  }
  if (pos !== size) throw new Error(`MSET encoder wrote ${pos} of ${size} bytes`); // a bug here, never input
  return out;
}

/** An ioredis command sent as given RESP bytes (built by `encodeMsetRecords`). */
export class EncodedCommand extends Command {
  readonly #encoded: Buffer;

  /** @param name the command's name (ioredis checks flags by it, e.g. subscriber mode) */
  constructor(name: string, encoded: Buffer) {
    super(name, []);
    this.#encoded = encoded;
  }

  override toWritable(_socket: object): Buffer {
    return this.#encoded;
  }
}
