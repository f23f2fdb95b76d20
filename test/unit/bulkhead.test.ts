import { describe, expect, it } from 'vitest';
import { Bulkhead } from '../../core/resilience/bulkhead.ts';
import { manualClock } from '../helpers/manual-clock.ts';

const opts = { maxConcurrent: 2, maxQueue: 2, shedTargetMs: 10, shedIntervalMs: 100 };

describe('Bulkhead (cockatiel BulkheadPolicy semantics + CoDel shedding)', () => {
  it('runs up to maxConcurrent, queues up to maxQueue, rejects beyond with RECLAB_ERR_OVERLOADED', async () => {
    const { clock } = manualClock();
    const b = new Bulkhead(clock, opts);
    const r1 = await b.acquire();
    await b.acquire();
    const q1 = b.acquire();
    b.acquire();
    await expect(b.acquire()).rejects.toMatchObject({ code: 'RECLAB_ERR_OVERLOADED', status: 503 });
    expect(b.stats()).toMatchObject({ running: 2, queued: 2, rejectedFull: 1 });
    r1();
    r1(); // releasing twice is harmless
    await q1;
    expect(b.stats()).toMatchObject({ running: 2, queued: 1 });
  });

  it('sheds new arrivals once queueing time stays above target for an interval, and recovers', async () => {
    const { clock, advance } = manualClock();
    const b = new Bulkhead(clock, { ...opts, maxConcurrent: 1, maxQueue: 100 });
    let release = await b.acquire();
    // A standing queue: each call waits 50 ms (> 10 ms target), for longer than 100 ms.
    for (let i = 0; i < 3; i++) {
      const next = b.acquire();
      advance(50);
      release();
      release = await next;
    }
    expect(b.stats().shedding).toBe(true);
    await expect(b.acquire()).rejects.toMatchObject({ code: 'RECLAB_ERR_OVERLOADED' });
    expect(b.stats().rejectedShed).toBe(1);
    release(); // the queue has drained: a free slot admits at once, and that ends shedding
    expect(b.stats().running).toBe(0);
    await b.acquire();
    expect(b.stats().shedding).toBe(false);
  });

  it('does not shed a short burst (waits above target for less than an interval)', async () => {
    const { clock, advance } = manualClock();
    const b = new Bulkhead(clock, { ...opts, maxConcurrent: 1, maxQueue: 100 });
    let release = await b.acquire();
    const next = b.acquire();
    advance(50);
    release();
    release = await next;
    expect(b.stats().shedding).toBe(false);
    release();
    await b.acquire();
    expect(b.stats().shedding).toBe(false);
  });
});
