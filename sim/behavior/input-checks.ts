import { SimError } from '../sim-error.ts';
import type { World } from '../world/world.ts';

/** @throws SimError `RECLAB_ERR_BEHAVIOR_INPUT_INVALID` unless `u` is a user index of `world`. */
export function checkUser(world: World, u: number): void {
  if (!(Number.isInteger(u) && u >= 0 && u < world.config.users)) {
    throw new SimError(
      'RECLAB_ERR_BEHAVIOR_INPUT_INVALID',
      `user index ${u} (world has ${world.config.users})`,
    );
  }
}

/** @throws SimError `RECLAB_ERR_BEHAVIOR_INPUT_INVALID` unless every entry is a video index of `world`. */
export function checkVideos(world: World, ranked: ArrayLike<number>): void {
  const videos = world.config.videos;
  for (let i = 0; i < ranked.length; i++) {
    const v = ranked[i];
    if (!(Number.isInteger(v) && v >= 0 && v < videos)) {
      throw new SimError(
        'RECLAB_ERR_BEHAVIOR_INPUT_INVALID',
        `video index ${v} at position ${i} (world has ${videos})`,
      );
    }
  }
}
