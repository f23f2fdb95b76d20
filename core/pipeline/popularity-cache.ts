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
  /**
   * A list read shorter than this share of the list it would replace is implausibly small
   * (`PopularityCache` keeps the old one); in (0, 1], default `POPULARITY_SHRINK_RATIO_MIN` (0.5).
   */
  shrinkRatioMin?: number;
  /**
   * How long (ms) every refresh must keep reading a list implausibly small, but not empty, before
   * the smaller list replaces the kept one; default `POPULARITY_SHRINK_CONFIRM_MS` (60 000).
   */
  shrinkConfirmMs?: number;
}

/** Default of `PopularityCacheOptions.shrinkRatioMin`. */
export const POPULARITY_SHRINK_RATIO_MIN = 0.5;
/** Default of `PopularityCacheOptions.shrinkConfirmMs` (12 refreshes at the default 5 s). */
export const POPULARITY_SHRINK_CONFIRM_MS = 60_000;

/** What the cache holds of one list, and since when a read has been implausibly small. */
interface KeptList {
  videos: number[];
  /** Clock ms of the first of the consecutive short, non-empty reads; undefined after any other read. */
  smallSince: number | undefined;
  /** The last read was not taken: `videos` is older than it. */
  held: boolean;
}

const NOTHING_KEPT: KeptList = { videos: [], smallSince: undefined, held: false };

/** Counts since the cache was made (for /readyz and tests). */
export interface PopularityCacheStats {
  /** Refreshes whose reads succeeded. */
  refreshes: number;
  /** Lists read empty or implausibly small and not taken (the kept list served instead). */
  readsKept: number;
  /** Lists whose last read was not taken (their kept version is older than it). */
  listsHeld: number;
}

/**
 * The in-process popularity cache behind the `popularity` rung (seed 000 §6: "serve from popularity
 * cache"). It re-reads the global and per-region sorted sets every `refreshMs`; refreshes are
 * background work, never on a request's path. Stale beats nothing, so a refresh never replaces a
 * good list with a worse one (docs/fallback.md, "The popularity cache"):
 *
 * - a store failure keeps every list;
 * - per list, a read at least `shrinkRatioMin` × the kept list's length replaces it at once (so does
 *   any read while nothing is kept yet);
 * - an empty read never replaces a non-empty list: after a Redis restart without its data the sets
 *   read empty, and the lists from before are what the rung should serve;
 * - a shorter, non-empty read replaces the kept list only once every refresh has read it short for
 *   `shrinkConfirmMs` (a catalogue that really shrank); a transient one (a partial reload) does not.
 *   The staleness this allows is bounded by `shrinkConfirmMs` plus one refresh.
 */
export class PopularityCache {
  readonly #store: FeatureStore;
  readonly #clock: Clock;
  readonly #opts: PopularityCacheOptions;
  readonly #shrinkRatioMin: number;
  readonly #shrinkConfirmMs: number;
  #global: KeptList = NOTHING_KEPT;
  #byRegion: KeptList[] = [];
  #loop: RefreshLoop<boolean> | undefined;
  #refreshes = 0;
  #readsKept = 0;
  /** Unix ms of the last successful refresh (0 = never). */
  lastRefreshMs = 0;

  /** @throws RangeError when `shrinkRatioMin` is outside (0, 1] or `shrinkConfirmMs` is negative */
  constructor(store: FeatureStore, clock: Clock, opts: PopularityCacheOptions) {
    this.#store = store;
    this.#clock = clock;
    this.#opts = opts;
    this.#shrinkRatioMin = opts.shrinkRatioMin ?? POPULARITY_SHRINK_RATIO_MIN;
    this.#shrinkConfirmMs = opts.shrinkConfirmMs ?? POPULARITY_SHRINK_CONFIRM_MS;
    if (!(this.#shrinkRatioMin > 0 && this.#shrinkRatioMin <= 1)) {
      throw new RangeError(`shrinkRatioMin must be in (0, 1], got ${this.#shrinkRatioMin}`);
    }
    if (!(this.#shrinkConfirmMs >= 0)) {
      throw new RangeError(`shrinkConfirmMs must be ≥ 0, got ${this.#shrinkConfirmMs}`);
    }
  }

  /** Reads all lists once. Resolves false (keeping the old lists) when the store fails. */
  async refresh(): Promise<boolean> {
    let global: { video: number }[];
    let regions: { video: number }[][];
    try {
      global = await this.#store.topPopular(undefined, this.#opts.globalSize);
      regions = await Promise.all(
        Array.from({ length: this.#opts.regions }, (_, r) =>
          this.#store.topPopular(r, this.#opts.regionSize),
        ),
      );
    } catch {
      return false;
    }
    const now = this.#clock.now();
    this.#global = this.#take(
      this.#global,
      global.map((e) => e.video),
      now,
    );
    this.#byRegion = regions.map((list, r) =>
      this.#take(
        this.#byRegion[r] ?? NOTHING_KEPT,
        list.map((e) => e.video),
        now,
      ),
    );
    this.#refreshes++;
    this.lastRefreshMs = now;
    return true;
  }

  /** The list to keep after reading `read` where `kept` was held (the rule in the class comment). */
  #take(kept: KeptList, read: number[], now: number): KeptList {
    const taken: KeptList = { videos: read, smallSince: undefined, held: false };
    if (read.length >= kept.videos.length * this.#shrinkRatioMin) return taken;
    if (read.length > 0) {
      const since = kept.smallSince ?? now;
      if (now - since >= this.#shrinkConfirmMs) return taken;
      this.#readsKept++;
      return { videos: kept.videos, smallSince: since, held: true };
    }
    // Empty: never replaces a non-empty list, and breaks a run of short reads.
    this.#readsKept++;
    return { videos: kept.videos, smallSince: undefined, held: true };
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
    return this.#global.videos.length;
  }

  stats(): PopularityCacheStats {
    const lists = [this.#global, ...this.#byRegion];
    return {
      refreshes: this.#refreshes,
      readsKept: this.#readsKept,
      listsHeld: lists.filter((l) => l.held).length,
    };
  }

  /** Up to `n` videos: the region's list first, then the global list, without duplicates. */
  top(regionIdx: number, n: number): number[] {
    const out: number[] = [];
    const seen = new Set<number>();
    for (const list of [this.#byRegion[regionIdx]?.videos ?? [], this.#global.videos]) {
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
