/**
 * The live side of the cold-start scenario (issue 12): a wave of new users and a wave of new
 * uploads during a run, in a world whose models were trained on every user and video.
 *
 * - **New users** (a phase's `newUsers`): `users` distinct users drawn with the stream
 *   `loadtest.cold.users`. Before the core starts, their user record (`u:`) and subscriptions
 *   (`sub:`) are deleted; streaming keys do not exist yet. To the core they are sign-ups it has
 *   never seen: no record while the load marker is present → a cold start from the request's
 *   context (region), `full` with no reason (docs/fallback.md, "Missing data"). They are never
 *   asked for before their phase; from it on, `share` of the requests are theirs (cohort `cold`),
 *   the rest for the other users (cohort `warm`). Their ground truth is the world's, so the
 *   quality they get is scored like everyone's.
 * - **New uploads** (a phase's `uploads`): the world's `videos` newest videos that are not on the
 *   editorial list are held back: before the core starts their records (`v:`) are deleted and they
 *   are removed from the popularity sets and their creators' uploads (`upl:`), and the core is
 *   given a copy of the artifacts whose item embedding rows for them are NaN (never in an inner-
 *   product top k) and without content embeddings (see `prepareArtifacts`). Once announced, the
 *   core embeds each upload into its fresh index, and ranks it with that fresh embedding. From `atS`, over `overS` seconds, one
 *   batch a second, the runner writes each record (upload time = now, no views yet) and announces
 *   it with `POST /v1/videos/fresh` (the admin token), which embeds it into the core's fresh index
 *   and adds it to its creator's uploads.
 *
 * `observe` reads each served list: new-upload items (the phase's fresh-content share), those an
 * exploration slot placed (`exploration: true`), each upload's first appearance, and any held-back
 * video served before its upload (a leak: the hold-back failed).
 */
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { keys } from '../core/adapters/redis/keys.ts';
import { creatorIdOf } from '../core/adapters/redis/subscriptions.ts';
import { videoIdOf } from '../core/features/ids.ts';
import { encodeRecord, NUM_REGIONS, VIDEO_RECORD, VIDEO_RECORD_LEN } from '../core/features/schema.ts';
import type { Random, RandomStream } from '../core/ports/random.ts';
import type { Phase } from '../scenarios/define.ts';
import type { World } from '../sim/world/world.ts';

/**
 * Writes into `row` the mean `ctrLogit`, `watchShare` and `likeRate` of the videos of `creator` in
 * `videoRecords` (`Float32Array(videos × VIDEO_RECORD_LEN)`); leaves `row` as it is when the creator
 * has none.
 */
export function creatorEngagement(videoRecords: Float32Array, creator: number, row: Float32Array): void {
  const fields = [VIDEO_RECORD.ctrLogit, VIDEO_RECORD.watchShare, VIDEO_RECORD.likeRate] as const;
  const sums = [0, 0, 0];
  let n = 0;
  for (let o = 0; o < videoRecords.length; o += VIDEO_RECORD_LEN) {
    if (videoRecords[o + VIDEO_RECORD.creator] !== creator) continue;
    n++;
    fields.forEach((f, i) => {
      sums[i] += videoRecords[o + f];
    });
  }
  if (n > 0)
    fields.forEach((f, i) => {
      row[f] = sums[i] / n;
    });
}

/** Per phase: served items, those that are new uploads, and those an exploration slot placed. */
export interface UploadItems {
  items: number;
  uploadItems: number;
  explorationItems: number;
}

/** What the run result records (reports/model.ts `RunResult.coldStart`). */
export interface ColdStartOutcome {
  newUsers?: { phase: string; users: number; share: number };
  uploads?: {
    phase: string;
    /** Videos held back and to upload. */
    videos: number;
    /** Uploads the core accepted (202) and indexed. */
    indexed: number;
    /** Uploads whose write or announcement failed. */
    failed: number;
    /** Uploads that were in at least one served list. */
    served: number;
    /** Items of held-back videos served before their upload (must be 0). */
    leakedItems: number;
    /** Seconds from each upload's 202 to its first served list (sorted); null: never served. */
    timeToListS: { p50: number | null; p90: number | null; max: number | null; never: number };
    byPhase: Record<string, UploadItems & { freshContentShare: number; explorationShare: number }>;
  };
}

/** What the assertions read (scenarios/assertions.ts `RunMeasurements.uploads`). */
export interface UploadMeasurements {
  /** One entry per upload: seconds to its first served list, or null (never served). */
  timesToListS: (number | null)[];
  leakedItems: number;
  byPhase: Record<string, UploadItems>;
}

const NOT_HELD = 0;
const HELD = 1;
const WRITTEN = 2;
const ACCEPTED = 3;
/** The API's largest `video_ids` per POST /v1/videos/fresh (core/app.ts). */
const FRESH_BATCH_MAX = 100;
/** Announcements of a video the core reports missing, at most (1.5 s apart). */
const ANNOUNCE_ATTEMPTS = 3;

