/**
 * Schedule segments (issue 14): one scenario's request schedule split deterministically into N
 * parts that together are exactly the whole schedule, so N load generators (processes, pods) can
 * share it. Slot k of a phase's schedule (scenarios/arrivals.ts) belongs to segment k mod N:
 * interleaved, the way k6's execution-segment sequence stripes iterations over equal segments
 * (k6 docs, "Execution segments"), so each segment's arrivals are spread evenly over the phase
 * (a constant rate r gives each segment the rate r / N with the same spacing × N), never N bursts.
 *
 * Every segment walks the whole schedule and keeps its own slots; a Poisson schedule reads the same
 * seeded stream in every segment (`arrivals.<phase>`), so the segments' slots are disjoint and
 * their union is the schedule one process would send. Sans-I/O, like arrivals.ts.
 */
import type { ArrivalSchedule } from './arrivals.ts';

/** Segment `index` (0-based) of `count` equal, interleaved segments. */
export interface SegmentSpec {
  index: number;
  count: number;
}

/** The whole schedule as a segment (`0/1`). */
export const WHOLE: SegmentSpec = { index: 0, count: 1 };

/** Thrown for a malformed `i/N` (CLI exit 2). */
export class SegmentError extends Error {
  readonly code = 'RECLAB_ERR_SEGMENT_INVALID';
}

/**
 * Parses `i/N` (0 ≤ i < N, N ≥ 1, integers), e.g. `2/4`.
 * @throws SegmentError RECLAB_ERR_SEGMENT_INVALID otherwise
 */
export function parseSegment(text: string): SegmentSpec {
  const m = /^(\d{1,6})\/(\d{1,6})$/.exec(text.trim());
  const index = m ? Number(m[1]) : Number.NaN;
  const count = m ? Number(m[2]) : Number.NaN;
  if (!m || count < 1 || index >= count)
    throw new SegmentError(`segment '${text}' must be i/N with integers 0 ≤ i < N, e.g. 0/4`);
  return { index, count };
}

export const formatSegment = (s: SegmentSpec): string => `${s.index}/${s.count}`;

/** True when slot `k` (0-based, of the whole schedule) is the segment's. */
export const ownsSlot = (s: SegmentSpec, k: number): boolean => k % s.count === s.index;

/**
 * The segment's part of `schedule`: the offsets of slots k with k mod N = i, in order. Reads the
 * whole schedule (so a Poisson schedule draws what the whole one draws).
 */
export function segmentSchedule(schedule: ArrivalSchedule, s: SegmentSpec): ArrivalSchedule {
  if (s.count === 1) return schedule;
  let k = 0;
  return {
    next() {
      for (;;) {
        const t = schedule.next();
        if (t === undefined) return undefined;
        if (ownsSlot(s, k++)) return t;
      }
    },
  };
}

/** Slots of a schedule of `total` slots that segment `s` owns: ⌈(total − i) / N⌉. */
export function segmentSlots(total: number, s: SegmentSpec): number {
  return Math.max(0, Math.ceil((total - s.index) / s.count));
}
