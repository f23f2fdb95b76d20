import { describe, expect, it } from 'vitest';
import type { Predictions } from '../../core/ports/ranker.ts';
import {
  type BatchStats,
  DynamicBatcher,
  type DynamicBatcherOptions,
} from '../../core/ranker-tier/dynamic-batcher.ts';
import { manualClock } from '../helpers/manual-clock.ts';

const W = 3; // floats per row

/** Rows whose first float is `start + i`: the runner echoes it, so each caller can check its slice. */
function rows(n: number, start: number): Float32Array {
  const f = new Float32Array(n * W);
  for (let i = 0; i < n; i++) f[i * W] = start + i;
  return f;
}

/** A runner that records its calls and answers when the test releases it (or at once). */
function runner(opts: { manual?: boolean } = {}) {
  const calls: { rows: number; release: () => void; fail: (err: unknown) => void }[] = [];
  const run = (features: Float32Array, n: number): Promise<Predictions> =>
    new Promise((resolve, reject) => {
      const pClick = new Float32Array(n);
      for (let i = 0; i < n; i++) pClick[i] = features[i * W];
      const out = { pClick, watchTimeS: Float32Array.from(pClick, (x) => x * 2) };
      calls.push({ rows: n, release: () => resolve(out), fail: reject });
      if (!opts.manual) resolve(out);
    });
  return { run, calls };
}

const flush = () => new Promise<void>((r) => setImmediate(r));

function make(opts: Partial<DynamicBatcherOptions>, run: ReturnType<typeof runner>['run']) {
  const { clock, advance, liveTimers } = manualClock();
  const batches: BatchStats[] = [];
  const b = new DynamicBatcher(
    clock,
    {
      rowWidth: W,
      maxBatchRows: 1000,
      maxBatchDelayMs: 5,
      maxInFlightBatches: 1,
      maxQueueRows: 5000,
      ...opts,
    },
    run,
    (s) => batches.push(s),
  );
  return { b, advance, batches, liveTimers };
}

