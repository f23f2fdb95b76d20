/**
 * A running 64-bit FNV-1a hash over the simulation's outcomes (two 32-bit halves, Math.imul), cheap
 * enough to feed once per request at 50K QPS. Same seed and inputs → same hash; any change in what
 * happened (a rung, a status, a latency of one µs) changes it. Printed as 16 hex digits.
 */
export class TraceHash {
  #hi = 0xcbf29ce4;
  #lo = 0x84222325;

  /** Mixes one integer (up to 2^53) into the hash. */
  add(value: number): void {
    const lo32 = value >>> 0;
    const hi32 = Math.floor(value / 4294967296) >>> 0;
    this.#mix32(lo32);
    this.#mix32(hi32);
  }

  #mix32(word: number): void {
    for (let shift = 0; shift < 32; shift += 8) {
      this.#lo ^= (word >>> shift) & 0xff;
      // 64-bit multiply by the FNV prime 0x100000001b3: lo*0x1b3, hi*0x1b3 + lo<<8 (i.e. lo*2^40/2^32).
      const lo = this.#lo;
      const hi = this.#hi;
      const loMul = lo * 0x1b3;
      const carry = Math.floor(loMul / 4294967296);
      this.#lo = loMul >>> 0;
      this.#hi = (Math.imul(hi, 0x1b3) + Math.imul(lo, 0x100) + carry) >>> 0;
    }
  }

  hex(): string {
    return this.#hi.toString(16).padStart(8, '0') + this.#lo.toString(16).padStart(8, '0');
  }
}
