import { describe, expect, it } from 'vitest';
import { L1FeatureCache, withL1Cache } from '../../core/features/l1-feature-cache.ts';
import { VIDEO_RECORD_LEN } from '../../core/features/schema.ts';
import { CoreMetrics } from '../../core/observability/metrics.ts';
import type { FeatureStore } from '../../core/ports/feature-store.ts';
import { manualClock } from '../helpers/manual-clock.ts';

const record = (v: number, version = 0) =>
  Float32Array.from({ length: VIDEO_RECORD_LEN }, (_, i) => v * 10 + i + version);

/**
 * An in-memory FeatureStore that records every `getVideos` call (the ids it was asked), and can be
 * made to fail. Video `v` exists when `v < videos`; `version` changes what its record holds.
 */
class MemoryStore implements FeatureStore {
  calls: number[][] = [];
  userCalls = 0;
  failing = false;
  version = 0;
  constructor(public videos: number) {}
  async getUser(): Promise<Float32Array | undefined> {
    this.userCalls++;
    return new Float32Array(4);
  }
  async getVideos(videos: readonly number[]): Promise<(Float32Array | undefined)[]> {
    this.calls.push([...videos]);
    if (this.failing) throw new Error('store down');
    return videos.map((v) => (v < this.videos ? record(v, this.version) : undefined));
  }
  async topPopular(): Promise<{ video: number; score: number }[]> {
    return [{ video: 1, score: 2 }];
  }
  markerCalls = 0;
  async loadMarker(): Promise<string | undefined> {
    this.markerCalls++;
    return 'world';
  }
}

const first = (rs: (Float32Array | undefined)[]) => rs.map((r) => (r ? r[0] : undefined));

