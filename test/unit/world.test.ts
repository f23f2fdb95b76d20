import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { NUM_CATEGORIES, NUM_REGIONS, REGIONS } from '../../core/features/schema.ts';
import { SimError } from '../../sim/sim-error.ts';
import { dotRows } from '../../sim/util/vector.ts';
import {
  affinity,
  arrivalsBetween,
  arrivedUsers,
  arrivedVideos,
  COHORT_WIDTH_S,
  CREATOR_TIERS,
  creatorTier,
  DEFAULT_NOW_S,
  generateWorld,
  LANGUAGES,
  NUM_LANGUAGES,
  parseUserId,
  parseVideoId,
  REGION_LANGUAGE_WEIGHTS,
  regionalPopularity,
  signupCohort,
  tierOfFollowers,
  UPLOAD_WINDOW_S,
  userId,
  userIndexOrMissing,
  userName,
  videoId,
  videoLanguage,
  type World,
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

  it('gives the same hash on every run and machine: pinned for one small world', () => {
    // Changes whenever a prior, a stream name or the generator changes: that is the point. Update
    // it deliberately (and say why in the commit), never to make a flaky run pass.
    expect(worldHash(world)).toBe('bea6a861998ef3568465f0478743a6cb84f1b8b50031b6995b274561215c73ec');
  });

  it('the hash covers the arrays, not only the config', () => {
    const copy = generateWorld(CFG);
    copy.videoQuality[17] += 0.01;
    expect(worldHash(copy)).not.toBe(worldHash(world));
    for (const mutate of [
      (w: World) => {
        w.userLanguage[3] ^= 1;
      },
      (w: World) => {
        w.creatorLanguage[3] ^= 1;
      },
      (w: World) => {
        w.videoClickbait[3] += 0.01;
      },
    ]) {
      const other = generateWorld(CFG);
      mutate(other);
      expect(worldHash(other)).not.toBe(worldHash(world));
    }
  });

  it('has arrays of the configured sizes and defaults filled in', () => {
    const { users, videos, creators, latentDim, nowS } = world.config;
    expect([users, videos, creators, latentDim, nowS]).toEqual([4000, 3000, 150, 16, DEFAULT_NOW_S]);
    expect([world.initialUsers, world.initialVideos]).toEqual([users, videos]);
    expect(world.config.arrivalWindowS).toBe(0);
    for (const a of [
      world.userRegion,
      world.userDevice,
      world.userSignupS,
      world.userActivity,
      world.userLanguage,
    ])
      expect(a).toHaveLength(users);
    expect(world.userLatent).toHaveLength(users * latentDim);
    expect(world.creatorFollowers).toHaveLength(creators);
    expect(world.creatorLanguage).toHaveLength(creators);
    expect(world.creatorLatent).toHaveLength(creators * latentDim);
    for (const a of [
      world.videoCreator,
      world.videoCategory,
      world.videoDurationS,
      world.videoUploadTsS,
      world.videoClickbait,
    ])
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
      { arrivalWindowS: -1 },
      { arrivalWindowS: 2 ** 32 },
      { arrivalWindowS: 3600, arrivingUserShare: 1 },
      { arrivalWindowS: 3600, arrivingVideoShare: -0.1 },
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

describe('attributes added for scale realism', () => {
  it('gives users a language drawn from their region (languages correlate with region)', () => {
    const big = generateWorld({ seed: 3, users: 40_000, videos: 2000 });
    const counts = Array.from({ length: NUM_REGIONS }, () => new Array(NUM_LANGUAGES).fill(0));
    for (let u = 0; u < big.config.users; u++) {
      expect(REGION_LANGUAGE_WEIGHTS[big.userRegion[u]][big.userLanguage[u]]).toBeGreaterThan(0);
      counts[big.userRegion[u]][big.userLanguage[u]]++;
    }
    const share = (region: string, lang: string) => {
      const row = counts[REGIONS.indexOf(region as (typeof REGIONS)[number])];
      return row[LANGUAGES.indexOf(lang as (typeof LANGUAGES)[number])] / row.reduce((a, b) => a + b, 0);
    };
    for (let r = 0; r < NUM_REGIONS; r++) {
      const top = counts[r].indexOf(Math.max(...counts[r]));
      const priorTop = REGION_LANGUAGE_WEIGHTS[r].indexOf(Math.max(...REGION_LANGUAGE_WEIGHTS[r]));
      expect(LANGUAGES[top]).toBe(LANGUAGES[priorTop]);
    }
    expect(share('latam', 'es')).toBeGreaterThan(0.55);
    expect(share('east_asia', 'es')).toBe(0);
    expect(share('mena', 'ar')).toBeGreaterThan(0.6);
    // Creators too, and a video speaks its creator's language.
    for (let c = 0; c < big.config.creators; c++)
      expect(REGION_LANGUAGE_WEIGHTS[big.creatorRegion[c]][big.creatorLanguage[c]]).toBeGreaterThan(0);
    expect(videoLanguage(big, 5)).toBe(big.creatorLanguage[big.videoCreator[5]]);
  });

  it('makes clickbait mostly low with a tail of high, mildly anti-correlated with quality', () => {
    const n = world.config.videos;
    const sorted = Float64Array.from(world.videoClickbait).sort();
    expect(sorted[0]).toBeGreaterThanOrEqual(0);
    expect(sorted[n - 1]).toBeLessThanOrEqual(1);
    expect(sorted[n >> 1]).toBeLessThan(0.2); // median
    const high = sorted.filter((x) => x > 0.5).length / n;
    expect(high).toBeGreaterThan(0.01);
    expect(high).toBeLessThan(0.1);
    expect(sorted[n - 1]).toBeGreaterThan(0.75);
    let mq = 0;
    let mc = 0;
    for (let v = 0; v < n; v++) {
      mq += world.videoQuality[v] / n;
      mc += world.videoClickbait[v] / n;
    }
    let qq = 0;
    let cc = 0;
    let qc = 0;
    for (let v = 0; v < n; v++) {
      const a = world.videoQuality[v] - mq;
      const b = world.videoClickbait[v] - mc;
      qq += a * a;
      cc += b * b;
      qc += a * b;
    }
    const corr = qc / Math.sqrt(qq * cc);
    expect(corr).toBeLessThan(-0.1);
    expect(corr).toBeGreaterThan(-0.5);
  });

  it('sorts creators into size tiers; at scale every tier is present, nano dominates', () => {
    expect(
      [0, 9_999, 10_000, 99_999, 100_000, 500_000, 999_999, 1_000_000, 4e9].map(tierOfFollowers),
    ).toEqual([0, 0, 1, 1, 2, 3, 3, 4, 4]);
    const many = generateWorld({ seed: 7, users: 1000, videos: 1000, creators: 200_000 });
    const counts = Object.fromEntries(CREATOR_TIERS.map((t) => [t, 0]));
    for (let c = 0; c < many.config.creators; c++) counts[creatorTier(many, c)]++;
    for (const t of CREATOR_TIERS) expect(counts[t]).toBeGreaterThan(0);
    expect(counts.nano / many.config.creators).toBeGreaterThan(0.9);
    expect(counts.micro).toBeGreaterThan(counts.mid);
    expect(counts.mid).toBeGreaterThan(counts.mega);
  });

  it('derives signup cohorts from signup times', () => {
    const { nowS } = world.config;
    const seen = new Set<number>();
    for (let u = 0; u < world.config.users; u++) {
      const k = signupCohort(world, u);
      const ageS = nowS - world.userSignupS[u];
      expect(ageS).toBeGreaterThanOrEqual(k * COHORT_WIDTH_S);
      expect(ageS).toBeLessThan((k + 1) * COHORT_WIDTH_S);
      seen.add(k);
    }
    expect(seen.size).toBeGreaterThan(12); // tenure spans years
    expect(signupCohort(world, 0, 86_400)).toBe(Math.floor((nowS - world.userSignupS[0]) / 86_400));
  });

  it('varies popularity per region: home region and language reach reorder the charts', () => {
    const top = (r: number) => {
      const idx = Array.from({ length: world.config.videos }, (_, v) => v);
      idx.sort((a, b) => regionalPopularity(world, b, r) - regionalPopularity(world, a, r));
      return idx.slice(0, 20);
    };
    const charts = Array.from({ length: NUM_REGIONS }, (_, r) => top(r));
    const distinct = new Set(charts.map((c) => c.join(',')));
    expect(distinct.size).toBe(NUM_REGIONS);
    for (let r = 0; r < NUM_REGIONS; r++) {
      const local = charts[r].filter((v) => world.videoRegion[v] === r).length;
      expect(local).toBeGreaterThan(0);
    }
    const v = 11;
    const home = world.videoRegion[v];
    expect(regionalPopularity(world, v, home)).toBeGreaterThan(world.videoPopularity[v]);
  });
});

describe('arrivals', () => {
  const WINDOW_S = 2 * 86_400;
  const withArrivals = generateWorld({
    ...CFG,
    arrivalWindowS: WINDOW_S,
    arrivingUserShare: 0.1,
    arrivingVideoShare: 0.2,
  });

  it('has none by default: everything exists at nowS', () => {
    const { nowS, users, videos } = world.config;
    expect(arrivedUsers(world, nowS)).toBe(users);
    expect(arrivedVideos(world, nowS + 10 * 86_400)).toBe(videos);
    const none = arrivalsBetween(world, nowS, nowS + 10 * 86_400);
    expect(none.users.end - none.users.start).toBe(0);
    expect(none.videos.end - none.videos.start).toBe(0);
  });

  it('timestamps the last users and videos after nowS, in order, leaving the initial world unchanged', () => {
    const w = withArrivals;
    const { nowS, users, videos } = w.config;
    expect(w.initialUsers).toBe(users - 400);
    expect(w.initialVideos).toBe(videos - 600);
    for (let u = 0; u < users; u++) {
      if (u < w.initialUsers) expect(w.userSignupS[u]).toBeLessThanOrEqual(nowS);
      else {
        expect(w.userSignupS[u]).toBeGreaterThan(nowS);
        expect(w.userSignupS[u]).toBeLessThanOrEqual(nowS + WINDOW_S);
        if (u > w.initialUsers) expect(w.userSignupS[u]).toBeGreaterThanOrEqual(w.userSignupS[u - 1]);
        expect(w.subscriptionOffsets[u + 1] - w.subscriptionOffsets[u]).toBe(0); // cold: follows nobody
      }
    }
    for (let v = w.initialVideos; v < videos; v++) {
      expect(w.videoUploadTsS[v]).toBeGreaterThan(nowS);
      expect(w.videoUploadTsS[v]).toBeLessThanOrEqual(nowS + WINDOW_S);
    }
    // The initial population is the world without arrivals, byte for byte.
    expect(w.userSignupS.subarray(0, w.initialUsers)).toEqual(world.userSignupS.subarray(0, w.initialUsers));
    expect(w.videoUploadTsS.subarray(0, w.initialVideos)).toEqual(
      world.videoUploadTsS.subarray(0, w.initialVideos),
    );
    expect(w.videoLatent).toEqual(world.videoLatent);
    expect(w.videoClickbait).toEqual(world.videoClickbait);
    const subs = world.subscriptionOffsets[w.initialUsers];
    expect(w.subscriptionCreators).toEqual(world.subscriptionCreators.subarray(0, subs));
    expect(worldHash(w)).not.toBe(worldHash(world));
  });

  it('answers which entities have arrived by a time, and which arrive in a window', () => {
    const w = withArrivals;
    const { nowS, users, videos } = w.config;
    expect(arrivedUsers(w, nowS)).toBe(w.initialUsers);
    expect(arrivedVideos(w, nowS)).toBe(w.initialVideos);
    expect(arrivedUsers(w, nowS + WINDOW_S)).toBe(users);
    expect(arrivedVideos(w, nowS + WINDOW_S)).toBe(videos);
    const midS = nowS + WINDOW_S / 2;
    let count = 0;
    for (let v = 0; v < videos; v++) if (w.videoUploadTsS[v] <= midS) count++;
    expect(arrivedVideos(w, midS)).toBe(count);
    expect(count).toBeGreaterThan(w.initialVideos);
    expect(count).toBeLessThan(videos);
    const a = arrivalsBetween(w, nowS - 86_400, midS); // before nowS counts from nowS
    expect(a.videos).toEqual({ start: w.initialVideos, end: count });
    const b = arrivalsBetween(w, midS, nowS + WINDOW_S);
    expect(b.videos).toEqual({ start: count, end: videos });
    expect(a.users.end).toBe(b.users.start);
    expect(b.users.end).toBe(users);
    expect(arrivalsBetween(w, midS, midS - 1).users).toEqual({ start: a.users.end, end: a.users.end });
    // Before nowS, a plain count over the initial population.
    const pastS = nowS - 10 * 86_400;
    let past = 0;
    for (let v = 0; v < videos; v++) if (w.videoUploadTsS[v] <= pastS) past++;
    expect(arrivedVideos(w, pastS)).toBe(past);
  });

  it('defaults the shares to the past upload rate and the tenure prior', () => {
    const w = generateWorld({ ...CFG, arrivalWindowS: 3 * 86_400 });
    expect(w.config.arrivingVideoShare).toBeCloseTo(3 / 33, 10);
    expect(w.config.arrivingUserShare).toBeCloseTo(0.0015, 10);
    expect(w.initialVideos).toBe(CFG.videos - Math.round((CFG.videos * 3) / 33));
    expect(w.initialUsers).toBe(CFG.users - 6);
  });
});

describe('reclab world generate', () => {
  it('prints the same hash on every run, equal to the in-process hash, and writes world.json', () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const out = mkdtempSync(join(tmpdir(), 'reclab-world-'));
    try {
      const run = () =>
        execFileSync(
          process.execPath,
          [
            'bin/reclab.mjs',
            'world',
            'generate',
            '--users',
            '4000',
            '--videos',
            '3000',
            '--seed',
            '7',
            '--out',
            out,
          ],
          {
            cwd: root,
            env: { ...process.env, CI: 'true' },
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
      const first = JSON.parse(run());
      const second = JSON.parse(run());
      expect(first.worldHash).toBe(worldHash(world));
      expect(second.worldHash).toBe(first.worldHash);
      const record = JSON.parse(readFileSync(join(out, 'world.json'), 'utf8'));
      expect(record.worldHash).toBe(first.worldHash);
      expect(record.config).toEqual({ ...world.config });
      expect(record.sizes.users).toBe(4000);
      expect(record.sizes.arrayBytes.videoClickbait).toBe(3000 * 4);
      expect(record.timingsS['world.videos']).toBeGreaterThanOrEqual(0);
      expect(record.peakRssMiB).toBeGreaterThan(0);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('ids and names', () => {
  it('round-trips ids and rejects foreign ones', () => {
    expect(userId(12)).toBe('u_12');
    expect(videoId(0)).toBe('v_0');
    expect(parseVideoId(videoId(2999), 3000)).toBe(2999);
    expect(parseUserId('u_41')).toBe(41);
    // A user the world does not hold reads as missing (-1), as Redis would answer, never throws.
    expect(userIndexOrMissing('u_41', 42)).toBe(41);
    for (const absent of ['u_42', 'u_01', 'u_-1', 'v_3', 'cold-7', ''])
      expect(userIndexOrMissing(absent, 42)).toBe(-1);
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
