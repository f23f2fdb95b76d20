/**
 * FeatureStore — user and video records (core/features/schema.ts) by id, in batches.
 * Real adapter: Redis MGET of binary records. Simulated adapter (sim/): latency/fault model over the
 * in-memory world.
 */
export interface FeatureStore {
  /** The user's record (`Float32Array` of USER_RECORD_LEN), or `undefined` if the user is unknown. */
  getUser(userId: string): Promise<Float32Array | undefined>;
  /**
   * Video records for `videos` (catalogue indices) in one round trip; entry i is `undefined` when
   * video i has no record. Throws on store failure.
   */
  getVideos(videos: readonly number[]): Promise<(Float32Array | undefined)[]>;
  /** Top `n` popular video indices of a region (`regionIdx`) or the whole world (`undefined`). */
  topPopular(regionIdx: number | undefined, n: number): Promise<{ video: number; score: number }[]>;
  /**
   * The store's load marker: the world hash its loader writes last (and deletes first) once a load is
   * complete, or `undefined` when the store holds no complete load (never loaded, flushed, restarted
   * empty, or a load in progress). Tells a new user (marker present, no record) from a store that
   * lost its data (no marker). Throws on store failure. Never cached by decorators.
   */
  loadMarker(): Promise<string | undefined>;
}
