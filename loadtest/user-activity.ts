import { Pool } from 'undici';
import { videoIdOf } from '../core/features/ids.ts';
import { REGIONS } from '../core/features/schema.ts';
import { seededRandom } from '../core/random/seeded-random.ts';
import type { StreamEvent } from '../core/streaming/events.ts';
import { type BehaviorModel, type BehaviorSession, createBehaviorModel } from '../sim/behavior/index.ts';
import { servedVideos } from '../sim/quality/served-items.ts';
import type { World } from '../sim/world/world.ts';
import type { ServedResponse } from './served-response.ts';

/** Counters of the simulated users' events, for the run report. */
export interface UserActivityStats {
  /** Lists the simulated users reacted to. */
  lists: number;
  /** Events accepted by the core (202). */
  sent: number;
  /** Events in batches the core refused (non-202) or that did not reach it. */
  failed: number;
  /** Events dropped because the buffer was full (the core was slower than the users). */
  dropped: number;
}

export interface UserActivityOptions {
  /** Events per POST /v1/events (the route accepts 1..500). Default 200. */
  batchMax?: number;
  /** How often the buffer is flushed, ms. Default 200. */
  flushEveryMs?: number;
  /** Events held at most; beyond, new ones are dropped and counted. Default 20 000. */
  bufferMax?: number;
  /** POSTs in flight at most. Default 2. */
  inFlightMax?: number;
}

/**
 * The lab's simulated users acting on what they were served (issue 5, "the lab's simulated users
 * send these events through an event endpoint"): for each list a user gets, the ground-truth
 * behaviour model (sim/behavior, docs/behavior-model.md) decides the click, watch time and like,
 * and the matching `click`, `watch` and `like` events go to the core's `POST /v1/events` — so the
 * streaming features (already-watched filter, trending, recent watches for content retrieval) live
 * off the same users the scenario measures. One keyed behaviour session per user
 * (`behavior.<part>/<user>` streams), so the events do not depend on the order responses arrive in.
 *
 * Events are buffered and sent in batches on a timer, at most `inFlightMax` POSTs at once, never on
 * the load driver's path; a full buffer drops events and counts them. Event ids are
 * `ev_<seed>_<user>_<n>`: unique per run and user, so the consumer's dedupe holds.
 */
export class SimulatedUserActivity {
  readonly #behavior: BehaviorModel;
  readonly #sessions = new Map<number, BehaviorSession>();
  readonly #world: World;
  readonly #seed: number;
  readonly #pool: Pool;
  readonly #o: Required<UserActivityOptions>;
  readonly #buffer: StreamEvent[] = [];
  readonly #stats: UserActivityStats = { lists: 0, sent: 0, failed: 0, dropped: 0 };
  readonly #inFlight = new Set<Promise<void>>();
  readonly #timer: NodeJS.Timeout;
  #closed = false;

  constructor(world: World, seed: number, coreUrl: string, opts: UserActivityOptions = {}) {
    this.#world = world;
    this.#seed = seed;
    this.#behavior = createBehaviorModel(world, seededRandom(seed));
    this.#pool = new Pool(new URL(coreUrl).origin, { connections: 2 });
    this.#o = {
      batchMax: opts.batchMax ?? 200,
      flushEveryMs: opts.flushEveryMs ?? 200,
      bufferMax: opts.bufferMax ?? 20_000,
      inFlightMax: opts.inFlightMax ?? 2,
    };
    this.#timer = setInterval(() => this.#flush(), this.#o.flushEveryMs);
  }

  /**
   * User `user` reacts to a parsed 200 response (undefined or unknown video ids: ignored). Never throws.
   */
  react(user: number, parsed: ServedResponse | undefined): void {
    if (this.#closed || !parsed) return;
    const { videos: ranked } = servedVideos(this.#world, Array.isArray(parsed.items) ? parsed.items : []);
    if (ranked.length === 0) return;
    let session = this.#sessions.get(user);
    if (!session) {
      session = this.#behavior.session(user, user);
      this.#sessions.set(user, session);
    }
    const r = session.respond(ranked);
    this.#stats.lists++;
    if (r.clickedVideo < 0) return;
    const base = {
      user_id: `u_${user}`,
      video_id: videoIdOf(r.clickedVideo),
      region: REGIONS[this.#world.userRegion[user]],
      timestamp_ms: Date.now(),
    };
    const id = `ev_${this.#seed}_${user}_${session.listsSeen}`;
    this.#push({ ...base, event_id: `${id}_c`, type: 'click' });
    this.#push({
      ...base,
      event_id: `${id}_w`,
      type: 'watch',
      watch_time_s: Math.round(r.watchTimeS * 10) / 10,
    });
    if (r.liked) this.#push({ ...base, event_id: `${id}_l`, type: 'like' });
  }

  #push(e: StreamEvent): void {
    if (this.#buffer.length >= this.#o.bufferMax) {
      this.#stats.dropped++;
      return;
    }
    this.#buffer.push(e);
  }

  #flush(): void {
    while (this.#buffer.length > 0 && this.#inFlight.size < this.#o.inFlightMax) {
      const batch = this.#buffer.splice(0, this.#o.batchMax);
      const p = this.#pool
        .request({
          method: 'POST',
          path: '/v1/events',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(batch),
          headersTimeout: 10_000,
          bodyTimeout: 10_000,
        })
        .then(async (res) => {
          await res.body.dump();
          if (res.statusCode === 202) this.#stats.sent += batch.length;
          else this.#stats.failed += batch.length;
        })
        .catch(() => {
          this.#stats.failed += batch.length;
        })
        .finally(() => this.#inFlight.delete(p));
      this.#inFlight.add(p);
    }
  }

  /** Sends what is buffered (waiting at most `timeoutMs`), then stops. Idempotent. */
  async close(timeoutMs = 10_000): Promise<UserActivityStats> {
    if (!this.#closed) {
      this.#closed = true;
      clearInterval(this.#timer);
      const deadline = Date.now() + timeoutMs;
      while ((this.#buffer.length > 0 || this.#inFlight.size > 0) && Date.now() < deadline) {
        this.#flush();
        await Promise.race([...this.#inFlight, new Promise((r) => setTimeout(r, 50))]);
      }
      this.#stats.dropped += this.#buffer.splice(0).length;
      await this.#pool.close();
    }
    return { ...this.#stats };
  }
}
