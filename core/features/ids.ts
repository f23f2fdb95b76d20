/**
 * Public ids of the catalogue: `v_<index>` for videos (index = row in the embedding matrix and the
 * FAISS label), `u_<…>` for users (opaque to the core). Redis keys and popularity members use the
 * public ids (core/adapters/redis/keys.ts).
 */
export const videoIdOf = (video: number): string => `v_${video}`;

/** The catalogue index of a `v_<index>` id, or -1 when `id` is not one. */
export function parseVideoIndex(id: string): number {
  if (!id.startsWith('v_')) return -1;
  const n = Number(id.slice(2));
  return Number.isInteger(n) && n >= 0 ? n : -1;
}
