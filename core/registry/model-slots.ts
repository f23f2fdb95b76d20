import { ReclabError } from '../errors.ts';
import type { ModelSet } from '../pipeline/recommend.ts';
import { carryOverFresh, type FreshCarryOver, FreshIndex } from '../retrieval/fresh-index.ts';

/** A model set the slots can free once no request uses it (ONNX sessions, index). */
export interface SwappableModelSet extends ModelSet {
  release(): Promise<void>;
}

/** A request's hold on one model set: use `models` for the whole request, then `release()` once. */
export interface ModelLease<S extends ModelSet> {
  readonly models: S;
  release(): void;
}

/** One completed activation or rollback. Durations in ms (wall clock, `performance.now()`). */
export interface SwapRecord {
  kind: 'activate' | 'rollback';
  from: string;
  to: string;
  /** Loading the new set (files, ONNX sessions, ANN index build); 0 when it was already loaded. */
  loadMs: number;
  /** Warm-up of the new set before it took traffic; 0 when it was already warm. */
  warmMs: number;
  /** The atomic swap itself (one reference assignment plus bookkeeping). */
  swapMs: number;
  /**
   * Fresh uploads of the outgoing set re-embedded into the new one before the swap (activations that
   * loaded a set; `ms` is included in neither loadMs nor warmMs).
   */
  fresh?: FreshCarryOver & { ms: number };
  /** Unix ms when the new set took traffic. */
  atMs: number;
}

/** What the slots report to the log / metrics. */
export type SlotEvent =
  | { event: 'model_swap'; swap: SwapRecord }
  | { event: 'model_load_failed'; version: string; code: string; message: string }
  | { event: 'model_released'; version: string; error?: string };

export interface ModelSlotsOptions<S extends SwappableModelSet> {
  /**
   * Loads `version` into a new set (the standby slot).
   * @throws ReclabError RECLAB_ERR_MODEL_VERSION_UNKNOWN / RECLAB_ERR_MODEL_REGISTRY_UNSET, passed
   *   through; anything else becomes RECLAB_ERR_MODEL_LOAD_FAILED
   */
  load(version: string): Promise<S>;
  /** Warms a freshly loaded set before it takes traffic (core/registry/warm-up.ts). */
  warmUp(set: S): Promise<unknown>;
  /**
   * Runs after warm-up, right before the swap: brings state of the active set `from` that the new
   * set must start with into `into`. Default `carryFreshUploads` (the fresh uploads, re-embedded by
   * the new version's item tower); `async () => undefined` for none. A failure fails the activation like a load
   * failure (RECLAB_ERR_MODEL_LOAD_FAILED; the active set is untouched).
   */
  carryOver?(from: S, into: S): Promise<FreshCarryOver | undefined>;
  onEvent?(e: SlotEvent): void;
  /** Unix ms, for `SwapRecord.atMs` (default `Date.now`). */
  nowMs?: () => number;
}

interface Slot<S> {
  set: S;
  inFlight: number;
  retired: boolean;
  released: boolean;
}

const PASS_THROUGH = new Set(['RECLAB_ERR_MODEL_VERSION_UNKNOWN', 'RECLAB_ERR_MODEL_REGISTRY_UNSET']);
const SWAPS_KEPT = 20;

/**
 * Blue/green model serving (seed 000 §7, "Zero-Downtime Model Swap"): an active slot serving
 * traffic and a standby slot. `activate(v)` loads `v` into a new set and warms it while the active
 * set keeps serving, then swaps atomically: one reference assignment, so every request sees either
 * the old set or the new one, never a mix (a request takes its set once, with `acquire()`, and keeps
 * it to the end). The replaced set stays in standby for `rollback()`, which is the same swap in the
 * other direction and needs no load. A set pushed out of both slots is retired: its sessions are
 * released when its last in-flight request ends (or at once when none is in flight).
 *
 * One swap at a time: a second `activate`/`rollback` while one is loading fails with
 * RECLAB_ERR_MODEL_SWAP_IN_PROGRESS (409) instead of queueing behind a slow load.
 */
export class ModelSlots<S extends SwappableModelSet> {
  #active: Slot<S>;
  #standby: Slot<S> | undefined;
  #busy = false;
  readonly #swaps: SwapRecord[] = [];
  #swapCount = 0;
  readonly #opts: ModelSlotsOptions<S>;

  constructor(initial: S, opts: ModelSlotsOptions<S>) {
    this.#active = { set: initial, inFlight: 0, retired: false, released: false };
    this.#opts = opts;
  }

