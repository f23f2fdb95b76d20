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
  /** Set: video ids (`v_<index>`) blocked by policy; the re-ranking filter never serves them (core/pipeline/policy-blocklist.ts). */
  policyBlocked: 'policy:blocked',

  // --- Streaming (real-time) features, written by core/streaming/event-consumer.ts and read by
  // core/adapters/redis/realtime-features.ts (docs/streaming.md). Members are public video ids. ---

  /** List: the user's last N watched video ids (`v_<index>`), newest first (LPUSH + LTRIM). */
  recentWatches: (userId: string) => `rt:rw:${userId}`,
  /** Hash: the user's current session, fields `watch|click|like|impression` (counts), `start` (ms); 30-min idle TTL. */
  session: (userId: string) => `rt:sess:${userId}`,
  /** Hash: views of one video per minute within one hour; field = epoch minute, value = count; TTL 2 h. */
  viewCounts: (videoId: string, epochHour: number) => `rt:vc:${videoId}:${epochHour}`,
  /** String (SET NX EX): marks an event id as applied, for at-least-once dedupe. */
  eventSeen: (eventId: string) => `rt:ev:${eventId}`,
  /** Sorted set: merged trending score (≈ decayed views per minute) over the whole world. Hash-tagged for Cluster. */
  trendingGlobal: 'rt:tr:{g}',
  /** Sorted set: views per video in one epoch minute, whole world (input of `trendingGlobal`). */
  trendingGlobalMinute: (epochMinute: number) => `rt:tr:{g}:${epochMinute}`,
  /** Sorted set: merged trending score within a region (index into REGIONS). */
  trendingRegion: (regionIdx: number) => `rt:tr:{r${regionIdx}}`,
  /** Sorted set: views per video in one epoch minute within a region (input of `trendingRegion`). */
  trendingRegionMinute: (regionIdx: number, epochMinute: number) => `rt:tr:{r${regionIdx}}:${epochMinute}`,

  // --- Subscriptions (seed 000 §2.2), written by sim/loader and `POST /v1/videos/fresh`, read by
  // core/adapters/redis/subscriptions.ts (docs/retrieval.md). Every write touches one key. The read
  // is one Lua script over `sub:<user>` and the followed creators' `upl:` keys (one round trip):
  // those span slots, so on Redis Cluster the read would have to go back to two round trips. ---

  /** Sorted set: creators the user follows; member = public creator id (`c_<index>`), score = follow time (Unix s; 0 = unknown). */
  subscriptions: (userId: string) => `sub:${userId}`,
  /** Sorted set: the creator's newest uploads; member = `v_<index>`, score = upload time (Unix s); ≤ 100 members, trimmed on write. */
  creatorUploads: (creatorId: string) => `upl:${creatorId}`,
} as const;
