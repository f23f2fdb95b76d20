import { describe, expect, it } from 'vitest';
import { errorCode } from '../../core/errors.ts';
import { CircuitBreaker } from '../../core/resilience/circuit-breaker.ts';
import { guardedCallback } from '../../core/resilience/guard.ts';
import { LoopLagProbe } from '../../core/resilience/loop-lag.ts';
import { EventScheduler } from '../../sim/engine/scheduler.ts';
import { VirtualClock } from '../../sim/engine/virtual-clock.ts';
import { FifoServer } from '../../sim/fleet/fifo-server.ts';
import { LoopClock } from '../../sim/fleet/loop-clock.ts';
import { TEST_BREAKER } from '../helpers/core-fixtures.ts';

/** A scheduler, a replica loop (FIFO CPU server) and the loop's clock. */
function loop() {
  const s = new EventScheduler();
  const base = new VirtualClock(s, 0);
  const cpu = new FifoServer();
  const clock = new LoopClock(base, s, cpu);
  /** Queues `costUs` of CPU on the loop now; `then` when it is done. */
  const job = (costUs: number, then: () => void = () => {}) => s.post(cpu.submit(s.nowUs, costUs), then);
  return { s, base, cpu, clock, job };
}

describe('LoopClock (a replica loop’s timers, as the live clock’s setTimeout → setImmediate)', () => {
  it('fires on time on an idle loop', () => {
    const { s, clock } = loop();
    let at = -1;
    clock.setTimer(5, () => (at = s.nowUs));
    s.runUntil(100_000);
    expect(at).toBe(5_000);
  });

  it('runs a due timer after the work queued when it came due, then after the work queued by then', () => {
    const { s, clock, job } = loop();
    let at = -1;
    clock.setTimer(5, () => (at = s.nowUs));
    job(8_000); // 0–8 ms: the loop is busy when the timer comes due at 5 ms
    s.at(6_000, () => job(3_000)); // arrives while the timer waits: the next poll phase, 8–11 ms
    s.at(9_000, () => job(4_000)); // arrives after the timer's first hop (8 ms), before its run
    s.runUntil(100_000);
    // First hop at 8 ms (behind the 8 ms job); second behind the work queued by then (3 ms, and
    // the 4 ms job has not arrived at 8 ms): the callback runs at 11 ms, before the 4 ms job.
    expect(at).toBe(11_000);
  });

  it('a cancel after the timer came due, while it waits for the loop, still stops it', () => {
    const { s, clock, job } = loop();
    let ran = false;
    const cancel = clock.setTimer(5, () => (ran = true));
    job(10_000);
    s.at(7_000, cancel);
    s.runUntil(100_000);
    expect(ran).toBe(false);
  });

  it('a reply that came before its deadline is not timed out because the loop was busy', () => {
    const { s, clock, job } = loop();
    const breaker = new CircuitBreaker('dep', clock, TEST_BREAKER);
    const codes = {
      timeout: 'RECLAB_ERR_FEATURES_TIMEOUT',
      unavailable: 'RECLAB_ERR_FEATURES_UNAVAILABLE',
    } as const;
    const settled: string[] = [];
    job(30_000); // a busy loop: 30 ms of work queued
    // Replied at 2 ms; its callback's job waits behind the 30 ms. Deadline 10 ms.
    guardedCallback(
      clock,
      breaker,
      10,
      codes,
      (done) => s.at(2_000, () => job(100, () => done(undefined))),
      (err) => settled.push(err ? errorCode(err, 'RECLAB_ERR_FEATURES_UNAVAILABLE') : `ok@${s.nowUs}`),
    );
    // No reply at all: the deadline fires, late (behind the loop's work), but it fires.
    guardedCallback(
      clock,
      breaker,
      10,
      codes,
      () => {},
      (err) => settled.push(err ? `${errorCode(err, 'RECLAB_ERR_FEATURES_UNAVAILABLE')}@${s.nowUs}` : 'ok'),
    );
    s.runUntil(100_000);
    expect(settled).toEqual(['ok@30100', 'RECLAB_ERR_FEATURES_TIMEOUT@30100']);
  });

  it('gives the core’s lag probe the lateness of a tick through both steps', () => {
    const { s, clock, job } = loop();
    const probe = new LoopLagProbe(clock);
    probe.start(); // ticks due every 20 ms
    s.at(15_000, () => job(12_000)); // busy 15–27 ms: the tick due at 20 ms waits
    s.at(21_000, () => job(4_000)); // queued while it waits: 27–31 ms, before the tick's callback
    s.runUntil(32_000);
    // Due at 20 ms, run at 31 ms: 11 ms late (the backlog at 20 ms was 7 ms).
    expect(probe.standingLagMs()).toBe(0); // earlier samples were on time: not standing
    expect(probe.lagMs()).toBeCloseTo(11 - 1, 6); // 11 ms late, worked off for 1 ms since
    probe.stop();
  });
});

describe('FifoServer.submitNext (a synchronous continuation)', () => {
  it('runs at once instead of behind the queue, and moves the free time by its cost', () => {
    const cpu = new FifoServer();
    expect(cpu.submit(0, 10)).toBe(10); // 0–10
    expect(cpu.submit(0, 5)).toBe(15); // queued: 10–15
    expect(cpu.submitNext(10, 2)).toBe(12); // the first job's continuation, at 10
    expect(cpu.submit(10, 1)).toBe(18); // behind the queue and the continuation's 2
    expect(cpu.busyUs).toBe(18);
  });
});