  /** The set new requests get. */
  get active(): S {
    return this.#active.set;
  }

  /** The set a rollback would return to, if any. */
  get standby(): S | undefined {
    return this.#standby?.set;
  }

  /** True while an activation is loading or warming. */
  get busy(): boolean {
    return this.#busy;
  }

  /** Activations and rollbacks since start (the recent ones are in `status().swaps`). */
  get swapCount(): number {
    return this.#swapCount;
  }

  /** Takes the active set for one request. Call `release()` exactly once when the request ends. */
  acquire(): ModelLease<S> {
    const slot = this.#active;
    slot.inFlight++;
    let done = false;
    return {
      models: slot.set,
      release: () => {
        if (done) return;
        done = true;
        slot.inFlight--;
        if (slot.retired && slot.inFlight === 0) this.#free(slot);
      },
    };
  }

  /**
   * Makes `version` the active set: a no-op if it is active, a swap if it is in standby, otherwise
   * load → warm up → swap; the active set moves to standby and the old standby is retired.
   * @throws ReclabError RECLAB_ERR_MODEL_SWAP_IN_PROGRESS, RECLAB_ERR_MODEL_VERSION_UNKNOWN,
   *   RECLAB_ERR_MODEL_REGISTRY_UNSET, RECLAB_ERR_MODEL_LOAD_FAILED (the active set is untouched)
   */
  async activate(version: string): Promise<SwapRecord> {
    if (this.#busy) throw new ReclabError('RECLAB_ERR_MODEL_SWAP_IN_PROGRESS', `while activating ${version}`);
    const from = this.#active.set.modelVersion;
    if (version === from) {
      return { kind: 'activate', from, to: version, loadMs: 0, warmMs: 0, swapMs: 0, atMs: this.#now() };
    }
    if (this.#standby && this.#standby.set.modelVersion === version) return this.#swap('activate', 0, 0);
    this.#busy = true;
    try {
      const t0 = performance.now();
      let set: S;
      try {
        set = await this.#opts.load(version);
      } catch (err) {
        throw this.#loadFailed(version, err);
      }
      const t1 = performance.now();
      try {
        await this.#opts.warmUp(set);
      } catch (err) {
        await set.release().catch(() => {});
        throw this.#loadFailed(version, err);
      }
      const t2 = performance.now();
      const carryOver = this.#opts.carryOver?.bind(this.#opts) ?? carryFreshUploads;
      let fresh: SwapRecord['fresh'];
      try {
        const carried = await carryOver(this.#active.set, set);
        if (carried) fresh = { ...carried, ms: Math.round((performance.now() - t2) * 1000) / 1000 };
      } catch (err) {
        await set.release().catch(() => {});
        throw this.#loadFailed(version, err);
      }
      // No await between the carry-over's last check and the swap: an upload announced meanwhile
      // is either carried or lands on the new set (indexFreshUploads).
      const old = this.#standby;
      this.#standby = { set, inFlight: 0, retired: false, released: false };
      const record = this.#swap('activate', t1 - t0, t2 - t1, fresh);
      if (old) this.#retire(old);
      return record;
    } finally {
      this.#busy = false;
    }
  }

  /**
   * Swaps the active and standby sets back (seed 000 §7: "Old model is still in standby slot").
   * @throws ReclabError RECLAB_ERR_MODEL_NO_PREVIOUS, RECLAB_ERR_MODEL_SWAP_IN_PROGRESS
   */
  rollback(): SwapRecord {
    if (this.#busy) throw new ReclabError('RECLAB_ERR_MODEL_SWAP_IN_PROGRESS', 'rollback');
    if (!this.#standby) throw new ReclabError('RECLAB_ERR_MODEL_NO_PREVIOUS');
    return this.#swap('rollback', 0, 0);
  }

  /** Active and standby versions with in-flight counts, and the recent swaps (newest last). */
  status(): {
    active: { version: string; inFlight: number };
    standby: { version: string; inFlight: number } | null;
    swapping: boolean;
    swapCount: number;
    swaps: SwapRecord[];
  } {
    const view = (s: Slot<S>) => ({ version: s.set.modelVersion, inFlight: s.inFlight });
    return {
      active: view(this.#active),
      standby: this.#standby ? view(this.#standby) : null,
      swapping: this.#busy,
      swapCount: this.#swapCount,
      swaps: [...this.#swaps],
    };
  }

  /** Releases both slots' sets (at shutdown, after requests in flight have finished). */
  async close(): Promise<void> {
    const pending: Promise<void>[] = [];
    for (const s of [this.#active, this.#standby]) {
      if (!s || s.released) continue;
      s.released = true;
      pending.push(s.set.release());
    }
    await Promise.all(pending);
  }

  /** Exchanges active and standby (standby must be set). */
  #swap(kind: SwapRecord['kind'], loadMs: number, warmMs: number, fresh?: SwapRecord['fresh']): SwapRecord {
    const t0 = performance.now();
    const next = this.#standby!;
    this.#standby = this.#active;
    this.#active = next; // the atomic step: requests acquired from here on get `next`
    const swapMs = performance.now() - t0;
    const r3 = (x: number) => Math.round(x * 1000) / 1000;
    const record: SwapRecord = {
      kind,
      from: this.#standby.set.modelVersion,
      to: next.set.modelVersion,
      loadMs: r3(loadMs),
      warmMs: r3(warmMs),
      swapMs: r3(swapMs),
      atMs: this.#now(),
      ...(fresh ? { fresh } : {}),
    };
    this.#swapCount++;
    this.#swaps.push(record);
    if (this.#swaps.length > SWAPS_KEPT) this.#swaps.shift();
    this.#opts.onEvent?.({ event: 'model_swap', swap: record });
    return record;
  }

  #retire(slot: Slot<S>): void {
    slot.retired = true;
    if (slot.inFlight === 0) this.#free(slot);
  }

  #free(slot: Slot<S>): void {
    if (slot.released) return;
    slot.released = true;
    const version = slot.set.modelVersion;
    slot.set.release().then(
      () => this.#opts.onEvent?.({ event: 'model_released', version }),
      (err) => this.#opts.onEvent?.({ event: 'model_released', version, error: (err as Error).message }),
    );
  }

  #loadFailed(version: string, err: unknown): ReclabError {
    const e =
      err instanceof ReclabError && PASS_THROUGH.has(err.code)
        ? err
        : new ReclabError('RECLAB_ERR_MODEL_LOAD_FAILED', `${version}: ${(err as Error).message}`, {
            cause: err,
          });
    if (e.code === 'RECLAB_ERR_MODEL_LOAD_FAILED') {
      this.#opts.onEvent?.({ event: 'model_load_failed', version, code: e.code, message: e.message });
    }
    return e;
  }

  #now(): number {
    return (this.#opts.nowMs ?? Date.now)();
  }
}

/**
 * The default `carryOver`: when both sets have a `FreshIndex` and the new one an item tower, the
 * fresh uploads of `from` (with their kept item-tower inputs) re-embedded by `into`'s item tower
 * (core/retrieval/fresh-index.ts `carryOverFresh`); otherwise nothing.
 */
export async function carryFreshUploads(from: ModelSet, into: ModelSet): Promise<FreshCarryOver | undefined> {
  if (!(from.fresh instanceof FreshIndex) || !(into.fresh instanceof FreshIndex) || !into.itemEncoder) {
    return undefined;
  }
  return carryOverFresh(from.fresh, into.fresh, into.itemEncoder);
}

/**
 * Indexes fresh uploads (`POST /v1/videos/fresh`): embeds `features` (`n × VIDEO_FEATURE_DIM`
 * item-tower input rows of `videos`) with the item tower of `leased` (the set the request took) and
 * adds them, with their features, to its fresh index; then does the same for the sets that hold the
 * slots now, each with its own tower: the active set, when a swap happened while this request
 * embedded (its carry-over may have run before this add), and the standby set, so a rollback also
 * finds the video. Sets without a fresh index or item tower are skipped.
 * @returns the versions that indexed the videos, leased set first
 * @throws whatever the item towers throw
 */
export async function indexFreshUploads<S extends SwappableModelSet>(
  slots: ModelSlots<S>,
  leased: S,
  videos: readonly number[],
  features: Float32Array,
): Promise<string[]> {
  const done: string[] = [];
  const seen = new Set<ModelSet>();
  for (const set of [leased, slots.active, slots.standby]) {
    if (!set || seen.has(set)) continue;
    seen.add(set);
    const { fresh, itemEncoder } = set;
    if (!fresh || !itemEncoder || videos.length === 0) continue;
    const emb = await itemEncoder.encodeBatch(features, videos.length);
    const dim = emb.length / videos.length;
    const featureDim = features.length / videos.length;
    for (let i = 0; i < videos.length; i++) {
      (fresh as FreshIndex).add(
        videos[i]!,
        emb.subarray(i * dim, (i + 1) * dim),
        features.subarray(i * featureDim, (i + 1) * featureDim),
      );
    }
    done.push(set.modelVersion);
  }
  return done;
}
