/**
 * The main ranker's extended features (core/features/schema.ts `EXTENDED_FEATURE_DIM`): the
 * user-video region cross and the videos' engagement in the logged history (sim/models/records.ts),
 * written by `rankerInput` after the core columns; the light ranker reads only the core columns.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CORE_RANKER_INPUT_DIM,
  CTR_LOGIT_FEATURE_SCALE,
  EXTENDED_FEATURE_DIM,
  NUM_CATEGORIES,
  RANKER_INPUT_DIM,
  rankerInput,
  USER_RECORD,
  USER_RECORD_LEN,
  VIDEO_RECORD,
  VIDEO_RECORD_LEN,
} from '../../core/features/schema.ts';
import { seededRandom } from '../../core/random/seeded-random.ts';
import { creatorEngagement } from '../../loadtest/cold-start.ts';
import { disposeRanker, predictRanker, type RankerData, trainRanker } from '../../sim/models/ranker.ts';
import { positionPropensities, userRecords, videoEngagement } from '../../sim/models/records.ts';
import { historySlice, type ImpressionLog, simulateLogs } from '../../sim/models/simulate-logs.ts';
import { generateWorld, type World } from '../../sim/world/index.ts';

let world: World;
let log: ImpressionLog;

beforeAll(() => {
  world = generateWorld({ seed: 5, users: 400, videos: 300 });
  log = simulateLogs(world, { sessions: 8000, seed: 5 });
});

describe('rankerInput extended columns', () => {
  it('keeps the core columns first and appends same region, ctr logit / 4, watch share, like rate and the user’s lifts and follow share in the video’s category', () => {
    expect(RANKER_INPUT_DIM).toBe(CORE_RANKER_INPUT_DIM + EXTENDED_FEATURE_DIM);
    const user = new Float32Array(USER_RECORD_LEN);
    user[USER_RECORD.region] = 3;
    user[USER_RECORD.catClickLift + 2] = 0.5;
    user[USER_RECORD.catWatchLift + 2] = -0.25;
    user[USER_RECORD.subCatShare + 2] = 0.75;
    user[USER_RECORD.catClickLift + 4] = 9;
    const video = (region: number) => {
      const v = new Float32Array(VIDEO_RECORD_LEN);
      v[VIDEO_RECORD.category] = 2;
      v[VIDEO_RECORD.durationS] = 300;
      v[VIDEO_RECORD.region] = region;
      v[VIDEO_RECORD.ctrLogit] = -2;
      v[VIDEO_RECORD.watchShare] = 0.4;
      v[VIDEO_RECORD.likeRate] = 0.12;
      return v;
    };
    const x = rankerInput(user, [video(3), video(5)], [0.7, -0.2], 1.7e9);
    expect(x).toHaveLength(2 * RANKER_INPUT_DIM);
    expect(x[CORE_RANKER_INPUT_DIM - 1]).toBeCloseTo(0.7, 6);
    expect(Array.from(x.subarray(CORE_RANKER_INPUT_DIM, RANKER_INPUT_DIM))).toEqual(
      Array.from(Float32Array.of(1, -2 / CTR_LOGIT_FEATURE_SCALE, 0.4, 0.12, 0.5, -0.25, 0.75)),
    );
    expect(x[RANKER_INPUT_DIM + CORE_RANKER_INPUT_DIM - 1]).toBeCloseTo(-0.2, 6);
    expect(x[RANKER_INPUT_DIM + CORE_RANKER_INPUT_DIM]).toBe(0);
  });
});

describe('userRecords (per-category lifts and follow shares)', () => {
  it('follow the hidden taste: lifts and follow shares are higher in the categories the user’s latent prefers', () => {
    const rec = userRecords(world, historySlice(log));
    const { users, latentDim: d } = world.config;
    // Per user, the category dot product of the latent with each centroid, against each feature.
    const pairs: Record<'click' | 'watch' | 'sub', [number, number][]> = { click: [], watch: [], sub: [] };
    for (let u = 0; u < users; u++) {
      const o = u * USER_RECORD_LEN;
      let subs = 0;
      for (let c = 0; c < NUM_CATEGORIES; c++) subs += rec[o + USER_RECORD.subCatShare + c];
      expect(subs === 0 || Math.abs(subs - 1) < 1e-5).toBe(true);
      for (let c = 0; c < NUM_CATEGORIES; c++) {
        let dot = 0;
        for (let k = 0; k < d; k++) dot += world.userLatent[u * d + k] * world.categoryCentroids[c * d + k];
        pairs.click.push([dot, rec[o + USER_RECORD.catClickLift + c]]);
        pairs.watch.push([dot, rec[o + USER_RECORD.catWatchLift + c]]);
        pairs.sub.push([dot, rec[o + USER_RECORD.subCatShare + c]]);
      }
    }
    const corr = (p: [number, number][]) => {
      const n = p.length;
      const ma = p.reduce((s, [a]) => s + a, 0) / n;
      const mb = p.reduce((s, [, b]) => s + b, 0) / n;
      let ab = 0;
      let aa = 0;
      let bb = 0;
      for (const [a, b] of p) {
        ab += (a - ma) * (b - mb);
        aa += (a - ma) ** 2;
        bb += (b - mb) ** 2;
      }
      return ab / Math.sqrt(aa * bb);
    };
    expect(corr(pairs.click)).toBeGreaterThan(0.2);
    expect(corr(pairs.watch)).toBeGreaterThan(0.05);
    expect(corr(pairs.sub)).toBeGreaterThan(0.2);
  });
});

describe('videoEngagement', () => {
  it('estimates position propensities that fall with the slot, 1 at the top', () => {
    const p = positionPropensities(historySlice(log));
    expect(p[0]).toBe(1);
    expect(p[9]).toBeLessThan(p[0]);
    expect(p[9]).toBeGreaterThan(0);
  });

  it('tracks the hidden quality and clickbait it was built to reveal, and gives unseen videos their creator’s', () => {
    const e = videoEngagement(world, historySlice(log));
    const n = world.config.videos;
    const corr = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      let ma = 0;
      let mb = 0;
      for (let i = 0; i < n; i++) {
        ma += a[i] / n;
        mb += b[i] / n;
      }
      let ab = 0;
      let aa = 0;
      let bb = 0;
      for (let i = 0; i < n; i++) {
        ab += (a[i] - ma) * (b[i] - mb);
        aa += (a[i] - ma) ** 2;
        bb += (b[i] - mb) ** 2;
      }
      return ab / Math.sqrt(aa * bb);
    };
    // Quality raises clicks and the watched share; clickbait lowers the watched share (bounces).
    expect(corr(e.ctrLogit, world.videoQuality)).toBeGreaterThan(0.2);
    expect(corr(e.watchShare, world.videoQuality)).toBeGreaterThan(0.2);
    expect(corr(e.watchShare, world.videoClickbait)).toBeLessThan(-0.1);
    for (let v = 0; v < n; v++) {
      expect(e.watchShare[v]).toBeGreaterThanOrEqual(0);
      expect(e.watchShare[v]).toBeLessThanOrEqual(1);
      expect(e.likeRate[v]).toBeGreaterThanOrEqual(0);
      expect(e.likeRate[v]).toBeLessThanOrEqual(1);
    }
    // A slice with no impressions: every video gets the platform-level priors.
    const empty = videoEngagement(world, { log, startSession: 0, endSession: 0 });
    expect(new Set(empty.ctrLogit).size).toBe(1);
    expect(new Set(empty.watchShare).size).toBe(1);
  });
});

describe('creatorEngagement (a cold-start upload has no history of its own)', () => {
  it("writes the mean engagement of the creator's videos, and nothing for an unknown creator", () => {
    const recs = new Float32Array(3 * VIDEO_RECORD_LEN);
    const set = (v: number, creator: number, ctr: number, share: number, like: number) => {
      const o = v * VIDEO_RECORD_LEN;
      recs[o + VIDEO_RECORD.creator] = creator;
      recs[o + VIDEO_RECORD.ctrLogit] = ctr;
      recs[o + VIDEO_RECORD.watchShare] = share;
      recs[o + VIDEO_RECORD.likeRate] = like;
    };
    set(0, 4, -2, 0.5, 0.25);
    set(1, 4, -3, 0.25, 0.125);
    set(2, 9, 0, 1, 1);
    const row = new Float32Array(VIDEO_RECORD_LEN);
    creatorEngagement(recs, 4, row);
    expect([row[VIDEO_RECORD.ctrLogit], row[VIDEO_RECORD.watchShare], row[VIDEO_RECORD.likeRate]]).toEqual([
      -2.5, 0.375, 0.1875,
    ]);
    const untouched = Float32Array.from({ length: VIDEO_RECORD_LEN }, (_, i) => i);
    creatorEngagement(recs, 7, untouched);
    expect(Array.from(untouched)).toEqual(Array.from({ length: VIDEO_RECORD_LEN }, (_, i) => i));
  });
});

describe('the light ranker reads only the core columns', () => {
  it('ignores the extended columns, which the MMoE reads', async () => {
    const rng = seededRandom(9).stream('test.rows');
    const rows = 2048;
    const x = Float32Array.from({ length: rows * RANKER_INPUT_DIM }, () => rng.next());
    const clicked = Uint8Array.from({ length: rows }, (_, i) =>
      x[i * RANKER_INPUT_DIM + CORE_RANKER_INPUT_DIM + 1] > 0.5 ? 1 : 0,
    );
    const data: RankerData = {
      rows,
      x,
      clicked,
      watchTimeS: Float32Array.from(clicked, (c) => c * 60),
      position: new Uint8Array(rows),
      liked: new Uint8Array(rows),
      finished: new Uint8Array(rows),
      disliked: new Uint8Array(rows),
    };
    const light = await trainRanker(data, { seed: 1, arch: 'mlp', epochs: 2 });
    const full = await trainRanker(data, { seed: 1, epochs: 2 });
    expect(light.model.inputDim).toBe(CORE_RANKER_INPUT_DIM);
    expect(full.model.inputDim).toBe(RANKER_INPUT_DIM);
    const changed = Float32Array.from(x);
    for (let i = 0; i < rows; i++)
      for (let d = CORE_RANKER_INPUT_DIM; d < RANKER_INPUT_DIM; d++)
        changed[i * RANKER_INPUT_DIM + d] = 1 - x[i * RANKER_INPUT_DIM + d];
    expect(predictRanker(light.model, changed).pClick).toEqual(predictRanker(light.model, x).pClick);
    expect(predictRanker(full.model, changed).pClick).not.toEqual(predictRanker(full.model, x).pClick);
    disposeRanker(light.model);
    disposeRanker(full.model);
  });
});
