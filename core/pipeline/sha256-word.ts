import { hash } from 'node:crypto';

/**
 * The first 32 bits of SHA-256 (FIPS 180-4) of a string's UTF-8 bytes, as an unsigned integer: the
 * same value as `hash('sha256', text, 'buffer').readUInt32BE(0)`.
 *
 * Why not `node:crypto` alone: the A/B assignment hashes one short string per request and layer
 * (core/pipeline/experiments.ts). A loop of `crypto.hash` calls takes 2–6 µs a call, but inside a
 * request, between the FAISS search and ONNX Runtime, the profiles of bench/pipeline-overhead.ts
 * gave it 27–32 µs a request: OpenSSL's digest set-up (context, provider lookup) runs cold there.
 * Here one or two 64-byte blocks are compressed in JavaScript, with no allocation. ASCII input only
 * (user and experiment ids are ASCII); anything else goes to `node:crypto`, so the value is the
 * same for every string (test/unit/sha256-word.test.ts checks both paths against `node:crypto`).
 */
export function sha256FirstWord(text: string): number {
  const len = text.length;
  for (let i = 0; i < len; i++) {
    if (text.charCodeAt(i) > 0x7f) return hash('sha256', text, 'buffer').readUInt32BE(0);
  }
  // Padding (§5.1.1): the message, a 1 bit, zeros, then the length in bits as 64-bit big-endian;
  // the whole a multiple of 64 bytes.
  const total = (((len + 8) >>> 6) + 1) * 64;
  if (total > BLOCK.length) BLOCK = new Uint8Array(total);
  const buf = BLOCK;
  for (let i = 0; i < len; i++) buf[i] = text.charCodeAt(i);
  buf[len] = 0x80;
  buf.fill(0, len + 1, total - 8);
  const bits = len * 8;
  writeUint32BE(buf, total - 8, Math.floor(bits / 2 ** 32));
  writeUint32BE(buf, total - 4, bits >>> 0);

  // Initial hash value (§5.3.3); `| 0` keeps every word an int32.
  let h0 = 0x6a09e667 | 0;
  let h1 = 0xbb67ae85 | 0;
  let h2 = 0x3c6ef372 | 0;
  let h3 = 0xa54ff53a | 0;
  let h4 = 0x510e527f | 0;
  let h5 = 0x9b05688c | 0;
  let h6 = 0x1f83d9ab | 0;
  let h7 = 0x5be0cd19 | 0;
  const w = SCHEDULE;
  for (let at = 0; at < total; at += 64) {
    // Message schedule (§6.2.2 step 1).
    for (let t = 0; t < 16; t++) {
      const p = at + 4 * t;
      w[t] = (buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3];
    }
    for (let t = 16; t < 64; t++) {
      const x = w[t - 15];
      const y = w[t - 2];
      const s0 = rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3);
      const s1 = rotr(y, 17) ^ rotr(y, 19) ^ (y >>> 10);
      w[t] = (w[t - 16] + s0 + w[t - 7] + s1) | 0;
    }
    // Compression (§6.2.2 steps 2–4).
    let a = h0;
    let b = h1;
    let c = h2;
    let d = h3;
    let e = h4;
    let f = h5;
    let g = h6;
    let h = h7;
    for (let t = 0; t < 64; t++) {
      const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t]) | 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
    h5 = (h5 + f) | 0;
    h6 = (h6 + g) | 0;
    h7 = (h7 + h) | 0;
  }
  // The digest is H0 … H7 big-endian: its first four bytes are H0.
  return h0 >>> 0;
}

function rotr(x: number, n: number): number {
  return (x >>> n) | (x << (32 - n));
}

function writeUint32BE(buf: Uint8Array, at: number, v: number): void {
  buf[at] = v >>> 24;
  buf[at + 1] = (v >>> 16) & 0xff;
  buf[at + 2] = (v >>> 8) & 0xff;
  buf[at + 3] = v & 0xff;
}

/** SHA-256's round constants (§4.2.2). */
// biome-ignore format: eight to a line, as FIPS 180-4 prints them
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/** Scratch of the synchronous function: the message schedule and the padded message. */
const SCHEDULE = new Int32Array(64);
let BLOCK = new Uint8Array(128);
