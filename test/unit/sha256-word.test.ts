import { hash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256FirstWord } from '../../core/pipeline/sha256-word.ts';
import { seededRandom } from '../../core/random/seeded-random.ts';

/** What the A/B assignment read before: the digest's first four bytes from node:crypto. */
const reference = (text: string) => hash('sha256', text, 'buffer').readUInt32BE(0);

describe('sha256FirstWord', () => {
  it('equals node:crypto on every padding case (lengths 0–200: one, two and more blocks)', () => {
    for (let n = 0; n <= 200; n++) {
      const text = 'u_0123456789:'.repeat(20).slice(0, n);
      expect(sha256FirstWord(text), `length ${n}`).toBe(reference(text));
    }
  });

  it('equals node:crypto on random ASCII strings and the A/B keys', () => {
    const rnd = seededRandom(7).stream('test.sha256');
    for (let i = 0; i < 2000; i++) {
      let text = '';
      const len = rnd.int(150);
      for (let j = 0; j < len; j++) text += String.fromCharCode(rnd.int(128));
      expect(sha256FirstWord(text)).toBe(reference(text));
      const key = `exp_ranking_v1:u_${rnd.int(1_000_000)}`;
      expect(sha256FirstWord(key)).toBe(reference(key));
    }
  });

  it('goes to node:crypto for non-ASCII text (UTF-8 bytes), with the same value', () => {
    for (const text of ['é', 'exp:ü_1', '日本語', 'u_😀', `${'a'.repeat(60)}ß`]) {
      expect(sha256FirstWord(text)).toBe(reference(text));
    }
  });

  it('is the FIPS 180-4 example for "abc"', () => {
    expect(sha256FirstWord('abc')).toBe(0xba7816bf);
  });
});
