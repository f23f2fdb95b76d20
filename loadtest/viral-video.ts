import { videoIdOf } from '../core/features/ids.ts';
import { REGIONS } from '../core/features/schema.ts';
import type { Random } from '../core/ports/random.ts';
import type { StreamEvent } from '../core/streaming/events.ts';
import type { World } from '../sim/world/world.ts';

/** A phase's `viral` field (scenarios/define.ts ViralSchema), after scaling. */
export interface ViralSpec {
  atS: number;
  users: number;
  eventsPerS: number;
}

/** What the run result records about the viral video (reports/model.ts `RunResult.viral`). */
export interface ViralOutcome {
  /** `v_<index>`. */
  videoId: string;
  /** Its home region, where it must appear. */
  region: string;
  /** Distinct users that sent its watch events. */
  users: number;
  /** Watch events queued for it (to the user-activity buffer, which may still drop some). */
  eventsQueued: number;
  /** ISO time of the first viral event; null when the phase never reached `atS`. */
  firstEventAt: string | null;
  /** Seconds from the first event until it was first in a list served to its region; null = never. */
  timeToListS: number | null;
}

/** "Recent": uploaded within this long before the world's now (3 days). */
const RECENT_S = 3 * 86_400;
/** Ticks per second of the event sender. */
const TICKS_PER_S = 10;

/**
 * The viral half of viral-spike (issue 12): one video whose views explode. The video is drawn
 * (stream `loadtest.viral`) among the initial videos of one drawn region uploaded in the last 3 days
 * whose popularity prior is below the region's median (recent, not yet popular); its watchers are
 * `users` distinct users of that region (stream `loadtest.viral.users`). From `start()` it queues
 * `eventsPerS` watch events per second, round-robin over the watchers, on the simulated users'
 * event sender (bounded buffer, retry contract; loadtest/user-activity.ts). `observe` is called for
 * every 200 response with the requesting user's region: the first list of that region holding the
 * video stops the clock. O(items) per response.
 *
 * @throws Error when the world has no recent, not-yet-popular video in any region (tiny worlds)
 */
export class ViralVideo {
  readonly video: number;
  readonly region: number;
  readonly #videoId: string;
  readonly #watchers: number[];
  readonly #spec: ViralSpec;
  readonly #seed: number;
  readonly #world: World;
  readonly #send: (events: StreamEvent[]) => void;
  #timer: NodeJS.Timeout | undefined;
  #firstEventMs: number | undefined;
  #seenMs: number | undefined;
  #queued = 0;
  #carry = 0;

  constructor(
    world: World,
    random: Random,
    seed: number,
    spec: ViralSpec,
    send: (events: StreamEvent[]) => void,
  ) {
    this.#world = world;
    this.#spec = spec;
    this.#seed = seed;
    this.#send = send;
    const pick = random.stream('loadtest.viral');
    const byRegion = REGIONS.map((_, r) => candidatesOf(world, r));
    const regions = byRegion.flatMap((c, r) => (c.length ? [r] : []));
    if (!regions.length) throw new Error('viral: no recent, not-yet-popular video in this world');
    this.region = regions[pick.int(regions.length)];
    const candidates = byRegion[this.region];
    this.video = candidates[pick.int(candidates.length)];
    this.#videoId = videoIdOf(this.video);
    // Distinct watchers of the video's region (partial Fisher–Yates over that region's users).
    const pool: number[] = [];
    for (let u = 0; u < world.config.users; u++) if (world.userRegion[u] === this.region) pool.push(u);
    const draw = random.stream('loadtest.viral.users');
    const n = Math.min(spec.users, pool.length);
    for (let i = 0; i < n; i++) {
      const j = i + draw.int(pool.length - i);
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    this.#watchers = pool.slice(0, n);
  }

  /** Starts sending at `atS` seconds from now (the phase's schedule start). */
  start(): void {
    this.#timer = setTimeout(() => {
      this.#firstEventMs = Date.now();
      this.#tick();
      this.#timer = setInterval(() => this.#tick(), 1000 / TICKS_PER_S);
    }, this.#spec.atS * 1000);
  }

  /** Stops sending (the phase is over). */
  stop(): void {
    clearTimeout(this.#timer);
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    this.#carry += this.#spec.eventsPerS / TICKS_PER_S;
    const n = Math.floor(this.#carry);
    this.#carry -= n;
    const events: StreamEvent[] = [];
    const now = Date.now();
    const watch = Math.round(this.#world.videoDurationS[this.video] * 0.8 * 10) / 10;
    for (let k = 0; k < n; k++) {
      const i = this.#queued++;
      const user = this.#watchers[i % this.#watchers.length];
      events.push({
        event_id: `evv_${this.#seed}_${user}_${i}`,
        type: 'watch',
        user_id: `u_${user}`,
        video_id: this.#videoId,
        region: REGIONS[this.region],
        watch_time_s: watch,
        timestamp_ms: now,
      });
    }
    if (events.length) this.#send(events);
  }

  /**
   * A 200 response served to a user of region index `region`, as the video indices of its items
   * (loadtest/served-response.ts `scanServed`). O(items); never throws.
   */
  observe(region: number, videos: ArrayLike<number>): void {
    if (this.#firstEventMs === undefined || this.#seenMs !== undefined || region !== this.region) return;
    for (let i = 0; i < videos.length; i++)
      if (videos[i] === this.video) {
        this.#seenMs = Date.now();
        return;
      }
  }

  outcome(): ViralOutcome {
    return {
      videoId: this.#videoId,
      region: REGIONS[this.region],
      users: this.#watchers.length,
      eventsQueued: this.#queued,
      firstEventAt: this.#firstEventMs === undefined ? null : new Date(this.#firstEventMs).toISOString(),
      timeToListS:
        this.#firstEventMs === undefined || this.#seenMs === undefined
          ? null
          : Math.round(this.#seenMs - this.#firstEventMs) / 1000,
    };
  }
}

/** Initial videos of region `r` uploaded in the last `RECENT_S` with a popularity below the region's median. */
function candidatesOf(world: World, r: number): number[] {
  const nowS = world.config.nowS;
  const inRegion: number[] = [];
  for (let v = 0; v < world.initialVideos; v++) if (world.videoRegion[v] === r) inRegion.push(v);
  if (!inRegion.length) return [];
  const pops = inRegion.map((v) => world.videoPopularity[v]).sort((a, b) => a - b);
  const median = pops[Math.floor(pops.length / 2)];
  return inRegion.filter(
    (v) => world.videoUploadTsS[v] >= nowS - RECENT_S && world.videoPopularity[v] < median,
  );
}