export class ColdStart {
  readonly newUsersPhase: number;
  readonly uploadsPhase: number;
  readonly #world: World;
  readonly #phases: readonly Phase[];
  readonly #newUsers: number[] = [];
  readonly #isNew: Uint8Array;
  readonly #held: number[] = [];
  readonly #state: Uint8Array;
  readonly #acceptedMs: Float64Array;
  readonly #firstServedMs: Float64Array;
  readonly #byPhase = new Map<string, UploadItems>();
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  #leaked = 0;
  #indexed = 0;
  #failed = 0;

  /**
   * @param editorial the editorial list's video indices (never held back: the last rung must be servable)
   * @throws Error when the world is too small for the waves
   */
  constructor(world: World, editorial: readonly number[], random: Random, phases: readonly Phase[]) {
    this.#world = world;
    this.#phases = phases;
    const { users, videos } = world.config;
    this.newUsersPhase = phases.findIndex((p) => p.newUsers);
    this.uploadsPhase = phases.findIndex((p) => p.uploads);
    this.#isNew = new Uint8Array(users);
    this.#state = new Uint8Array(videos);
    this.#acceptedMs = new Float64Array(videos);
    this.#firstServedMs = new Float64Array(videos);
    const wave = phases[this.newUsersPhase]?.newUsers;
    if (wave) {
      const draw = random.stream('loadtest.cold.users');
      const pool = Array.from({ length: users }, (_, u) => u);
      const n = Math.min(wave.users, users - 1);
      for (let i = 0; i < n; i++) {
        const j = i + draw.int(users - i);
        [pool[i], pool[j]] = [pool[j], pool[i]];
        this.#newUsers.push(pool[i]);
        this.#isNew[pool[i]] = 1;
      }
    }
    const up = phases[this.uploadsPhase]?.uploads;
    if (up) {
      const onEditorial = new Set(editorial);
      const byAge = Array.from({ length: Math.min(world.initialVideos, videos) }, (_, v) => v)
        .filter((v) => !onEditorial.has(v))
        .sort((a, b) => world.videoUploadTsS[b] - world.videoUploadTsS[a] || a - b);
      if (byAge.length < up.videos)
        throw new Error(`cold start: only ${byAge.length} videos can be held back`);
      for (const v of byAge.slice(0, up.videos)) {
        this.#held.push(v);
        this.#state[v] = HELD;
      }
    }
  }

  /** Whether the scenario has either wave. */
  get active(): boolean {
    return this.#newUsers.length > 0 || this.#held.length > 0;
  }

  /** The held-back videos (to upload), newest first. */
  get heldBack(): readonly number[] {
    return this.#held;
  }

  /** The new users. */
  get newUsers(): readonly number[] {
    return this.#newUsers;
  }

