import type { Clock } from '../ports/clock.ts';

/** A running background refresh loop (see `startRefreshLoop`). */
export interface RefreshLoop<T> {
  /** The first refresh, started at once; settles with its result. */
  first: Promise<T>;
  /** Cancels the pending timer; a refresh already running finishes but is not followed by another. */
  stop(): void;
}

/**
 * Runs `refresh` now, then again `everyMs` ms (Clock time) after each run settles, until `stop()`.
 * Runs never overlap: the next timer is armed only once the previous run has settled, so the loop
 * holds at most one pending timer and one run in flight. `refresh` is expected to report store
 * failures through its result rather than reject; a rejection ends no loop (the next run is still
 * armed) and reaches only the caller of `first` (for the first run).
 *
 * Used by the in-process caches refreshed in the background, off the request path (seed 000 §6
 * popularity cache, §1 policy filters): PopularityCache, PolicyBlocklist.
 */
export function startRefreshLoop<T>(
  clock: Clock,
  everyMs: number,
  refresh: () => Promise<T>,
): RefreshLoop<T> {
  let stopped = false;
  let cancel: (() => void) | undefined;
  const arm = () => {
    if (stopped) return;
    cancel = clock.setTimer(everyMs, () => {
      refresh().then(arm, arm);
    });
  };
  const first = refresh();
  first.then(arm, arm);
  return {
    first,
    stop: () => {
      stopped = true;
      cancel?.();
    },
  };
}
