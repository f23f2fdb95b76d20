/**
 * Integration: artifacts built from a small world are real, trained models that the serving core
 * can load — ONNX files with the exact contract names and shapes, numerically equal to the tfjs
 * models they were exported from, and better than the popularity baselines on held-out logs.
 *
 * Needs no containers; about 40 s on a 2-core machine.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RANKER_INPUT_DIM,
  USER_FEATURE_DIM,
  USER_RECORD_LEN,
  VIDEO_FEATURE_DIM,
  VIDEO_RECORD_LEN,
} from '../../core/features/schema.ts';
import { seededRandom } from '../../core/random/seeded-random.ts';
import {
  ARTIFACT_FILES,
  type ArtifactManifest,
  type BuildProgress,
  buildArtifacts,
  EMB_DIM,
  embed,
  exportRankerOnnx,
  exportTowerOnnx,
  LIST_AWARE_THETAS_S,
  predictRanker,
  rungOrderViolations,
  trainRanker,
  trainTwoTower,
} from '../../sim/models/index.ts';
import { generateWorld, type World, worldHash } from '../../sim/world/index.ts';

const SEED = 5;
let world: World;
let dir: string;
let manifest: ArtifactManifest;
const progress: BuildProgress[] = [];

beforeAll(async () => {
  world = generateWorld({ seed: SEED, users: 3000, videos: 2000 });
  dir = await mkdtemp(join(tmpdir(), 'reclab-models-'));
  manifest = await buildArtifacts(world, {
    seed: SEED,
    outDir: dir,
    sessions: 40_000,
    maxRankerSessions: 5000,
    onProgress: (e) => progress.push(e),
  });
}, 240_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** `rows × width` uniform values in [lo, hi). */
function randomRows(rows: number, width: number, seed: number, lo = -1, hi = 2): Float32Array {
  const rng = seededRandom(seed).stream('test.rows');
  return Float32Array.from({ length: rows * width }, () => lo + (hi - lo) * rng.next());
}

