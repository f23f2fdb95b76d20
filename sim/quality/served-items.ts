import { parseVideoId } from '../world/ids.ts';
import type { World } from '../world/world.ts';

/** Video indices of a response's items, in served order, and how many ids did not name a video. */
export interface ServedVideos {
  /** Video indices (`v_<index>` → index), in served order; unknown ids are left out. */
  videos: number[];
  /** Items whose `video_id` is missing, malformed or beyond the catalogue. */
  unknownIds: number;
}

/**
 * Maps a recommendation response's `items` (`[{ video_id: 'v_<index>' }, …]`) to video indices.
 * Never throws: a bad id is counted in `unknownIds` (a defect of the core worth reporting, not a
 * reason to stop scoring the run).
 */
export function servedVideos(
  world: World,
  items: ReadonlyArray<{ readonly video_id?: unknown }>,
): ServedVideos {
  const videos: number[] = [];
  let unknownIds = 0;
  for (const item of items) {
    const id = item?.video_id;
    if (typeof id !== 'string') {
      unknownIds++;
      continue;
    }
    try {
      videos.push(parseVideoId(id, world.config.videos));
    } catch {
      unknownIds++;
    }
  }
  return { videos, unknownIds };
}
