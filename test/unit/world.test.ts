import { describe, expect, it } from 'vitest';
import { NUM_CATEGORIES, NUM_REGIONS } from '../../core/features/schema.ts';
import { SimError } from '../../sim/sim-error.ts';
import { dotRows } from '../../sim/util/vector.ts';
import {
  affinity,
  DEFAULT_NOW_S,
  generateWorld,
  parseUserId,
  parseVideoId,
  UPLOAD_WINDOW_S,
  userId,
  userName,
  videoId,
  worldHash,
} from '../../sim/world/index.ts';

const CFG = { seed: 7, users: 4000, videos: 3000 };
const world = generateWorld(CFG);

describe('generateWorld', () => {
  it('is deterministic: same seed gives the same hash, a different seed a different one', () => {
    const again = generateWorld(CFG);
    expect(worldHash(again)).toBe(worldHash(world));
    expect(worldHash(world)).toMatch(/^[0-9a-f]{64}$/);
    expect(worldHash(generateWorld({ ...CFG, seed: 8 }))).not.toBe(worldHash(world));
    expect(worldHash(generateWorld({ ...CFG, videos: CFG.videos + 1 }))).not.toBe(worldHash(world));
  });

  it('the hash covers the arrays, not only the config', () => {
    const copy = generateWorld(CFG);
    copy.videoQuality[17] += 0.01;
    expect(worldHash(copy)).not.toBe(worldHash(world));
  });

  it('has arrays of the configured sizes and defaults filled in', () => {
    const { users, videos, creators, latentDim, nowS } = world.config;
    expect([users, videos, creators, latentDim, nowS]).toEqual([4000, 3000, 150, 16, DEFAULT_NOW_S]);
    for (const a of [world.userRegion, world.userDevice, world.userSignupS, world.userActivity])
      expect(a).toHaveLength(users);
    expect(world.userLatent).toHaveLength(users * latentDim);
    expect(world.creatorFollowers).toHaveLength(creators);
    expect(world.creatorLatent).toHaveLength(creators * latentDim);
    for (const a of [world.videoCreator, world.videoCategory, world.videoDurationS, world.videoUploadTsS])
      expect(a).toHaveLength(videos);
    expect(world.videoLatent).toHaveLength(videos * latentDim);
    expect(world.categoryCentroids).toHaveLength(NUM_CATEGORIES * latentDim);
    expect(world.subscriptionOffsets).toHaveLength(users + 1);
    expect(world.subscriptionOffsets[users]).toBe(world.subscriptionCreators.length);
  });

  it('keeps values in their documented ranges', () => {
    const { videos, creators, nowS } = world.config;
    let popSum = 0;
    for (let v = 0; v < videos; v++) {
      expect(world.videoCreator[v]).toBeLessThan(creators);
      expect(world.videoCategory[v]).toBeLessThan(NUM_CATEGORIES);
      expect(world.videoQuality[v]).toBeGreaterThanOrEqual(0);
      expect(world.videoQuality[v]).toBeLessThanOrEqual(1);
      expect(world.videoUploadTsS[v]).toBeLessThanOrEqual(nowS);
      expect(world.videoUploadTsS[v]).toBeGreaterThan(nowS - UPLOAD_WINDOW_S);
      expect(world.videoDurationS[v]).toBeGreaterThanOrEqual(10);
      popSum += world.videoPopularity[v];
    }
    expect(popSum).toBeCloseTo(1, 4);
    for (let u = 0; u < world.config.users; u++) {
      expect(world.userRegion[u]).toBeLessThan(NUM_REGIONS);
      expect(world.userSignupS[u]).toBeLessThanOrEqual(nowS);
      const norm = Math.sqrt(dotRows(world.userLatent, u, world.userLatent, u, world.config.latentDim));
      expect(norm).toBeCloseTo(1, 5);
    }
  });

  it('has a heavy-tailed popularity prior: the top 1% of videos hold a large share', () => {
    const shares = Float64Array.from(world.videoPopularity).sort().reverse();
    const top = Math.ceil(shares.length / 100);
    let share = 0;
    for (let i = 0; i < top; i++) share += shares[i];
    expect(share).toBeGreaterThan(0.2); // uniform would be 0.01
    // Followers are heavy-tailed too: the biggest creator dwarfs the median one.
    const followers = Array.from(world.creatorFollowers).sort((a, b) => a - b);
    expect(followers[followers.length - 1]).toBeGreaterThan(50 * followers[followers.length >> 1]);
  });

  it('skews regions: the largest region holds far more users than the smallest', () => {
    const counts = new Array(NUM_REGIONS).fill(0);
    for (const r of world.userRegion) counts[r]++;
    expect(Math.max(...counts)).toBeGreaterThan(3 * Math.min(...counts));
  });

  it('makes users follow creators aligned with their taste', () => {
    const d = world.config.latentDim;
    let followed = 0;
    let n = 0;
    let random = 0;
    for (let u = 0; u < world.config.users; u++) {
      for (let s = world.subscriptionOffsets[u]; s < world.subscriptionOffsets[u + 1]; s++) {
        followed += dotRows(world.userLatent, u, world.creatorLatent, world.subscriptionCreators[s], d);
        random += dotRows(world.userLatent, u, world.creatorLatent, (u * 31 + s) % world.config.creators, d);
        n++;
      }
    }
    expect(n).toBeGreaterThan(world.config.users); // more than one subscription per user on average
    expect(followed / n).toBeGreaterThan(random / n + 0.2);
  });

  it('gives affinity a quality term on top of the latent match', () => {
    const v = 5;
    const base = affinity(world, 0, v);
    const q = world.videoQuality[v];
    world.videoQuality[v] = Math.min(1, q + 0.5);
    expect(affinity(world, 0, v)).toBeGreaterThan(base);
    world.videoQuality[v] = q;
  });

  it('rejects invalid configs with a coded error', () => {
    for (const bad of [
      { users: 0 },
      { videos: 1.5 },
      { latentDim: 1 },
      { creators: -3 },
      { seed: Number.NaN },
    ]) {
      let err: unknown;
      try {
        generateWorld({ ...CFG, ...bad });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SimError);
      expect((err as SimError).code).toBe('RECLAB_ERR_WORLD_CONFIG_INVALID');
    }
  });
});

describe('ids and names', () => {
  it('round-trips ids and rejects foreign ones', () => {
    expect(userId(12)).toBe('u_12');
    expect(videoId(0)).toBe('v_0');
    expect(parseVideoId(videoId(2999), 3000)).toBe(2999);
    expect(parseUserId('u_41')).toBe(41);
    for (const bad of ['v_3000', 'v_-1', 'v_01', 'u_5', 'v_', 'v_1e3']) {
      expect(() => parseVideoId(bad, 3000)).toThrowError(/RECLAB_ERR_WORLD_ID_INVALID/);
    }
  });

  it('generates display names lazily and deterministically', () => {
    const a = userName(world, 123);
    userName(world, 7); // another name in between must not change user 123's
    expect(userName(world, 123)).toBe(a);
    expect(userName(generateWorld(CFG), 123)).toBe(a);
    expect(a.length).toBeGreaterThan(3);
    const distinct = new Set(Array.from({ length: 50 }, (_, i) => userName(world, i)));
    expect(distinct.size).toBeGreaterThan(45);
  });
});
