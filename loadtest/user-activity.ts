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
  /** Events accepted by the core (202), each counted once. */
  sent: number;
  /** Events given up: refused for good (a 4xx), or still refused after `retriesMax` retries. */
  failed: number;
  /** Events dropped because the buffer was full (the core was slower than the users). */
  dropped: number;
  /** Batches sent again after a 503 (with its `Retry-After`), a timeout or a connection error. */
  retried: number;
}

export interface UserActivityOptions {
  /** Events per POST /v1/events (the route accepts 1..500). Default 200. */
  batchMax?: number;
  /** Body bytes per POST at most (the core's body limit is 16 KiB). Default 12 KiB. */
  batchMaxBytes?: number;
  /** How often the buffer is flushed, ms. Default 200. */
  flushEveryMs?: number;
  /** Events held at most; beyond, new ones are dropped and counted. Default 20 000. */
  bufferMax?: number;
  /** POSTs in flight at most. Default 2. */
  inFlightMax?: number;
  /** Retries of one batch after a 503, a timeout or a connection error; then it fails. Default 8. */
  retriesMax?: number;
  /** Longest wait before a retry, s, whatever `Retry-After` says. Default 10. */
  retryAfterMaxS?: number;
}

/**
 * One event as it goes on the wire: serialized once when it is made (its JSON, as `JSON.stringify`
 * writes the event) with its id and its length in bytes.
 */
interface WireEvent {
  id: string;
  json: string;
  bytes: number;
}

/** A batch waiting to be (re)sent: its events, its retries so far, and when it may go. */
interface Batch {
  events: WireEvent[];
  attempt: number;
  notBeforeMs: number;
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
 * Events are buffered and sent in batches on a timer (at most `batchMax` events and `batchMaxBytes`
 * of body), at most `inFlightMax` POSTs at once, never on the load driver's path; a full buffer
 * drops events and counts them. Event ids are `ev_<seed>_<user>_<n>`: unique per run and user, so
 * the consumer's dedupe holds.
 *
 * Retry contract (docs/streaming.md, "Retry contract"): a 503 is retried after its `Retry-After`
 * (at most `retryAfterMaxS`), a timeout or connection error after 1 s, each batch at most
 * `retriesMax` times, with the very same events — idempotent by `event_id`, since the core's consumer
 * applies an id once. Any other non-202 (a 4xx) fails the batch for good. Retried batches go before
 * new ones, so each user's events keep their order. `acceptedIds()` is every event id a 202 covered:
 * the run checks each of them on the topic.
 */
export class SimulatedUserActivity {
  readonly #behavior: BehaviorModel;
  readonly #sessions = new Map<number, BehaviorSession>();
  readonly #world: World;
  readonly #seed: number;
  readonly #pool: Pool;
  readonly #o: Required<UserActivityOptions>;
  readonly #buffer: WireEvent[] = [];
  /** Batches to send again, oldest first. */
  readonly #retries: Batch[] = [];
  readonly #accepted = new Set<string>();
  readonly #stats: UserActivityStats = { lists: 0, sent: 0, failed: 0, dropped: 0, retried: 0 };
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
      batchMaxBytes: opts.batchMaxBytes ?? 12 * 1024,
      retriesMax: opts.retriesMax ?? 8,
      retryAfterMaxS: opts.retryAfterMaxS ?? 10,
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
    this.reactVideos(user, ranked);
  }

  /**
   * Starts the behaviour sessions of `users` that have none yet (issue 10: before a measured phase,
   * for the users its requests will be for, so the keyed streams are not derived during the phase).
   * A session is the same whenever it is started: this changes no response. Never throws for a
   * user index of the world.
   */
  prepare(users: Iterable<number>): void {
    for (const u of users) this.#session(u);
  }

