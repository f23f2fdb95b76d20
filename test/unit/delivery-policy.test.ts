/**
 * DeliveryPolicy (core/delivery/delivery-policy.ts) on a manual clock: admission, when to spill,
 * replay order, backoff, batch bounds and the close deadline — the decisions the Kafka impression
 * and event logs perform, without any I/O.
 */
import { describe, expect, it } from 'vitest';
import {
  DeliveryPolicy,
  type DeliveryPolicyOptions,
  type DeliveryState,
} from '../../core/delivery/delivery-policy.ts';
import { manualClock } from '../helpers/manual-clock.ts';

const opts = (o: Partial<DeliveryPolicyOptions> = {}): DeliveryPolicyOptions => ({
  bufferMax: 100,
  batchMax: 10,
  batchMaxBytes: 1000,
  retryDelayMs: 200,
  retryDelayMaxMs: 1000,
  hasSpool: true,
  spoolAfterFailureMs: 1000,
  spoolHighWater: 50,
  ...o,
});
const state = (buffered: number, spoolRecords = 0, spoolBytes = 0): DeliveryState => ({
  buffered,
  spoolRecords,
  spoolBytes,
});

describe('DeliveryPolicy', () => {
  it('admits up to bufferMax records, and none after close', () => {
    const { clock } = manualClock();
    const p = new DeliveryPolicy(opts(), clock);
    expect(p.admit(0, 100)).toBe(true);
    expect(p.admit(99, 1)).toBe(true);
    expect(p.admit(99, 2)).toBe(false);
    p.close(1000);
    expect(p.admit(0, 1)).toBe(false);
  });

  it('sends memory while healthy, waits for records when idle', () => {
    const { clock } = manualClock();
    const p = new DeliveryPolicy(opts(), clock);
    expect(p.next(state(0))).toEqual({ kind: 'wait', delayMs: undefined });
    expect(p.next(state(3))).toMatchObject({ kind: 'send', from: 'memory' });
  });

  it('backs off 200, 400, 800, 1000, 1000 ms while sends fail, and resets on success', () => {
    const m = manualClock();
    const p = new DeliveryPolicy(opts({ hasSpool: false }), m.clock);
    const pauses = [1, 2, 3, 4, 5].map(() => {
      p.failed();
      const a = p.next(state(1));
      m.advance(a.kind === 'wait' ? (a.delayMs ?? 0) : 0);
      return a;
    });
    expect(pauses.map((a) => (a.kind === 'wait' ? a.delayMs : a.kind))).toEqual([200, 400, 800, 1000, 1000]);
    expect(p.next(state(1)).kind).toBe('send'); // the pause is over
    expect(p.failing).toBe(true);
    p.sent();
    expect(p.failing).toBe(false);
    p.failed();
    expect(p.next(state(1))).toEqual({ kind: 'wait', delayMs: 200 });
  });

  it('spills during a backoff pause, but sends only after it (records offered meanwhile reach the spool at once)', () => {
    const m = manualClock();
    const p = new DeliveryPolicy(opts({ spoolAfterFailureMs: 0 }), m.clock);
    p.failed();
    expect(p.next(state(3))).toEqual({ kind: 'spill' });
    m.advance(50);
    expect(p.next(state(0, 3, 300))).toEqual({ kind: 'wait', delayMs: 150 });
    expect(p.next(state(2, 3, 300))).toEqual({ kind: 'spill' }); // offered during the pause
    m.advance(150);
    expect(p.next(state(0, 5, 500))).toMatchObject({ kind: 'send', from: 'spool' });
  });

  it('spills once sends have failed for spoolAfterFailureMs, not before', () => {
    const m = manualClock();
    const p = new DeliveryPolicy(opts(), m.clock);
    p.failed();
    m.advance(999);
    expect(p.next(state(5)).kind).toBe('send');
    m.advance(1);
    expect(p.next(state(5))).toEqual({ kind: 'spill' });
  });

  it('spills at the first failure when spoolAfterFailureMs is 0 (the event log)', () => {
    const { clock } = manualClock();
    const p = new DeliveryPolicy(opts({ spoolAfterFailureMs: 0 }), clock);
    expect(p.next(state(5)).kind).toBe('send');
    p.failed();
    expect(p.next(state(5))).toEqual({ kind: 'spill' });
  });

  it('spills above the high-water mark even while sends succeed', () => {
    const { clock } = manualClock();
    const p = new DeliveryPolicy(opts(), clock);
    expect(p.next(state(49)).kind).toBe('send');
    expect(p.next(state(50))).toEqual({ kind: 'spill' });
  });

  it('replays the spool before memory, and queues new records behind it (order kept)', () => {
    const { clock } = manualClock();
    const p = new DeliveryPolicy(opts(), clock);
    expect(p.next(state(3, 7, 700))).toEqual({ kind: 'spill' });
    expect(p.next(state(0, 10, 1000))).toMatchObject({ kind: 'send', from: 'spool' });
  });

  it('never spills without a spool: records wait in memory', () => {
    const m = manualClock();
    const p = new DeliveryPolicy(opts({ hasSpool: false }), m.clock);
    p.failed();
    m.advance(60_000);
    expect(p.next(state(99)).kind).toBe('send');
  });

  it('after a spill found the spool full, spills again only once replay freed bytes', () => {
    const { clock } = manualClock();
    const p = new DeliveryPolicy(opts({ spoolAfterFailureMs: 0 }), clock);
    p.failed();
    p.spilled(3, 10, 5000); // 7 records did not fit; the spool holds 5000 bytes
    expect(p.next(state(7, 40, 5000)).kind).not.toBe('spill');
    expect(p.next(state(7, 30, 4000))).toEqual({ kind: 'spill' });
  });

  it('after a spool error, does not spill for retryDelayMaxMs', () => {
    const m = manualClock();
    const p = new DeliveryPolicy(opts({ spoolAfterFailureMs: 0 }), m.clock);
    p.failed();
    p.spillFailed();
    expect(p.next(state(5)).kind).not.toBe('spill');
    m.advance(1000);
    expect(p.next(state(5))).toEqual({ kind: 'spill' });
  });

  it('tells a waiting caller whether records can become durable without the log coming back', () => {
    const m = manualClock();
    const p = new DeliveryPolicy(opts({ spoolAfterFailureMs: 0 }), m.clock);
    expect(p.canBecomeDurable(state(0))).toBe(true); // sends succeed
    p.failed();
    expect(p.canBecomeDurable(state(0))).toBe(true); // the spool takes them
    p.spilled(3, 10, 5000);
    expect(p.canBecomeDurable(state(7, 40, 5000))).toBe(false); // spool full
    expect(p.canBecomeDurable(state(7, 30, 4000))).toBe(true); // replay freed bytes
    p.spillFailed();
    expect(p.canBecomeDurable(state(7, 30, 4000))).toBe(false); // spool failing
    m.advance(1000);
    expect(p.canBecomeDurable(state(7, 30, 4000))).toBe(true);
    const noSpool = new DeliveryPolicy(opts({ hasSpool: false }), m.clock);
    noSpool.failed();
    expect(noSpool.canBecomeDurable(state(0))).toBe(false);
    noSpool.sent();
    expect(noSpool.canBecomeDurable(state(0))).toBe(true);
  });

  it('bounds batches by count and bytes, and sends one oversized record alone', () => {
    const { clock } = manualClock();
    const p = new DeliveryPolicy(opts(), clock);
    expect(p.batchSize(Array(25).fill(10))).toBe(10);
    expect(p.batchSize([400, 400, 400, 400])).toBe(2);
    expect(p.batchSize([5000, 1])).toBe(1);
    expect(p.batchSize([])).toBe(0);
  });

  it('on close: delivers until idle, cuts sends and pauses at the deadline, then spills what is left and stops', () => {
    const m = manualClock();
    const p = new DeliveryPolicy(opts({ retryDelayMs: 800, hasSpool: false }), m.clock);
    p.close(1000);
    expect(p.next(state(0))).toEqual({ kind: 'done' });
    expect(p.next(state(4))).toEqual({ kind: 'send', from: 'memory', deadlineMs: 1000 });
    m.advance(700);
    p.failed();
    expect(p.next(state(4))).toEqual({ kind: 'wait', delayMs: 300 }); // 800, cut at the deadline
    m.advance(300);
    expect(p.next(state(4))).toEqual({ kind: 'done' }); // no spool: what is left stays in memory
    const withSpool = new DeliveryPolicy(opts(), m.clock);
    withSpool.close(1000);
    m.advance(1000);
    expect(withSpool.next(state(4, 2, 200))).toEqual({ kind: 'spill' });
    expect(withSpool.next(state(0, 6, 600))).toEqual({ kind: 'done' });
  });

  it('on close while failing, with a spool: spills at once, then keeps replaying until the deadline', () => {
    const m = manualClock();
    const p = new DeliveryPolicy(opts(), m.clock);
    p.failed();
    p.close(10_000);
    expect(p.next(state(4, 2, 200))).toEqual({ kind: 'spill' }); // not after spoolAfterFailureMs
    expect(p.next(state(0, 6, 600))).toEqual({ kind: 'wait', delayMs: 200 });
    m.advance(200);
    expect(p.next(state(0, 6, 600))).toEqual({ kind: 'send', from: 'spool', deadlineMs: 9800 });
    m.advance(9800);
    expect(p.next(state(0, 6, 600))).toEqual({ kind: 'done' });
  });

  it('on close without a spool, stops at the deadline with the records still in memory', () => {
    const m = manualClock();
    const p = new DeliveryPolicy(opts({ hasSpool: false }), m.clock);
    p.close(500);
    m.advance(500);
    expect(p.next(state(4))).toEqual({ kind: 'done' });
  });

  it('reads time only from its Clock (virtual time: hours pass in no wall time)', () => {
    const m = manualClock();
    const p = new DeliveryPolicy(opts(), m.clock);
    p.failed();
    m.advance(3_600_000);
    expect(p.next(state(1))).toEqual({ kind: 'spill' });
  });
});