describe('buildArtifacts', () => {
  it('writes every file with the documented sizes', async () => {
    const { users, videos } = world.config;
    expect((await stat(join(dir, ARTIFACT_FILES.itemEmbeddings))).size).toBe(videos * EMB_DIM * 4);
    expect((await stat(join(dir, ARTIFACT_FILES.userRecords))).size).toBe(users * USER_RECORD_LEN * 4);
    expect((await stat(join(dir, ARTIFACT_FILES.videoRecords))).size).toBe(videos * VIDEO_RECORD_LEN * 4);
    const onDisk = JSON.parse(await readFile(join(dir, ARTIFACT_FILES.manifest), 'utf8')) as ArtifactManifest;
    expect(onDisk).toEqual(manifest);
    expect(manifest.worldHash).toBe(worldHash(world));
    expect(manifest.modelVersion).toBe(`m-${SEED}-${manifest.worldHash.slice(0, 12)}`);
    expect(manifest.embDim).toBe(64);
    expect(EMB_DIM).toBe(64);
    expect(manifest.featureDims).toEqual({
      user: USER_FEATURE_DIM,
      video: VIDEO_FEATURE_DIM,
      ranker: RANKER_INPUT_DIM,
      userRecord: USER_RECORD_LEN,
      videoRecord: VIDEO_RECORD_LEN,
    });
  });

  it('reports training progress (epoch, loss, validation metric, ETA) and the loss goes down', () => {
    const epochEnds = progress.filter((e) => e.train && e.train.step === e.train.steps);
    // Every epoch end carries that epoch's held-out metric and a time-left estimate (0 at the end).
    for (const e of epochEnds) {
      const t = e.train!;
      expect(t.val?.epoch).toBe(t.epoch);
      expect(t.val?.name).toBe(t.model === 'two-tower' ? 'recall@100' : 'click auc');
      expect(t.val!.value).toBeGreaterThan(0);
      expect(t.val!.value).toBeLessThanOrEqual(1);
      expect(t.etaS).toBeGreaterThanOrEqual(0);
      expect(t.elapsedS).toBeGreaterThan(0);
      if (t.epoch === t.epochs) expect(t.etaS).toBe(0);
      else expect(t.etaS).toBeGreaterThan(0);
    }
    expect(new Set(epochEnds.map((e) => e.train!.model))).toEqual(
      new Set(['two-tower', 'ranker', 'light-ranker']),
    );
    const v = manifest.training.validation;
    const epochs = manifest.options.epochs;
    expect(v.twoTower.map((m) => m.name)).toEqual(Array(epochs).fill('recall@100'));
    // The rankers stop early once the validation loss stops falling (at least 2 epochs: patience 1).
    const rankerEpochs = v.ranker.length;
    const lightEpochs = v.lightRanker.length;
    for (const n of [rankerEpochs, lightEpochs]) {
      expect(n).toBeGreaterThanOrEqual(Math.min(2, epochs));
      expect(n).toBeLessThanOrEqual(epochs);
    }
    expect(manifest.ranker.bestEpoch).toBeLessThanOrEqual(rankerEpochs);
    expect(manifest.ranker.lightBestEpoch).toBeLessThanOrEqual(lightEpochs);
    expect(v.twoTowerClicks).toBeGreaterThan(0);
    expect(epochEnds.filter((e) => e.stage === 'two-tower')).toHaveLength(epochs);
    // The MMoE ranker and the light ranker both report under the `ranker` stage.
    expect(epochEnds.filter((e) => e.stage === 'ranker')).toHaveLength(rankerEpochs + lightEpochs);
    const { twoTowerEpochLosses: tt, rankerEpochLosses: rk } = manifest.training;
    expect(tt[tt.length - 1]).toBeLessThan(tt[0]);
    expect(rk[rk.length - 1]).toBeLessThan(rk[0]);
    const lt = manifest.ranker.lightEpochLosses;
    expect(lt[lt.length - 1]).toBeLessThan(lt[0]);
  });

  it('stores L2-normalised item embeddings', async () => {
    const bytes = await readFile(join(dir, ARTIFACT_FILES.itemEmbeddings));
    const emb = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    for (let v = 0; v < world.config.videos; v += 97) {
      let s = 0;
      for (let k = 0; k < EMB_DIM; k++) s += emb[v * EMB_DIM + k] ** 2;
      expect(Math.sqrt(s)).toBeCloseTo(1, 4);
    }
  });

  it('stores L2-normalised content embeddings', async () => {
    const bytes = await readFile(join(dir, ARTIFACT_FILES.contentEmbeddings));
    const dim = manifest.content.dim;
    expect(bytes.byteLength).toBe(world.config.videos * dim * 4);
    const emb = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    for (let v = 0; v < world.config.videos; v += 97) {
      let s = 0;
      for (let k = 0; k < dim; k++) s += emb[v * dim + k] ** 2;
      expect(Math.sqrt(s)).toBeCloseTo(1, 4);
    }
  });

  it('reports calibration per probability head: click heads no worse after Platt, all heads small', () => {
    const cal = manifest.ranker.calibration;
    expect(Object.keys(cal).sort()).toEqual([
      'light_ranker.p_click',
      'ranker.p_click',
      'ranker.p_finish',
      'ranker.p_like',
    ]);
    for (const c of Object.values(cal)) {
      expect(c.eceBefore).toBeGreaterThanOrEqual(0);
      // Reaction heads are fit on the few clicks of a small calibration slice: only "small" holds.
      expect(c.eceAfter).toBeLessThan(0.06);
    }
    for (const head of ['ranker.p_click', 'light_ranker.p_click']) {
      expect(cal[head].eceAfter).toBeLessThanOrEqual(cal[head].eceBefore + 0.005);
      expect(cal[head].eceAfter).toBeLessThan(0.02);
    }
  });

  it('reports the offline evaluation of every head and retrieval source', () => {
    const m = manifest.metrics;
    for (const auc of [m.likeAuc, m.finishAuc, m.lightClickAuc]) expect(auc).toBeGreaterThan(0.5);
    // No dislike head (too few dislikes to learn from: ranker.ts); the card says how many there were.
    expect(manifest.ranker.trainingDislikes).toBeGreaterThanOrEqual(0);
    expect(m.lightClickAuc).toBeGreaterThan(m.popularityClickAuc);
    expect(m.contentRecall100).toBeGreaterThan(0);
    expect(m.groundTruthRecall100TwoTower).toBeGreaterThan(m.groundTruthRecall100Popularity);
    // ndcg10* (logged sessions, gain = click + like + finish) are reported, not asserted: the tuned
    // score trades that engagement gain for watch time; the ground-truth lists are asserted below.
    for (const n of [m.ndcg10Mmoe, m.ndcg10MmoeCoreScore, m.ndcg10Light]) expect(n).toBeGreaterThan(0);
  });

  it('beats the popularity baselines on held-out logs', () => {
    const m = manifest.metrics;
    expect(m.evalClicks).toBeGreaterThan(500);
    expect(m.twoTowerRecall100).toBeGreaterThan(m.popularityRecall100);
    expect(m.clickAuc).toBeGreaterThan(m.popularityClickAuc);
    expect(m.clickAuc).toBeGreaterThan(0.6);
    expect(m.watchTimeRmseS).toBeLessThan(m.baselineWatchTimeRmseS);
  });

  it("judges every rung on offline lists of held-out users, in the ladder's order", () => {
    const m = manifest.metrics;
    const l = manifest.offlineLists;
    expect(l.users).toBeGreaterThanOrEqual(50);
    expect(l.listLength).toBe(30);
    for (const rung of [l.full, l.light_ranker, l.retrieval_scores, l.popularity, l.editorial]) {
      expect(rung.expectedWatchTimeS).toBeGreaterThan(0);
      expect(rung.ndcgAt10).toBeLessThan(1);
    }
    // The oracle ranks items by their gain alone, so it is not the best list under the single-click
    // choice model (docs/behavior-model.md, "List quality"): a list-aware ranker may serve more
    // (in this world the main ranker did since artifacts-7), the non-personalised rungs may not.
    for (const rung of [l.retrieval_scores, l.popularity, l.editorial])
      expect(rung.expectedWatchTimeS).toBeLessThan(l.oracle.expectedWatchTimeS);
    // The rankers' lists are far better than the non-personalised rungs.
    for (const lower of [l.retrieval_scores, l.popularity, l.editorial]) {
      expect(l.full.expectedWatchTimeS).toBeGreaterThan(1.5 * lower.expectedWatchTimeS);
      expect(l.full.ndcgAt10).toBeGreaterThan(lower.ndcgAt10);
    }
    // The tuned weights beat the default ones on validation (they start from them).
    const t = manifest.ranker.scoreTuning;
    expect(t.ranker.tuned.expectedWatchTimeS).toBeGreaterThanOrEqual(t.ranker.start.expectedWatchTimeS);
    // Guards: the light ranker keeps its default weights' NDCG@10 within the tolerance; the main
    // ranker keeps the light ranker's tuned NDCG@10 raised by the margin (or stays at its start).
    expect(t.lightRanker.ndcgFloor).toBeCloseTo(t.lightRanker.start.ndcgAt10 * (1 - t.ndcgTolerance), 9);
    expect(t.lightRanker.tuned.ndcgAt10).toBeGreaterThanOrEqual(t.lightRanker.ndcgFloor);
    expect(t.ranker.ndcgFloor).toBeCloseTo(t.lightRanker.tuned.ndcgAt10 * (1 + t.ndcgMargin), 9);
    expect(t.ndcgMargin).toBeGreaterThan(0);
    if (t.ranker.tuned.expectedWatchTimeS > t.ranker.start.expectedWatchTimeS)
      expect(t.ranker.tuned.ndcgAt10).toBeGreaterThanOrEqual(t.ranker.ndcgFloor);
    // The light ranker must not beat the full ranker on the card, on any metric, by any margin
    // (issue 11). Since artifacts-7 the main ranker reads the engagement columns the light one does
    // not (docs/behavior-model.md, "The main ranker's own features"); in this world it measured
    // click AUC 0.762 / 0.750, watch RMSE 150 / 177 s, lists 755 / 716 s, NDCG@10 0.535 / 0.533
    // with artifacts-7; with artifacts-9 0.772 / 0.692, 152 / 172 s, 774 / 713 s, 0.524 / 0.455.
    console.log(
      `models test card: click AUC ${m.clickAuc} / ${m.lightClickAuc}, watch RMSE ${m.watchTimeRmseS} / ${m.lightWatchTimeRmseS}, lists ${l.full.expectedWatchTimeS} / ${l.light_ranker.expectedWatchTimeS} s, NDCG@10 ${l.full.ndcgAt10} / ${l.light_ranker.ndcgAt10}, oracle ${l.oracle.expectedWatchTimeS} s`,
    );
    expect(rungOrderViolations({ ...manifest.metrics, offlineLists: l }, 0)).toEqual([]);
    expect(m.clickAuc).toBeGreaterThan(m.lightClickAuc);
  });

  it('serves the offline lists through the core re-ranking and reports the ground-truth diagnostics', () => {
    const l = manifest.offlineLists;
    expect(l.reranking.mmrLambda).toBeGreaterThan(0);
    expect(manifest.ranker.scoreTuning.method).toContain('re-ranked');
    const d = l.diagnostics;
    for (const a of [d.headAgreement.full, d.headAgreement.light_ranker]) {
      // Durations make the watch head order a user's candidates well; the click head, from the same
      // row, far less so (docs/behavior-model.md).
      expect(a.watchSpearman).toBeGreaterThan(0.8);
      expect(a.watchSpearman).toBeLessThanOrEqual(1);
      expect(a.clickSpearman).toBeGreaterThan(0);
      expect(a.clickSpearman).toBeLessThan(a.watchSpearman);
    }
    // Not bounded by the oracle: that is the best per-item ranking, not the best list.
    for (const r of [d.perfectHeads.lists, ...Object.values(d.plainOrder)]) {
      expect(r.expectedWatchTimeS).toBeGreaterThan(l.retrieval_scores.expectedWatchTimeS);
      expect(r.ndcgAt10).toBeLessThanOrEqual(1);
    }
    for (const r of [d.listAwareScore.full, d.listAwareScore.light_ranker, d.listAwareScore.perfectHeads]) {
      expect(LIST_AWARE_THETAS_S).toContain(r.thetaS);
      expect(r.heldOut.expectedWatchTimeS).toBeGreaterThan(0);
    }
  });

  it('checked ONNX against tfjs during the build (within 1e-4)', () => {
    expect(Object.keys(manifest.parity).sort()).toEqual([
      'item_tower.item_embedding',
      'light_ranker.p_click',
      'light_ranker.watch_time_s',
      'ranker.p_click',
      'ranker.p_finish',
      'ranker.p_like',
      'ranker.watch_time_s',
      'user_tower.user_embedding',
    ]);
    for (const d of Object.values(manifest.parity)) expect(d).toBeLessThanOrEqual(1e-4);
  });

  it('is cached: the same world and seed return the stored manifest without rebuilding', async () => {
    const events: BuildProgress[] = [];
    const t0 = performance.now();
    const again = await buildArtifacts(world, {
      seed: SEED,
      outDir: dir,
      sessions: 40_000,
      maxRankerSessions: 5000,
      onProgress: (e) => events.push(e),
    });
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(again).toEqual(manifest);
    expect(events.map((e) => e.stage)).toEqual(['cached']);
  });
});