  #session(user: number): BehaviorSession {
    let session = this.#sessions.get(user);
    if (!session) {
      session = this.#behavior.session(user, user);
      this.#sessions.set(user, session);
    }
    return session;
  }

  /**
   * User `user` reacts to a list already read into video indices (unknown ids left out; empty:
   * ignored). `ranked` is not kept. Never throws.
   */
  reactVideos(user: number, ranked: ArrayLike<number>): void {
    if (this.#closed || ranked.length === 0) return;
    const session = this.#session(user);
    const r = session.respond(ranked);
    this.#stats.lists++;
    if (r.clickedVideo < 0) return;
    // The events' common fields serialized once; each event is `JSON.stringify` of
    // { ...base, event_id, type[, watch_time_s] }, written out.
    const head = JSON.stringify({
      user_id: `u_${user}`,
      video_id: videoIdOf(r.clickedVideo),
      region: REGIONS[this.#world.userRegion[user]],
      timestamp_ms: Date.now(),
    }).slice(0, -1);
    const id = `ev_${this.#seed}_${user}_${session.listsSeen}`;
    this.#pushWire(`${id}_c`, `${head},"event_id":"${id}_c","type":"click"}`);
    this.#pushWire(
      `${id}_w`,
      `${head},"event_id":"${id}_w","type":"watch","watch_time_s":${JSON.stringify(Math.round(r.watchTimeS * 10) / 10)}}`,
    );
    if (r.liked) this.#pushWire(`${id}_l`, `${head},"event_id":"${id}_l","type":"like"}`);
  }

  /**
   * Queues events made elsewhere (the viral video's watchers, loadtest/viral-video.ts) on the same
   * bounded buffer, batching and retry contract. Never throws; a full buffer drops and counts.
   */
  send(events: readonly StreamEvent[]): void {
    if (this.#closed) return;
    for (const e of events) this.#pushWire(e.event_id, JSON.stringify(e));
  }

  #pushWire(id: string, json: string): void {
    if (this.#buffer.length >= this.#o.bufferMax) {
      this.#stats.dropped++;
      return;
    }
    this.#buffer.push({ id, json, bytes: Buffer.byteLength(json) });
  }

  /** Every event id the core accepted (202), for the run's check on the events topic. */
  acceptedIds(): ReadonlySet<string> {
    return this.#accepted;
  }

  #flush(): void {
    while (this.#inFlight.size < this.#o.inFlightMax) {
      const batch = this.#nextBatch();
      if (!batch) return;
      const p = this.#post(batch).finally(() => this.#inFlight.delete(p));
      this.#inFlight.add(p);
    }
  }

  /** A retry that is due, else a new batch from the buffer (bounded by count and bytes). */
  #nextBatch(): Batch | undefined {
    if (this.#retries.length > 0) {
      // Retries first and in order: a user's later events must not overtake earlier ones.
      return this.#retries[0].notBeforeMs <= Date.now() ? this.#retries.shift() : undefined;
    }
    if (this.#buffer.length === 0) return undefined;
    let bytes = 2; // []
    let n = 0;
    while (n < Math.min(this.#o.batchMax, this.#buffer.length)) {
      const b = this.#buffer[n].bytes + 1;
      if (n > 0 && bytes + b > this.#o.batchMaxBytes) break;
      bytes += b;
      n++;
    }
    return { events: this.#buffer.splice(0, n), attempt: 0, notBeforeMs: 0 };
  }

  async #post(batch: Batch): Promise<void> {
    let retryAfterS: number | undefined;
    try {
      const res = await this.#pool.request({
        method: 'POST',
        path: '/v1/events',
        headers: { 'content-type': 'application/json' },
        // `JSON.stringify(events)`, from each event's own serialization.
        body: `[${batch.events.map((e) => e.json).join(',')}]`,
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      });
      await res.body.dump();
      if (res.statusCode === 202) {
        for (const e of batch.events) {
          if (!this.#accepted.has(e.id)) {
            this.#accepted.add(e.id);
            this.#stats.sent++;
          }
        }
        return;
      }
      if (res.statusCode !== 503) {
        this.#stats.failed += batch.events.length; // a 4xx: the same request would fail again
        return;
      }
      retryAfterS = Number(res.headers['retry-after']);
      if (!Number.isFinite(retryAfterS) || retryAfterS < 0) retryAfterS = 1;
    } catch {
      retryAfterS = 1; // timeout or connection error: the core may or may not have the events
    }
    if (batch.attempt >= this.#o.retriesMax) {
      this.#stats.failed += batch.events.length;
      return;
    }
    this.#stats.retried++;
    const waitMs = Math.min(retryAfterS, this.#o.retryAfterMaxS) * 1000;
    const retry = { events: batch.events, attempt: batch.attempt + 1, notBeforeMs: Date.now() + waitMs };
    // Oldest batch first among the retries.
    const at = this.#retries.findIndex((r) => r.notBeforeMs > retry.notBeforeMs);
    if (at < 0) this.#retries.push(retry);
    else this.#retries.splice(at, 0, retry);
  }

  /**
   * Sends what is buffered, retries included (waiting at most `timeoutMs`), then stops; what is
   * left counts as dropped (never sent) or failed (retries not done). Idempotent.
   */
  async close(timeoutMs = 30_000): Promise<UserActivityStats> {
    if (!this.#closed) {
      this.#closed = true;
      clearInterval(this.#timer);
      const deadline = Date.now() + timeoutMs;
      const busy = () => this.#buffer.length > 0 || this.#retries.length > 0 || this.#inFlight.size > 0;
      while (busy() && Date.now() < deadline) {
        this.#flush();
        await Promise.race([...this.#inFlight, new Promise((r) => setTimeout(r, 50))]);
      }
      this.#stats.dropped += this.#buffer.splice(0).length;
      for (const r of this.#retries.splice(0)) this.#stats.failed += r.events.length;
      await this.#pool.close();
    }
    return { ...this.#stats };
  }
}
