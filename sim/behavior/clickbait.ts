import type { World } from '../world/world.ts';

/**
 * The world's per-video clickbait score in [0, 1] (`World.videoClickbait`, `Float32Array(videos)`),
 * or `undefined` for worlds built before that array existed — every video then counts as 0, i.e.
 * no clickbait effect at all. Read through here so the behaviour model works with both.
 */
export function videoClickbait(world: World): Float32Array | undefined {
  const a = (world as World & { readonly videoClickbait?: Float32Array }).videoClickbait;
  return a instanceof Float32Array && a.length === world.config.videos ? a : undefined;
}