describe('ONNX contract (what the core loads)', () => {
  it('user_tower.onnx: user_features [batch, USER_FEATURE_DIM] → user_embedding [batch, EMB_DIM], unit rows', async () => {
    const s = await ort.InferenceSession.create(join(dir, ARTIFACT_FILES.userTower));
    try {
      expect(s.inputNames).toEqual(['user_features']);
      expect(s.outputNames).toEqual(['user_embedding']);
      expect(s.inputMetadata[0]).toMatchObject({
        isTensor: true,
        type: 'float32',
        shape: ['batch', USER_FEATURE_DIM],
      });
      expect(s.outputMetadata[0]).toMatchObject({
        isTensor: true,
        type: 'float32',
        shape: ['batch', EMB_DIM],
      });
      const rows = 7;
      const out = await s.run({
        user_features: new ort.Tensor('float32', randomRows(rows, USER_FEATURE_DIM, 1), [
          rows,
          USER_FEATURE_DIM,
        ]),
      });
      expect(out.user_embedding.dims).toEqual([rows, EMB_DIM]);
      const e = out.user_embedding.data as Float32Array;
      for (let r = 0; r < rows; r++) {
        let n = 0;
        for (let k = 0; k < EMB_DIM; k++) n += e[r * EMB_DIM + k] ** 2;
        expect(Math.sqrt(n)).toBeCloseTo(1, 5);
      }
    } finally {
      await s.release();
    }
  });

  it.each([
    [ARTIFACT_FILES.ranker, ['p_click', 'watch_time_s', 'p_like', 'p_finish']],
    [ARTIFACT_FILES.lightRanker, ['p_click', 'watch_time_s']],
  ])(
    '%s: features [batch, RANKER_INPUT_DIM] → %j [batch, 1], probabilities in [0,1], watch_time_s ≥ 0',
    async (file, outputs) => {
      const s = await ort.InferenceSession.create(join(dir, file));
      try {
        expect(s.inputNames).toEqual(['features']);
        expect(s.outputNames).toEqual(outputs);
        expect(s.inputMetadata[0]).toMatchObject({ type: 'float32', shape: ['batch', RANKER_INPUT_DIM] });
        expect(s.outputMetadata.map((m) => (m.isTensor ? m.shape : []))).toEqual(
          outputs.map(() => ['batch', 1]),
        );
        const rows = 300;
        const out = await s.run({
          features: new ort.Tensor('float32', randomRows(rows, RANKER_INPUT_DIM, 2, 0, 1), [
            rows,
            RANKER_INPUT_DIM,
          ]),
        });
        for (const name of outputs) expect(out[name].dims).toEqual([rows, 1]);
        for (const name of outputs.filter((o) => o.startsWith('p_')))
          for (const p of out[name].data as Float32Array) expect(p >= 0 && p <= 1).toBe(true);
        for (const w of out.watch_time_s.data as Float32Array)
          expect(w >= 0 && Number.isFinite(w)).toBe(true);
      } finally {
        await s.release();
      }
    },
  );
});

