import { parseVideoIndex } from '../features/ids.ts';
import type { Clock } from '../ports/clock.ts';
import { type RefreshLoop, startRefreshLoop } from './background-refresh.ts';

/** Where the block list comes from: the ids in the policy set, at most `max` of them. */
export interface BlocklistSource {
  /** Blocked video ids (`v_<index>`). Throws when the store fails. */
  blockedIds(max: number): Promise<string[]>;
}

export interface PolicyBlocklistOptions {
  /** How often the list is re-read, ms. */
  refreshMs: number;
  /** Most ids held; a larger policy set is cut (and `truncated` says so). */
  maxEntries: number;
}

/**
 * The videos blocked by policy (seed 000 §1 "Re-Ranking Module": hard filters — "policy
 * violations"), held in process and refreshed in the background like the popularity cache, so the
 * filter costs a set lookup per candidate and never a round trip on the request path. When the store
 * fails the last list stays in force (a block must not lapse because Redis blinked); before the first
 * successful read the list is empty. Bounded by `maxEntries`.
 */
export class PolicyBlocklist {
  readonly #source: BlocklistSource;
  readonly #clock: Clock;
  readonly #opts: PolicyBlocklistOptions;
  #blocked: ReadonlySet<number> = new Set();
  #loop: RefreshLoop<boolean> | undefined;
  /** Unix ms of the last successful refresh (0 = never). */
  lastRefreshMs = 0;
  /** True when the policy set held more than `maxEntries` ids at the last refresh. */
  truncated = false;

  constructor(source: BlocklistSource, clock: Clock, opts: PolicyBlocklistOptions) {
    this.#source = source;
    this.#clock = clock;
    this.#opts = opts;
  }

  /** The blocked catalogue indices, as of the last successful refresh. */
  get blocked(): ReadonlySet<number> {
    return this.#blocked;
  }

  /** Reads the list once; resolves false (keeping the old list) when the store fails. */
  async refresh(): Promise<boolean> {
    try {
      const ids = await this.#source.blockedIds(this.#opts.maxEntries + 1);
      this.truncated = ids.length > this.#opts.maxEntries;
      const next = new Set<number>();
      for (const id of ids.slice(0, this.#opts.maxEntries)) {
        const v = parseVideoIndex(id);
        if (v >= 0) next.add(v);
      }
      this.#blocked = next;
      this.lastRefreshMs = this.#clock.now();
      return true;
    } catch {
      return false;
    }
  }

  /** First read, then a refresh every `refreshMs` until `stop()`. */
  async start(): Promise<void> {
    this.#loop?.stop();
    this.#loop = startRefreshLoop(this.#clock, this.#opts.refreshMs, () => this.refresh());
    await this.#loop.first;
  }

  stop(): void {
    this.#loop?.stop();
  }
}
