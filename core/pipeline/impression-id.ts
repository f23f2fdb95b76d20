import type { RandomStream } from '../ports/random.ts';

const hex8 = (n: number) => n.toString(16).padStart(8, '0');

/**
 * The next impression id of a stream: `imp_` and a UUID in version-4 layout (RFC 9562 §5.4: 122
 * random bits, version and variant bits set), from four 32-bit draws of `stream`. Drawn from the
 * injected `Random` (a named stream, core/ports/random.ts) instead of `crypto.randomUUID()`, so a
 * run with the same seed and stream serves the same ids (issue 13); the stream's name carries the
 * process's instance id (core/compose.ts), so two processes with one seed never share ids.
 */
export function nextImpressionId(stream: RandomStream): string {
  const a = stream.int(0x1_0000_0000);
  const b = stream.int(0x1_0000_0000);
  const c = stream.int(0x1_0000_0000);
  const d = stream.int(0x1_0000_0000);
  const h =
    hex8(a) +
    hex8(((b & 0xffff0fff) | 0x00004000) >>> 0) +
    hex8(((c & 0x3fffffff) | 0x80000000) >>> 0) +
    hex8(d);
  return `imp_${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
