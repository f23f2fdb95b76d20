import type { Redis } from 'ioredis';
import { parseVideoIndex } from '../../features/ids.ts';

/**
 * The top `n` members of a sorted set of public video ids (`v_<index>`), best first, as catalogue
 * indices with their scores; members that are not video ids are skipped (`parseVideoIndex`).
 * Four of these run per request (popularity and trending, regional and global).
 */
export async function readRankedVideos(
  redis: Redis,
  key: string,
  n: number,
): Promise<{ video: number; score: number }[]> {
  if (n <= 0) return [];
  const flat = await redis.zrevrange(key, 0, n - 1, 'WITHSCORES');
  const out: { video: number; score: number }[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const video = parseVideoIndex(flat[i]);
    if (video >= 0) out.push({ video, score: Number(flat[i + 1]) });
  }
  return out;
}
