import type { Clock } from '../ports/clock.ts';
import type { FeatureStore } from '../ports/feature-store.ts';
import { type RefreshLoop, startRefreshLoop } from './background-refresh.ts';

export interface PopularityCacheOptions {
  /** How often the cache re-reads the popularity sets (ms). */
  refreshMs: number;
  /** How many videos to keep per list (seed 000: top-200 global, top-50 per region). */
  globalSize: number;
  regionSize: number;
  /** Number of regions (REGIONS.length). */
  regions: number;
}

/**
 * The in-process popularity cache behind the `popularity` rung (seed 000 §6: "serve from popularity
 * cache"). It re-reads the global and per-region sorted sets every `refreshMs`; when the store fails
 * it keeps serving the last lists it read (stale beats nothing). Refreshes are background work,
 * never on a request's path.
 */
export class PopularityCache {
  readonly #store: FeatureStore;
  readonly #clock: Clock;
  readonly #opts: PopularityCacheOptions;
  #global: number[] = [];
  #byRegion: number[][] = [];
  #loop: RefreshLoop<boolean> | undefined;
  /** Unix ms of the last successful refresh (0 = never). */
  lastRefreshMs = 0;

  constructor(store: FeatureStore, clock: Clock, opts: PopularityCacheOptions) {
    this.#store = store;
    this.#clock = clock;
    this.#opts = opts;
  }

  /** Reads all lists once. Resolves false (keeping the old lists) when the store fails. */
  async refresh(): Promise<boolean> {
    try {
      const global = await this.#store.topPopular(undefined, this.#opts.globalSize);
      const regions = await Promise.all(
        Array.from({ length: this.#opts.regions }, (_, r) =>
          this.#store.topPopular(r, this.#opts.regionSize),
        ),
      );
      this.#global = global.map((e) => e.video);
      this.#byRegion = regions.map((list) => list.map((e) => e.video));
      this.lastRefreshMs = this.#clock.now();
      return true;
    } catch {
      return false;
    }
  }

  /** Starts periodic refreshes (the first one runs now). */
  start(): Promise<boolean> {
    this.#loop?.stop();
    this.#loop = startRefreshLoop(this.#clock, this.#opts.refreshMs, () => this.refresh());
    return this.#loop.first;
  }

  stop(): void {
    this.#loop?.stop();
  }

  get size(): number {
    return this.#global.length;
  }

  /** Up to `n` videos: the region's list first, then the global list, without duplicates. */
  top(regionIdx: number, n: number): number[] {
    const out: number[] = [];
    const seen = new Set<number>();
    for (const list of [this.#byRegion[regionIdx] ?? [], this.#global]) {
      for (const v of list) {
        if (out.length >= n) return out;
        if (!seen.has(v)) {
          seen.add(v);
          out.push(v);
        }
      }
    }
    return out;
  }
}
