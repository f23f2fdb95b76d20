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
}