  /**
   * Deletes what the new users and the held-back videos have in Redis (see the file header). Call
   * after the world is loaded and before the core starts.
   */
  async prepareRedis(redisUrl: string): Promise<{ usersCleared: number; videosHeld: number }> {
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
    try {
      const p = redis.pipeline();
      for (const u of this.#newUsers) p.del(keys.user(`u_${u}`), keys.subscriptions(`u_${u}`));
      for (const v of this.#held) {
        const id = videoIdOf(v);
        p.del(keys.video(id));
        p.zrem(keys.popularityGlobal, id);
        for (let r = 0; r < NUM_REGIONS; r++) p.zrem(keys.popularityRegion(r), id);
        p.zrem(keys.creatorUploads(creatorIdOf(this.#world.videoCreator[v])), id);
      }
      const replies = await p.exec();
      const err = replies?.find(([e]) => e)?.[0];
      if (err) throw err;
    } finally {
      redis.disconnect();
    }
    return { usersCleared: this.#newUsers.length, videosHeld: this.#held.length };
  }

  /**
   * A copy of the artifacts directory `src` in `dst` for the core: every file linked, except the
   * item embeddings, written with the held-back rows NaN (FAISS's inner-product search never puts a
   * NaN score in its top k; a zero row did: most user–item products are negative, so the held-back
   * videos were every user's best two-tower candidates, measured), a prebuilt index (left out, so
   * the core builds its own from these rows) and the content embeddings (left out: a NaN row would
   * poison the profile of whoever watches the upload, a zero row would be retrieved; this core runs
   * without the content source). Returns `dst`.
   */
  async prepareArtifacts(src: string, dst: string): Promise<string> {
    await mkdir(dst, { recursive: true });
    const videos = this.#world.config.videos;
    for (const name of await readdir(src)) {
      if (name === 'index.faiss' || name === 'index-card.json' || name === 'content_embeddings.f32') continue;
      if (name === 'item_embeddings.f32') {
        const bytes = await readFile(join(src, name));
        const rows = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
        const dim = rows.length / videos;
        for (const v of this.#held) rows.fill(Number.NaN, v * dim, (v + 1) * dim);
        await writeFile(join(dst, name), bytes);
        continue;
      }
      await symlink(join(src, name), join(dst, name));
    }
    return dst;
  }

  /**
   * The user of the next request in phase `phaseIndex`: from the new users' phase on, a new user
   * with probability `share`, else one of the others (uniform); before it, never a new user.
   */
  userFor(rnd: RandomStream, phaseIndex: number): number {
    const users = this.#world.config.users;
    const wave = this.newUsersPhase >= 0 ? this.#phases[this.newUsersPhase].newUsers : undefined;
    if (wave && phaseIndex >= this.newUsersPhase && rnd.next() < wave.share)
      return this.#newUsers[rnd.int(this.#newUsers.length)];
    for (;;) {
      const u = rnd.int(users);
      if (!this.#isNew[u]) return u;
    }
  }

  /** `cold` for a new user from its wave's phase on, `warm` for the others then; undefined before. */
  cohortOf(phaseIndex: number, user: number): 'cold' | 'warm' | undefined {
    if (this.newUsersPhase < 0 || phaseIndex < this.newUsersPhase) return undefined;
    return this.#isNew[user] ? 'cold' : 'warm';
  }

  /**
   * Starts the uploads of the phase (call when its schedule starts): batches at `atS + k·overS/T`
   * (T = max(1, round(overS)) batches). Each batch: records written (upload time now, no views),
   * then `POST /v1/videos/fresh` in chunks of 100. Failures are counted and logged, never thrown.
   * @param videoRecords the world's video records (artifacts' `video_records.f32`)
   */
  startUploads(opts: {
    coreUrl: string;
    adminToken: string;
    redisUrl: string;
    videoRecords: Float32Array;
    log: (line: string) => void;
  }): void {
    const up = this.#phases[this.uploadsPhase]?.uploads;
    if (!up || this.#held.length === 0) return;
    const batches = Math.max(1, Math.round(up.overS));
    const n = this.#held.length;
    const redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
    redis.on('error', () => {});
    let done = 0;
    for (let k = 0; k < batches; k++) {
      const batch = this.#held.slice(Math.floor((k * n) / batches), Math.floor(((k + 1) * n) / batches));
      const atMs = (up.atS + (k * up.overS) / batches) * 1000;
      this.#timers.push(
        setTimeout(() => {
          const job = this.#upload(batch, opts, redis)
            .catch((err) => {
              this.#failed += batch.filter((v) => this.#state[v] !== ACCEPTED).length;
              opts.log(`cold start: upload of ${batch.length} videos failed: ${(err as Error).message}`);
            })
            .finally(() => {
              this.#inFlight.delete(job);
              if (++done === batches) redis.disconnect();
            });
          this.#inFlight.add(job);
        }, atMs),
      );
    }
  }

  async #upload(
    batch: number[],
    opts: { coreUrl: string; adminToken: string; videoRecords: Float32Array },
    redis: Redis,
  ): Promise<void> {
    const nowS = Date.now() / 1000;
    const p = redis.pipeline();
    const row = new Float32Array(VIDEO_RECORD_LEN);
    for (const v of batch) {
      row.set(opts.videoRecords.subarray(v * VIDEO_RECORD_LEN, (v + 1) * VIDEO_RECORD_LEN));
      row[VIDEO_RECORD.uploadTsS] = nowS;
      row[VIDEO_RECORD.logViews] = 0;
      // No history yet: its engagement is its creator's record (as records.ts gives a video
      // without impressions), here the mean over the creator's videos.
      creatorEngagement(opts.videoRecords, row[VIDEO_RECORD.creator], row);
      p.set(keys.video(videoIdOf(v)), encodeRecord(row));
    }
    const replies = await p.exec();
    const err = replies?.find(([e]) => e)?.[0];
    if (err) throw err;
    for (const v of batch) this.#state[v] = WRITTEN;
    // A video the core reported `missing` is announced again after the core's negative-cache TTL
    // (1 s, core/features/l1-feature-cache.ts): its record is written, the core may have cached
    // its absence from a read just before the write.
    let pending = batch;
    for (let attempt = 1; pending.length > 0; attempt++) {
      pending = await this.#announce(pending, opts, attempt === ANNOUNCE_ATTEMPTS);
      if (pending.length > 0) await new Promise((r) => setTimeout(r, 1_500));
    }
  }

  /** POST /v1/videos/fresh for `batch`; returns the videos reported missing (counted failed when `last`). */
  async #announce(
    batch: number[],
    opts: { coreUrl: string; adminToken: string },
    last: boolean,
  ): Promise<number[]> {
    const retry: number[] = [];
    for (let i = 0; i < batch.length; i += FRESH_BATCH_MAX) {
      const chunk = batch.slice(i, i + FRESH_BATCH_MAX);
      const res = await fetch(`${opts.coreUrl}/v1/videos/fresh`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${opts.adminToken}` },
        body: JSON.stringify({ video_ids: chunk.map(videoIdOf) }),
        signal: AbortSignal.timeout(5_000),
      });
      const body = (await res.json().catch(() => ({}))) as { indexed?: number; missing?: string[] };
      if (res.status !== 202) throw new Error(`POST /v1/videos/fresh: ${res.status} ${JSON.stringify(body)}`);
      const missing = new Set(body.missing ?? []);
      const at = Date.now();
      for (const v of chunk) {
        if (missing.has(videoIdOf(v))) {
          if (last) this.#failed++;
          else retry.push(v);
          continue;
        }
        this.#state[v] = ACCEPTED;
        this.#acceptedMs[v] = at;
        this.#indexed++;
      }
    }
    return retry;
  }

  /** Cancels uploads not started yet and waits for those under way. */
  async stopUploads(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.length = 0;
    await Promise.all([...this.#inFlight]);
  }

  /**
   * Reads one served list: `videos[0 … n − 1]` in served order, `body` the response (parsed only
   * when the list holds a new upload, for its `exploration` flags). O(n).
   */
  observe(phase: string, videos: ArrayLike<number>, n: number, body: string): void {
    if (this.#held.length === 0) return;
    let counts = this.#byPhase.get(phase);
    if (!counts) {
      counts = { items: 0, uploadItems: 0, explorationItems: 0 };
      this.#byPhase.set(phase, counts);
    }
    counts.items += n;
    let uploads = 0;
    const now = Date.now();
    for (let i = 0; i < n; i++) {
      const v = videos[i];
      const s = this.#state[v];
      if (s === NOT_HELD) continue;
      if (s === HELD) {
        this.#leaked++;
        continue;
      }
      uploads++;
      if (this.#firstServedMs[v] === 0) this.#firstServedMs[v] = now;
    }
    if (uploads === 0) return;
    counts.uploadItems += uploads;
    try {
      const parsed = JSON.parse(body) as { items?: { video_id?: unknown; exploration?: unknown }[] };
      for (const item of parsed.items ?? []) {
        if (item.exploration !== true || typeof item.video_id !== 'string') continue;
        const v = Number(item.video_id.slice(2));
        if (this.#state[v] === WRITTEN || this.#state[v] === ACCEPTED) counts.explorationItems++;
      }
    } catch {
      // A body that does not parse was already counted unreadable by the quality recorder.
    }
  }

  /** What the assertions read. */
  measurements(): UploadMeasurements {
    return {
      timesToListS: this.#held.map((v) => this.#timeToListS(v)),
      leakedItems: this.#leaked,
      byPhase: Object.fromEntries(this.#byPhase),
    };
  }

  #timeToListS(v: number): number | null {
    if (this.#state[v] !== ACCEPTED || this.#firstServedMs[v] === 0) return null;
    return Math.max(0, Math.round(this.#firstServedMs[v] - this.#acceptedMs[v]) / 1000);
  }

  outcome(): ColdStartOutcome {
    const out: ColdStartOutcome = {};
    const wave = this.#phases[this.newUsersPhase];
    if (wave?.newUsers)
      out.newUsers = { phase: wave.name, users: this.#newUsers.length, share: wave.newUsers.share };
    const up = this.#phases[this.uploadsPhase];
    if (up?.uploads) {
      const times = this.#held.map((v) => this.#timeToListS(v));
      const seen = times.filter((t): t is number => t !== null).sort((a, b) => a - b);
      const pct = (q: number): number | null => {
        // Never-served uploads count as +∞: the percentile is null once it falls among them.
        const i = Math.ceil(q * times.length) - 1;
        return i < seen.length ? seen[Math.max(0, i)] : null;
      };
      out.uploads = {
        phase: up.name,
        videos: this.#held.length,
        indexed: this.#indexed,
        failed: this.#failed,
        served: seen.length,
        leakedItems: this.#leaked,
        timeToListS: {
          p50: pct(0.5),
          p90: pct(0.9),
          max: seen.length === times.length ? (seen.at(-1) ?? null) : null,
          never: times.length - seen.length,
        },
        byPhase: Object.fromEntries(
          [...this.#byPhase].map(([phase, c]) => [
            phase,
            {
              ...c,
              freshContentShare: c.items ? round4(c.uploadItems / c.items) : 0,
              explorationShare: c.uploadItems ? round4(c.explorationItems / c.uploadItems) : 0,
            },
          ]),
        ),
      };
    }
    return out;
  }
}

const round4 = (x: number) => Math.round(x * 10_000) / 10_000;
