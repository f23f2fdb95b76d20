/**
 * Redis key design of the feature store. One place so the loader (lab) and the core agree.
 *
 * Keys are plain strings today; for Redis Cluster, MGET over many video keys would need one hash
 * slot per call (or one MGET per slot) — batching by slot belongs to the cluster adapter.
 */
export const keys = {
  /** Binary user record; `userId` is the public id, e.g. `u_42` (core/features/schema.ts USER_RECORD). */
  user: (userId: string) => `u:${userId}`,
  /** Binary video record; `videoId` is the public id `v_<index>` (core/features/schema.ts VIDEO_RECORD). */
  video: (videoId: string) => `v:${videoId}`,
  /** Sorted set: member = public video id (`v_<index>`), score = popularity; whole world. */
  popularityGlobal: 'pop:global',
  /** Sorted set: video id → popularity score within a region. */
  popularityRegion: (regionIdx: number) => `pop:r:${regionIdx}`,
  /** String: the world hash the loaded data came from (readiness check). */
  worldHash: 'meta:world_hash',
} as const;
