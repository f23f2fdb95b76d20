/**
 * The popularity cache keeps its last good lists when a refresh reads empty or implausibly small
 * sets (issue 9 item 6: after Redis restarted empty, a refresh replaced the lists with the empty
 * sets and requests fell to `editorial`). Driven by the manual clock through the refresh loop.
 */
import { describe, expect, it } from 'vitest';
import { PopularityCache } from '../../core/pipeline/popularity-cache.ts';
import type { FeatureStore } from '../../core/ports/feature-store.ts';
import { manualClock } from '../helpers/manual-clock.ts';

/** A store whose popularity sets the test sets: `global`, and `region[r]`; `failing` throws. */
class ScriptedStore implements FeatureStore {
  global: number[] = [];
  region: number[][] = [[]];
  failing = false;
  async getUser(): Promise<Float32Array | undefined> {
    return undefined;
  }
  async getVideos(v: readonly number[]): Promise<(Float32Array | undefined)[]> {
    return v.map(() => undefined);
  }
  async topPopular(r: number | undefined, n: number): Promise<{ video: number; score: number }[]> {
    if (this.failing) throw new Error('store down');
    const list = r === undefined ? this.global : (this.region[r] ?? []);
    return list.slice(0, n).map((video, i) => ({ video, score: list.length - i }));
  }
  async loadMarker(): Promise<string | undefined> {
    return 'w';
  }
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
/** Lets the refresh started by a timer settle (it awaits the store). */
const settle = () => new Promise((r) => setTimeout(r, 0));

function setup(opts: { shrinkConfirmMs?: number } = {}) {
  const hand = manualClock();
  const store = new ScriptedStore();
  store.global = range(0, 20);
  store.region = [range(100, 10)];
  const cache = new PopularityCache(store, hand.clock, {
    refreshMs: 1000,
    globalSize: 20,
    regionSize: 10,
    regions: 1,
    shrinkRatioMin: 0.5,
    shrinkConfirmMs: opts.shrinkConfirmMs ?? 5000,
  });
  /** Moves the clock one refresh period and lets that refresh finish. */
  const tick = async () => {
    hand.advance(1000);
    await settle();
  };
  return { hand, store, cache, tick };
}

describe('PopularityCache keeps its last good lists', () => {
  it('an empty read (Redis restarted without its data) never replaces the lists, however long it lasts', async () => {
    const { store, cache, tick } = setup();
    expect(await cache.start()).toBe(true);
    const before = cache.top(0, 30);
    expect(before).toEqual([...range(100, 10), ...range(0, 20)]);

    store.global = [];
    store.region = [[]];
    for (let i = 0; i < 30; i++) await tick(); // 30 s of empty reads, 6 × shrinkConfirmMs
    expect(cache.top(0, 30)).toEqual(before);
    expect(cache.size).toBe(20);
    expect(cache.stats()).toEqual({ refreshes: 31, readsKept: 60, listsHeld: 2 });
    cache.stop();
  });

  it('an implausibly small read is held until it has lasted shrinkConfirmMs, then taken', async () => {
    const { store, cache, tick } = setup({ shrinkConfirmMs: 5000 });
    await cache.start();
    store.global = range(0, 3); // 3 of 20: below half
    store.region = [range(100, 10)]; // unchanged: taken every time
    for (let i = 0; i < 5; i++) {
      await tick(); // short reads at 1 … 5 s: the first was 4 s ago at most
      expect(cache.size).toBe(20);
    }
    await tick(); // 6 s: short since the read at 1 s, 5000 ms → taken
    expect(cache.size).toBe(3);
    expect(cache.stats().listsHeld).toBe(0);
    cache.stop();
  });

  it('an empty read in a run of short reads restarts the confirmation', async () => {
    const { store, cache, tick } = setup({ shrinkConfirmMs: 3000 });
    await cache.start();
    store.global = range(0, 2);
    await tick();
    await tick(); // short reads at 1 and 2 s
    store.global = [];
    await tick(); // empty: the run ends
    store.global = range(0, 2);
    await tick();
    await tick();
    await tick(); // short again at 4, 5 and 6 s: 2 s since the run began
    expect(cache.size).toBe(20);
    await tick(); // 7 s: 3 s
    expect(cache.size).toBe(2);
    cache.stop();
  });

  it('a plausible read (at least half the kept length) replaces the list at once', async () => {
    const { store, cache, tick } = setup();
    await cache.start();
    store.global = range(500, 10); // exactly half
    await tick();
    expect(cache.top(1, 10)).toEqual(range(500, 10)); // region 1 has no list: the global one
    store.global = range(700, 20); // longer again
    await tick();
    expect(cache.top(1, 20)).toEqual(range(700, 20));
    cache.stop();
  });

  it('anything is taken while nothing is kept (a first fill), and a failing store keeps every list', async () => {
    const { store, cache, tick } = setup();
    store.global = [];
    store.region = [[]];
    expect(await cache.start()).toBe(true);
    expect(cache.size).toBe(0);
    store.global = range(0, 1);
    await tick();
    expect(cache.top(0, 5)).toEqual([0]);
    store.global = range(0, 20);
    await tick();
    store.failing = true;
    expect(await cache.refresh()).toBe(false);
    expect(cache.size).toBe(20);
    cache.stop();
  });

  it('rejects a shrink ratio outside (0, 1]', () => {
    const { clock } = manualClock();
    const opts = { refreshMs: 1, globalSize: 1, regionSize: 1, regions: 1 };
    expect(() => new PopularityCache(new ScriptedStore(), clock, { ...opts, shrinkRatioMin: 0 })).toThrow(
      RangeError,
    );
    expect(() => new PopularityCache(new ScriptedStore(), clock, { ...opts, shrinkRatioMin: 1.5 })).toThrow(
      RangeError,
    );
  });
});