describe('ONNX export parity (independent of the build)', () => {
  it('exported towers, MMoE ranker and light ranker equal tfjs within 1e-4 on random rows', async () => {
    // Tiny models trained for one epoch on random data: enough to make every weight non-trivial.
    const n = 512;
    const tt = await trainTwoTower(
      {
        pairs: n,
        userX: randomRows(n, USER_FEATURE_DIM, 3, 0, 1),
        videoX: randomRows(n, VIDEO_FEATURE_DIM, 4, 0, 1),
        video: Uint32Array.from({ length: n }, (_, i) => i % 97),
        logQ: new Float32Array(n).fill(Math.log(1 / 97)),
      },
      { seed: 1, epochs: 1, batchSize: 64 },
    );
    const rankerRows = {
      rows: n,
      x: randomRows(n, RANKER_INPUT_DIM, 5, 0, 1),
      clicked: Uint8Array.from({ length: n }, (_, i) => (i % 7 === 0 ? 1 : 0)),
      watchTimeS: Float32Array.from({ length: n }, (_, i) => (i % 7 === 0 ? 30 + i : 0)),
      position: Uint8Array.from({ length: n }, (_, i) => i % 10),
      liked: Uint8Array.from({ length: n }, (_, i) => (i % 14 === 0 ? 1 : 0)),
      finished: Uint8Array.from({ length: n }, (_, i) => (i % 21 === 0 ? 1 : 0)),
      disliked: Uint8Array.from({ length: n }, (_, i) => (i % 49 === 7 ? 1 : 0)),
    };
    const rk = await trainRanker(rankerRows, { seed: 1, epochs: 1, batchSize: 64 });
    const lightRk = await trainRanker(rankerRows, { seed: 1, epochs: 1, batchSize: 64, arch: 'mlp' });
    // Non-trivial Platt maps, so the baked Mul/Add are checked too.
    rk.model.platt = {
      click: { a: 0.8, b: -0.3 },
      like: { a: 1.2, b: 0.1 },
      finish: { a: 0.9, b: 0 },
    };
    lightRk.model.platt = { click: { a: 0.7, b: 0.2 } };
    const rows = 64;
    const run = async (bytes: Uint8Array, feeds: Record<string, ort.Tensor>) => {
      const s = await ort.InferenceSession.create(bytes);
      try {
        return await s.run(feeds);
      } finally {
        await s.release();
      }
    };
    const maxDiff = (a: Float32Array, b: Float32Array) => {
      expect(a.length).toBe(b.length);
      let m = 0;
      for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
      return m;
    };

    const ux = randomRows(rows, USER_FEATURE_DIM, 6);
    const u = await run(exportTowerOnnx(tt.model.userTower, 'user'), {
      user_features: new ort.Tensor('float32', ux, [rows, USER_FEATURE_DIM]),
    });
    expect(
      maxDiff(u.user_embedding.data as Float32Array, embed(tt.model.userTower, ux, USER_FEATURE_DIM)),
    ).toBeLessThan(1e-4);

    const vx = randomRows(rows, VIDEO_FEATURE_DIM, 7);
    const v = await run(exportTowerOnnx(tt.model.itemTower, 'item'), {
      video_features: new ort.Tensor('float32', vx, [rows, VIDEO_FEATURE_DIM]),
    });
    expect(
      maxDiff(v.item_embedding.data as Float32Array, embed(tt.model.itemTower, vx, VIDEO_FEATURE_DIM)),
    ).toBeLessThan(1e-4);

    const parityRows = 1000;
    const rx = randomRows(parityRows, RANKER_INPUT_DIM, 8);
    const feeds = { features: new ort.Tensor('float32', rx, [parityRows, RANKER_INPUT_DIM]) };
    const r = await run(exportRankerOnnx(rk.model), feeds);
    const ref = predictRanker(rk.model, rx);
    expect(maxDiff(r.p_click.data as Float32Array, ref.pClick)).toBeLessThan(1e-4);
    expect(maxDiff(r.watch_time_s.data as Float32Array, ref.watchTimeS)).toBeLessThan(1e-4);
    expect(maxDiff(r.p_like.data as Float32Array, ref.pLike!)).toBeLessThan(1e-4);
    expect(maxDiff(r.p_finish.data as Float32Array, ref.pFinish!)).toBeLessThan(1e-4);
    expect(r.p_dislike).toBeUndefined();
    const l = await run(exportRankerOnnx(lightRk.model), feeds);
    const lightRef = predictRanker(lightRk.model, rx);
    expect(Object.keys(l).sort()).toEqual(['p_click', 'watch_time_s']);
    expect(maxDiff(l.p_click.data as Float32Array, lightRef.pClick)).toBeLessThan(1e-4);
    expect(maxDiff(l.watch_time_s.data as Float32Array, lightRef.watchTimeS)).toBeLessThan(1e-4);
    // The models are not constant: parity on a constant would prove nothing.
    expect(Math.max(...ref.pClick) - Math.min(...ref.pClick)).toBeGreaterThan(1e-3);
    expect(Math.max(...ref.pLike!) - Math.min(...ref.pLike!)).toBeGreaterThan(1e-3);
  });
});
