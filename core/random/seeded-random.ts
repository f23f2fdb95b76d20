import { createHash } from 'node:crypto';
import prand from 'pure-rand';
import type { Random, RandomStream } from '../ports/random.ts';

/** 2^-53: turns a 53-bit integer into a double in [0, 1). */
const TWO_POW_MINUS_53 = 1 / 9007199254740992;

/**
 * Derives a stream's 32-bit seed from (run seed, stream name) with SHA-256, so stream seeds are
 * independent of each other and of the order in which streams are created.
 */
function streamSeed(seed: number, name: string): number {
  const digest = createHash('sha256').update(`${seed}\u0000${name}`).digest();
  return digest.readInt32LE(0);
}

/** A stream over pure-rand's xoroshiro128+ generator (mutated in place for speed). */
class XoroshiroStream implements RandomStream {
  readonly #rng: prand.RandomGenerator;
  /**
   * The second value of the last normal pair, valid while `#hasSpare`. Kept as an always-number
   * field plus a flag, not `number | undefined`: a field that alternates with undefined holds a
   * boxed double, one allocation per draw (the simulator draws millions).
   */
  #spareNormal = 0;
  #hasSpare = false;

  constructor(seed32: number) {
    this.#rng = prand.xoroshiro128plus(seed32);
  }

  next(): number {
    // 27 + 26 bits from two 32-bit outputs, the construction used by most JS PRNG libraries.
    const a = this.#rng.unsafeNext() >>> 5;
    const b = this.#rng.unsafeNext() >>> 6;
    return (a * 67108864 + b) * TWO_POW_MINUS_53;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  normal(): number {
    // Marsaglia's polar method; keeps the second value of each pair.
    if (this.#hasSpare) {
      this.#hasSpare = false;
      return this.#spareNormal;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = this.next() * 2 - 1;
      v = this.next() * 2 - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * Math.log(s)) / s);
    this.#spareNormal = v * m;
    this.#hasSpare = true;
    return u * m;
  }
}

/** Creates the named-stream source for a run. `seed` is any integer (it is hashed). */
export function seededRandom(seed: number): Random {
  return {
    seed,
    stream: (name: string) => new XoroshiroStream(streamSeed(seed, name)),
  };
}
