import { createHash } from 'node:crypto';
import type { World } from './world.ts';

/** Bumped whenever the meaning of a world's arrays changes, so old hashes never match new worlds. */
export const WORLD_FORMAT_VERSION = 1;

/**
 * SHA-256 (hex, 64 chars) over the world's format version, its resolved config and every array in
 * a fixed order (raw little-endian bytes). Same seed and config ⇒ same hash; any change to any
 * array ⇒ a different hash. Costs about 2 ms per MB of arrays.
 */
export function worldHash(world: World): string {
  const h = createHash('sha256');
  const { seed, users, videos, creators, latentDim, nowS } = world.config;
  h.update(
    JSON.stringify({
      v: WORLD_FORMAT_VERSION,
      seed,
      users,
      videos,
      creators,
      latentDim,
      nowS,
      names: world.namesSeed,
    }),
  );
  const arrays: [string, ArrayBufferView][] = [
    ['categoryCentroids', world.categoryCentroids],
    ['userRegion', world.userRegion],
    ['userDevice', world.userDevice],
    ['userSignupS', world.userSignupS],
    ['userActivity', world.userActivity],
    ['userLatent', world.userLatent],
    ['creatorCategory', world.creatorCategory],
    ['creatorRegion', world.creatorRegion],
    ['creatorFollowers', world.creatorFollowers],
    ['creatorLatent', world.creatorLatent],
    ['videoCreator', world.videoCreator],
    ['videoCategory', world.videoCategory],
    ['videoRegion', world.videoRegion],
    ['videoDurationS', world.videoDurationS],
    ['videoUploadTsS', world.videoUploadTsS],
    ['videoQuality', world.videoQuality],
    ['videoPopularity', world.videoPopularity],
    ['videoLatent', world.videoLatent],
    ['subscriptionOffsets', world.subscriptionOffsets],
    ['subscriptionCreators', world.subscriptionCreators],
  ];
  for (const [name, a] of arrays) {
    h.update(`${name}:${a.byteLength}\u0000`);
    h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }
  return h.digest('hex');
}