describe('L1FeatureCache', () => {
  it('serves hits without the inner store, and asks for only the misses in one call', async () => {
    const { clock } = manualClock();
    const inner = new MemoryStore(100);
    const cache = new L1FeatureCache(inner, clock, { maxEntries: 1000, ttlMs: 60_000 });
    expect(first(await cache.getVideos([1, 2, 3]))).toEqual([10, 20, 30]);
    expect(inner.calls).toEqual([[1, 2, 3]]);
    expect(first(await cache.getVideos([3, 1, 2]))).toEqual([30, 10, 20]);
    expect(inner.calls).toHaveLength(1); // all hits: no call
    expect(first(await cache.getVideos([4, 2, 5, 1, 6]))).toEqual([40, 20, 50, 10, 60]);
    expect(inner.calls).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(cache.stats()).toMatchObject({ hits: 5, misses: 6, size: 6 });
  });

  it('asks for a repeated missing id once and fills every position', async () => {
    const { clock } = manualClock();
    const inner = new MemoryStore(100);
    const cache = new L1FeatureCache(inner, clock, { maxEntries: 1000, ttlMs: 60_000 });
    expect(first(await cache.getVideos([7, 7, 8]))).toEqual([70, 70, 80]);
    expect(inner.calls).toEqual([[7, 8]]);
    expect(await cache.getVideos([])).toEqual([]);
    expect(inner.calls).toHaveLength(1);
  });

  it('expires records after the TTL on the injected clock (a clock starting at 0 too)', async () => {
    const { clock, advance } = manualClock();
    const inner = new MemoryStore(100);
    const cache = new L1FeatureCache(inner, clock, { maxEntries: 1000, ttlMs: 1000 });
    await cache.getVideos([1]);
    inner.version = 5;
    advance(999);
    expect(first(await cache.getVideos([1]))).toEqual([10]); // still the cached record
    expect(inner.calls).toHaveLength(1);
    advance(2);
    expect(first(await cache.getVideos([1]))).toEqual([15]); // re-read after expiry
    expect(inner.calls).toEqual([[1], [1]]);
  });

  it('holds at most maxEntries, evicting the least recently used', async () => {
    const { clock } = manualClock();
    const inner = new MemoryStore(100);
    const cache = new L1FeatureCache(inner, clock, { maxEntries: 3, ttlMs: 60_000 });
    await cache.getVideos([1, 2, 3]);
    await cache.getVideos([1]); // 1 is now the most recently used
    await cache.getVideos([4]); // evicts 2
    expect(cache.stats().size).toBe(3);
    inner.calls = [];
    await cache.getVideos([1, 3, 4]);
    expect(inner.calls).toEqual([]);
    await cache.getVideos([2]);
    expect(inner.calls).toEqual([[2]]);
  });

  it('does not cache a failure: the error reaches the caller and the next call asks again', async () => {
    const { clock } = manualClock();
    const inner = new MemoryStore(100);
    const cache = new L1FeatureCache(inner, clock, { maxEntries: 100, ttlMs: 60_000 });
    await cache.getVideos([1]);
    inner.failing = true;
    await expect(cache.getVideos([1, 2])).rejects.toThrow('store down');
    expect(inner.calls.at(-1)).toEqual([2]);
    await expect(cache.getVideos([2])).rejects.toThrow('store down');
    inner.failing = false;
    expect(first(await cache.getVideos([1, 2]))).toEqual([10, 20]);
    expect(inner.calls.at(-1)).toEqual([2]);
    expect(cache.stats().size).toBe(2);
  });

  it('remembers unknown videos for the negative TTL only', async () => {
    const { clock, advance } = manualClock();
    const inner = new MemoryStore(10);
    const cache = new L1FeatureCache(inner, clock, { maxEntries: 100, ttlMs: 60_000, negativeTtlMs: 500 });
    expect(first(await cache.getVideos([50, 1]))).toEqual([undefined, 10]);
    advance(400);
    expect(first(await cache.getVideos([50]))).toEqual([undefined]);
    expect(inner.calls).toHaveLength(1);
    inner.videos = 100; // the record of 50 is written now
    advance(101);
    expect(first(await cache.getVideos([50, 1]))).toEqual([500, 10]);
    expect(inner.calls.at(-1)).toEqual([50]);
  });

  it('with negativeTtlMs 0, asks for unknown videos every time', async () => {
    const { clock } = manualClock();
    const inner = new MemoryStore(10);
    const cache = new L1FeatureCache(inner, clock, { maxEntries: 100, ttlMs: 60_000, negativeTtlMs: 0 });
    await cache.getVideos([50]);
    await cache.getVideos([50]);
    expect(inner.calls).toEqual([[50], [50]]);
  });

  it('passes user reads, popularity and the load marker through (a data loss shows at once)', async () => {
    const { clock } = manualClock();
    const inner = new MemoryStore(10);
    const cache = new L1FeatureCache(inner, clock, { maxEntries: 100, ttlMs: 60_000 });
    await cache.getUser('u_1');
    await cache.getUser('u_1');
    expect(inner.userCalls).toBe(2);
    expect(await cache.topPopular(undefined, 1)).toEqual([{ video: 1, score: 2 }]);
    expect(await cache.loadMarker()).toBe('world');
    expect(await cache.loadMarker()).toBe('world');
    expect(inner.markerCalls).toBe(2);
  });

  it('counts hits and misses into reclab_feature_cache_requests_total', async () => {
    const { clock } = manualClock();
    const metrics = new CoreMetrics({ defaultMetrics: false });
    const cache = new L1FeatureCache(
      new MemoryStore(100),
      clock,
      { maxEntries: 100, ttlMs: 60_000 },
      metrics.featureCache,
    );
    await cache.getVideos([1, 2, 3]);
    await cache.getVideos([1, 2, 4]);
    const text = await metrics.registry.metrics();
    expect(text).toContain('reclab_feature_cache_requests_total{cache="video",result="miss"} 4');
    expect(text).toContain('reclab_feature_cache_requests_total{cache="video",result="hit"} 2');
  });

  it('is disabled by maxEntries 0 or ttlMs 0 (withL1Cache returns the inner store)', () => {
    const { clock } = manualClock();
    const inner = new MemoryStore(10);
    expect(withL1Cache(inner, clock, { maxEntries: 0, ttlMs: 1000 })).toBe(inner);
    expect(withL1Cache(inner, clock, { maxEntries: 10, ttlMs: 0 })).toBe(inner);
    expect(withL1Cache(inner, clock, { maxEntries: 10, ttlMs: 1000 })).toBeInstanceOf(L1FeatureCache);
    expect(() => new L1FeatureCache(inner, clock, { maxEntries: 0, ttlMs: 1000 })).toThrow(RangeError);
  });
});

describe('L1FeatureCache keys outside its typed slot table', () => {
  it('negative, fractional and ≥ 2^22 ids hit, miss, expire and evict exactly as small ids do', async () => {
    let seed = 99;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const calls = Array.from({ length: 200 }, () =>
      Array.from({ length: 1 + Math.floor(rnd() * 12) }, () => Math.floor(rnd() * 40)),
    );
    const advances = calls.map(() => Math.floor(rnd() * 400));
    const run = async (mapId: (v: number) => number) => {
      const { clock, advance } = manualClock();
      const inner = new MemoryStore(Number.POSITIVE_INFINITY);
      const cache = new L1FeatureCache(inner, clock, { maxEntries: 16, ttlMs: 1_000 });
      const seen: (number | undefined)[][] = [];
      for (let c = 0; c < calls.length; c++) {
        advance(advances[c]);
        seen.push(first(await cache.getVideos(calls[c].map(mapId))));
      }
      return { seen, asked: inner.calls, stats: cache.stats() };
    };
    const small = await run((v) => v);
    for (const mapId of [(v: number) => -1 - v, (v: number) => v + 0.5, (v: number) => 2 ** 22 + v]) {
      const other = await run(mapId);
      expect(other.stats).toEqual(small.stats);
      expect(other.asked).toEqual(small.asked.map((ids) => ids.map(mapId)));
      expect(other.seen).toEqual(
        small.seen.map((rs, c) => rs.map((_, i) => Math.fround(mapId(calls[c][i]) * 10))),
      );
    }
  });
});