describe('DynamicBatcher (Triton-style dynamic batching, sans-I/O)', () => {
  it('holds a partial batch until the oldest request has waited maxBatchDelayMs, then runs it once', async () => {
    const r = runner();
    const { b, advance, batches } = make({ maxBatchDelayMs: 5 }, r.run);
    const p1 = b.submit(rows(100, 0), 100);
    advance(2);
    const p2 = b.submit(rows(50, 1000), 50);
    advance(2.9); // the oldest has waited 4.9 ms
    await flush();
    expect(r.calls).toHaveLength(0);
    advance(0.1); // 5 ms since the first request: both leave together
    const [a, c] = await Promise.all([p1, p2]);
    expect(r.calls.map((x) => x.rows)).toEqual([150]);
    expect(Array.from(a.pClick)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(Array.from(c.pClick)).toEqual(Array.from({ length: 50 }, (_, i) => 1000 + i));
    expect(c.watchTimeS[49]).toBe(2 * 1049);
    expect(batches).toEqual([
      { rows: 150, requests: 2, queueWaitsMs: [5, 3], runMs: 0, trigger: 'delay', ok: true },
    ]);
  });

  it('dispatches at once when the waiting rows reach maxBatchRows, packing whole requests', async () => {
    const r = runner();
    const { b, advance, batches } = make(
      { maxBatchRows: 300, maxBatchDelayMs: 5, maxInFlightBatches: 2 },
      r.run,
    );
    const ps = [b.submit(rows(100, 0), 100), b.submit(rows(100, 100), 100)];
    await flush();
    expect(r.calls).toHaveLength(0);
    ps.push(b.submit(rows(100, 200), 100)); // 300 rows waiting: full
    await Promise.all(ps);
    expect(r.calls.map((x) => x.rows)).toEqual([300]);
    expect(batches[0]).toMatchObject({ requests: 3, trigger: 'full', queueWaitsMs: [0, 0, 0] });

    // 200 + 200 > 300: the first leaves alone at once, the second waits for its own delay.
    const q1 = b.submit(rows(200, 0), 200);
    const q2 = b.submit(rows(200, 500), 200);
    await q1;
    expect(r.calls.map((x) => x.rows)).toEqual([300, 200]);
    advance(4);
    await flush();
    expect(r.calls).toHaveLength(2);
    advance(1);
    expect(Array.from((await q2).pClick.subarray(0, 2))).toEqual([500, 501]);
    await flush(); // stats are reported after the callers are answered
    expect(batches.map((s) => s.trigger)).toEqual(['full', 'full', 'delay']);
  });

  it('runs a request larger than maxBatchRows as its own batch, without waiting', async () => {
    const r = runner();
    const { b } = make({ maxBatchRows: 300 }, r.run);
    const p = await b.submit(rows(700, 0), 700);
    expect(r.calls.map((x) => x.rows)).toEqual([700]);
    expect(p.pClick).toHaveLength(700);
  });

  it('keeps at most maxInFlightBatches running; arrivals meanwhile leave together when a slot frees', async () => {
    const r = runner({ manual: true });
    const { b, advance, batches } = make({ maxBatchDelayMs: 0, maxInFlightBatches: 1 }, r.run);
    const pa = b.submit(rows(10, 0), 10);
    await flush();
    expect(r.calls).toHaveLength(1); // delay 0: dispatched at once
    const pb = b.submit(rows(10, 100), 10);
    const pc = b.submit(rows(10, 200), 10);
    advance(50);
    await flush();
    expect(r.calls).toHaveLength(1); // the only slot is busy
    expect(b.stats()).toMatchObject({ queuedRequests: 2, queuedRows: 20, inFlightBatches: 1 });
    r.calls[0].release();
    await pa;
    await flush();
    expect(r.calls.map((x) => x.rows)).toEqual([10, 20]);
    r.calls[1].release();
    const [rb, rc] = await Promise.all([pb, pc]);
    expect(rb.pClick[0]).toBe(100);
    expect(rc.pClick[0]).toBe(200);
    expect(batches[1]).toMatchObject({ requests: 2, queueWaitsMs: [50, 50] });
  });

  it('bounds the queue: beyond maxQueueRows rejects with RECLAB_ERR_RANKER_OVERLOADED (503)', async () => {
    const r = runner({ manual: true });
    const { b } = make({ maxBatchRows: 100, maxBatchDelayMs: 0, maxQueueRows: 300 }, r.run);
    void b.submit(rows(100, 0), 100); // running
    await flush();
    const queued = [b.submit(rows(100, 0), 100), b.submit(rows(200, 0), 200)]; // 300 rows waiting
    await expect(b.submit(rows(1, 0), 1)).rejects.toMatchObject({
      code: 'RECLAB_ERR_RANKER_OVERLOADED',
      status: 503,
    });
    await expect(b.submit(rows(301, 0), 301)).rejects.toMatchObject({ code: 'RECLAB_ERR_REQUEST_INVALID' });
    await expect(b.submit(new Float32Array(5), 2)).rejects.toMatchObject({
      code: 'RECLAB_ERR_REQUEST_INVALID',
    });
    expect(b.stats()).toMatchObject({ queuedRows: 300, rejectedFull: 1 });
    r.calls[0].release();
    await flush();
    r.calls[1].release();
    await flush();
    r.calls[2].release();
    await Promise.all(queued);
  });

  it('fails every request of a failed batch with the runner error, and keeps serving', async () => {
    const r = runner({ manual: true });
    const { b, advance, batches } = make({ maxBatchDelayMs: 1 }, r.run);
    const p1 = b.submit(rows(5, 0), 5);
    const p2 = b.submit(rows(5, 0), 5);
    advance(1);
    await flush();
    r.calls[0].fail(new Error('session crashed'));
    await expect(p1).rejects.toThrow('session crashed');
    await expect(p2).rejects.toThrow('session crashed');
    expect(batches[0]).toMatchObject({ requests: 2, ok: false });
    const p3 = b.submit(rows(5, 7), 5);
    advance(1);
    await flush();
    r.calls[1].release();
    expect((await p3).pClick[0]).toBe(7);
  });

  it('rejects a batch whose runner returns fewer rows (RECLAB_ERR_RANKER_INVALID_OUTPUT)', async () => {
    const { clock } = manualClock();
    const b = new DynamicBatcher(
      clock,
      { rowWidth: W, maxBatchRows: 10, maxBatchDelayMs: 0, maxInFlightBatches: 1, maxQueueRows: 10 },
      async (_f, n) => ({ pClick: new Float32Array(n - 1), watchTimeS: new Float32Array(n) }),
    );
    await expect(b.submit(rows(3, 0), 3)).rejects.toMatchObject({ code: 'RECLAB_ERR_RANKER_INVALID_OUTPUT' });
  });

  it('drain() runs what waits without the delay, refuses new work, and resolves when idle', async () => {
    const r = runner({ manual: true });
    const { b, batches, liveTimers } = make({ maxBatchDelayMs: 1000 }, r.run);
    const p = b.submit(rows(4, 0), 4);
    await flush();
    expect(r.calls).toHaveLength(0);
    expect(liveTimers()).toBe(1);
    let drained = false;
    const d = b.drain().then(() => {
      drained = true;
    });
    await flush();
    expect(r.calls).toHaveLength(1);
    await expect(b.submit(rows(1, 0), 1)).rejects.toMatchObject({ code: 'RECLAB_ERR_NOT_READY' });
    expect(drained).toBe(false);
    r.calls[0].release();
    await p;
    await d;
    expect(batches[0].trigger).toBe('drain');
    expect(liveTimers()).toBe(0);
  });
});
