import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  RANKER_INPUT_DIM,
  USER_FEATURE_DIM,
  USER_RECORD_LEN,
  VIDEO_FEATURE_DIM,
  VIDEO_RECORD,
  VIDEO_RECORD_LEN,
} from '../../core/features/schema.ts';
import { recordTrainingDistribution } from '../../core/observability/drift-monitor.ts';
import { DEFAULT_SCORE_WEIGHTS } from '../../core/pipeline/experiments.ts';
import { seededRandom } from '../../core/random/seeded-random.ts';
import { INDEX_CARD_FILE, INDEX_FILE } from '../index/rebuild-index.ts';
import { oracleList } from '../quality/reference-lists.ts';
import { SimError } from '../sim-error.ts';
import { dotRows } from '../util/vector.ts';
import type { World } from '../world/world.ts';
import { worldHash } from '../world/world-hash.ts';
import { expectedCalibrationError, fitPlatt, sigmoid } from './calibration.ts';
import { CONTENT_DIM, contentEmbeddings, contentProfiles } from './content-embeddings.ts';
import {
  clickedAuc,
  embeddingRecall,
  groundTruthRecall,
  ndcgAt,
  rankerQuality,
  retrievalRecall,
} from './evaluate.ts';
import { tuneListAware } from './list-aware-score.ts';
import {
  ARTIFACT_FILES,
  ARTIFACTS_CODE_VERSION,
  type ArtifactManifest,
  type OfflineListMetrics,
  readCachedManifest,
} from './manifest.ts';
import { rocAuc } from './metrics.ts';
import { ListJudge, offlineCandidates, sampleUsers } from './offline-lists.ts';
import { OFFLINE_RERANK, type OfflineServing } from './offline-serving.ts';
import { exportRankerOnnx, exportTowerOnnx, ONNX_NAMES, RANKER_OUTPUT_NAMES } from './onnx-export.ts';
import { onnxParity } from './onnx-parity.ts';
import {
  combinedScore,
  DEFAULT_LOSS_WEIGHTS,
  disposeRanker,
  PROBABILITY_TASKS,
  type ProbabilityTask,
  positionLogits,
  predictRanker,
  type Ranker,
  type RankerData,
  type RankerPredictions,
  type RankerTask,
  rankerLogits,
  rankerLoss,
  SERVING_POSITION,
  trainRanker,
} from './ranker.ts';
import { userRecords, videoRecords } from './records.ts';
import { judgeScores, judgeWeights, tuneScoreWeights } from './score-weights.ts';
import { historySlice, simulateLogs, testSlice, trainSlice } from './simulate-logs.ts';
import type { TrainProgress } from './train-progress.ts';
import {
  allUserInputs,
  allVideoInputs,
  rankerData,
  sampleClicks,
  sampleSessions,
  twoTowerData,
} from './training-data.ts';
import { headAgreement, truthHeads } from './truth-heads.ts';
import { EMB_DIM, embed, gatherRows, trainTwoTower } from './two-tower.ts';

/** Stages reported through `onProgress`, in order. */
export type BuildStage =
  | 'cached'
  | 'logs'
  | 'records'
  | 'two-tower'
  | 'embeddings'
  | 'ranker'
  | 'evaluate'
  | 'export'
  | 'parity'
  | 'write'
  | 'done';

export interface BuildProgress {
  stage: BuildStage;
  message: string;
  /** Present during the `two-tower` and `ranker` stages. */
  train?: TrainProgress;
}

export interface BuildArtifactsOptions {
  /** Seed of the logs and of model initialisation/shuffling. */
  seed: number;
  /** Directory to write into (created if missing). */
  outDir: string;
  /** Logged sessions; default `clamp(users × 10, 50 000, 2 000 000)`. */
  sessions?: number;
  /** Training epochs of each model; default 3. */
  epochs?: number;
  /** Rebuild even when a matching manifest exists. */
  force?: boolean;
  /** Cap on two-tower positive pairs (default 24 000) and on ranker training sessions (default 10 000 = 100 000 rows). */
  maxTwoTowerPairs?: number;
  maxRankerSessions?: number;
  onProgress?: (e: BuildProgress) => void;
}

/** Default sessions for a world of `users` users. */
export function defaultSessions(users: number): number {
  return Math.min(2_000_000, Math.max(50_000, users * 10));
}

/**
 * Held-out sample sizes, bounded so evaluation stays a few seconds at any world size: recall scores
 * every video per click, so the click sample shrinks as the catalogue grows (≤ 2e9 multiply-adds,
 * between 500 and 2000 clicks: 2000 up to 15 625 videos at 64-d).
 */
const evalMaxClicks = (videos: number) => Math.max(500, Math.min(2000, Math.floor(2e9 / (videos * EMB_DIM))));
const EVAL_MAX_SESSIONS = 5000;
/**
 * Per-epoch validation (progress only): held-out clicks for the two-tower's recall@100, bounded like
 * `evalMaxClicks` but 5× cheaper since it runs every epoch (100…400 clicks), and ranker rows for the
 * click AUC.
 */
const valMaxClicks = (videos: number) => Math.max(100, Math.min(400, Math.floor(2e8 / (videos * EMB_DIM))));
const VAL_RANKER_ROWS = 20_000;
/** Rows per model in the ONNX parity check: real rows plus 256 uniform random rows in [−1, 2). */
const PARITY_ROWS = 1000;
const PARITY_RANDOM_ROWS = 256;
/** Share of the training period (its latest sessions) held out to fit the Platt maps. */
const CALIBRATION_FRACTION = 0.15;
/** Users whose true top 100 is compared with each retrieval source. */
const GROUND_TRUTH_USERS = 200;
const MMOE_EXPERTS = 4;
const MMOE_EXPERT_UNITS = 32;
const MMOE_TOWER_UNITS = 16;
/**
 * Hidden units of the light ranker, the in-process CPU fallback (and the brownout rung). 8, not the
 * MMoE expert width of 32 (`artifacts-8`): its cost is paid on the core's event loop for every
 * request it serves, and `npx tsx bench/ranking.ts --model light_ranker.onnx --candidates 300
 * --threads 1` measured 176 µs of CPU a call at 32 units against 132 µs at 8 (docs/behavior-model.md,
 * "The user's history and follows").
 */
const LIGHT_HIDDEN_UNITS = 8;
const ECE_BINS = 15;
/** Served list length the offline rung lists are judged at (the live scenarios ask for 30). */
const LIST_LENGTH = 30;
/** Score tuning keeps NDCG@10 within this share of the default weights' (`tuneScoreWeights`). */
const NDCG_TOLERANCE = 0.05;
/**
 * The main ranker's NDCG@10 floor sits this share above the light ranker's tuned validation NDCG@10
 * (`artifacts-9`). With no margin the two tuned lists met the floor at almost the same validation NDCG, and
 * on seed 7's held-out users the MMoE's came out 0.001 lower (0.336 against 0.337; on validation
 * 0.330 against 0.326): the gap moved by 0.005, about 1.5 % of either, between the validation and
 * the held-out users, so the margin is twice that (docs/behavior-model.md, "The NDCG margin").
 */
const NDCG_MARGIN = 0.03;
/**
 * Users per offline list set (validation and held-out): each costs a full inner-product scan of
 * the catalogue, so fewer for large catalogues (≤ 2e9 multiply-adds, between 50 and 300 users).
 */
const offlineListUsers = (videos: number) =>
  Math.max(50, Math.min(300, Math.floor(2e9 / (videos * EMB_DIM))));
const SCORE_FORMULA =
  'p_click^click * (watch_time_s^watchTime * max(0, 1 + like*p_like + finish*p_finish - dislike*p_dislike) * max(0, 1 - clickbait*p_click*(1 - min(1, watch_time_s/duration_s))) - watchBaseline^watchTime), shifted per request to be >= 0';
const countOnes = (a: Uint8Array) => a.reduce((s, x) => s + x, 0);
const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

/** Reference outputs of a ranker as served, keyed by ONNX output name. */
function rankerOutputs(model: Ranker, x: Float32Array): Record<string, Float32Array> {
  const p = predictRanker(model, x);
  const byTask: Record<RankerTask, Float32Array | undefined> = {
    click: p.pClick,
    watch: p.watchTimeS,
    like: p.pLike,
    finish: p.pFinish,
  };
  return Object.fromEntries(model.tasks.map((t) => [RANKER_OUTPUT_NAMES[t], byTask[t]!]));
}

/**
 * Fits a Platt map per probability head of `model` on `cal` (logits at the logged positions;
 * reaction heads on clicked rows only) and stores it in `model.platt`; returns, per head, the map
 * and the ECE on `test` before and after.
 */
function calibrateRanker(
  model: Ranker,
  cal: RankerData,
  test: RankerData,
  prefix: string,
): Record<string, { a: number; b: number; eceBefore: number; eceAfter: number }> {
  const calZ = rankerLogits(model, cal.x, cal.position);
  const testZ = rankerLogits(model, test.x, test.position);
  const labels = (d: RankerData, t: ProbabilityTask) =>
    t === 'click' ? d.clicked : t === 'like' ? d.liked : d.finished;
  const out: Record<string, { a: number; b: number; eceBefore: number; eceAfter: number }> = {};
  for (const t of PROBABILITY_TASKS) {
    if (!model.tasks.includes(t)) continue;
    const mask = (d: RankerData) => (t === 'click' ? undefined : d.clicked);
    const platt = fitPlatt(calZ[t]!, labels(cal, t), mask(cal));
    model.platt[t] = platt;
    const z = testZ[t]!;
    const before = Float64Array.from(z, (v) => sigmoid(v));
    const after = Float64Array.from(z, (v) => sigmoid(platt.a * v + platt.b));
    out[`${prefix}.${RANKER_OUTPUT_NAMES[t]}`] = {
      a: round6(platt.a),
      b: round6(platt.b),
      eceBefore: expectedCalibrationError(before, labels(test, t), ECE_BINS, mask(test)),
      eceAfter: expectedCalibrationError(after, labels(test, t), ECE_BINS, mask(test)),
    };
  }
  return out;
}
export const PARITY_TOLERANCE = 1e-4;

/**
 * Simulates logs from the world, derives feature records, trains the two-tower model, the MMoE
 * ranker and the light ranker with tfjs (time-based split: history period → records, training
 * period → labels, its latest 15 % → Platt calibration, held-out period → evaluation), builds the
 * content embeddings, evaluates everything against popularity baselines (AUC per head, watch-time
 * RMSE, recall@100 on held-out clicks and against the ground-truth top 100, NDCG@10, ECE before and
 * after calibration), exports ONNX models (checked against tfjs with ONNX Runtime on 1,000 rows each)
 * and writes everything into `outDir`: `user_tower.onnx`, `item_tower.onnx`, `ranker.onnx`,
 * `light_ranker.onnx`, `item_embeddings.f32`, `content_embeddings.f32`, `user_records.f32`,
 * `video_records.f32` and, last, `manifest.json` (so an interrupted build is never taken as cached).
 *
 * Cached: when `outDir/manifest.json` matches the world hash, seed, sessions, epochs and
 * `ARTIFACTS_CODE_VERSION`, nothing is rebuilt and that manifest is returned.
 *
 * @throws SimError `RECLAB_ERR_ARTIFACTS_OPTIONS_INVALID` (bad sessions/epochs),
 *   `RECLAB_ERR_ARTIFACTS_DATA_INSUFFICIENT` (too few clicks to train or evaluate),
 *   `RECLAB_ERR_ARTIFACTS_PARITY` (ONNX differs from tfjs by more than 1e-4)
 */
export async function buildArtifacts(world: World, opts: BuildArtifactsOptions): Promise<ArtifactManifest> {
  const started = performance.now();
  const { users, videos, nowS } = world.config;
  const options = {
    sessions: opts.sessions ?? defaultSessions(users),
    epochs: opts.epochs ?? 3,
    maxTwoTowerPairs: opts.maxTwoTowerPairs ?? 24_000,
    maxRankerSessions: opts.maxRankerSessions ?? 10_000,
  };
  const { sessions, epochs } = options;
  const problems = Object.entries(options)
    .filter(([name, value]) => !Number.isInteger(value) || value < (name === 'sessions' ? 100 : 1))
    .map(([name, value]) => `${name}=${value}`);
  if (problems.length > 0) {
    throw new SimError(
      'RECLAB_ERR_ARTIFACTS_OPTIONS_INVALID',
      `${problems.join('; ')} (want integers, sessions ≥ 100, others ≥ 1)`,
    );
  }
  const report = (stage: BuildStage, message: string, train?: TrainProgress) =>
    opts.onProgress?.(train ? { stage, message, train } : { stage, message });
  const hash = worldHash(world);

  if (!opts.force) {
    const cached = readCachedManifest(opts.outDir, {
      worldHash: hash,
      seed: opts.seed,
      options,
      embDim: EMB_DIM,
    });
    if (cached) {
      report('cached', `artifacts ${cached.modelVersion} up to date in ${opts.outDir}`);
      return cached;
    }
  }

  report('logs', `simulating ${sessions} sessions`);
  const log = simulateLogs(world, { sessions, seed: opts.seed });
  report('records', 'deriving user and video records from the history period');
  const history = historySlice(log);
  const userRec = userRecords(world, history);
  const videoRec = videoRecords(world, history);

  const sampler = seededRandom(opts.seed).stream('artifacts.sample');
  const train = trainSlice(log);
  const test = testSlice(log);
  // Time-based validation slice: the latest CALIBRATION_FRACTION of the training period is kept out
  // of training; it fits the Platt maps and gives the per-epoch validation metrics.
  const calSessions = Math.floor((train.endSession - train.startSession) * CALIBRATION_FRACTION);
  const fitSlice = { ...train, endSession: train.endSession - calSessions };
  const calSlice = { ...train, startSession: train.endSession - calSessions };
  const trainClicks = sampleClicks(fitSlice, options.maxTwoTowerPairs, sampler);
  const testClicks = sampleClicks(test, evalMaxClicks(videos), sampler);
  const valClicks = sampleClicks(calSlice, valMaxClicks(videos), sampler);
  if (trainClicks.length < 64 || testClicks.length < 10) {
    throw new SimError(
      'RECLAB_ERR_ARTIFACTS_DATA_INSUFFICIENT',
      `${trainClicks.length} training and ${testClicks.length} held-out clicks (want ≥ 64 and ≥ 10): raise sessions`,
    );
  }

  const userInputs = allUserInputs(userRec);
  const videoInputs = allVideoInputs(videoRec, nowS);
  const valUserInputs = gatherRows(
    userInputs,
    USER_FEATURE_DIM,
    Uint32Array.from(valClicks, (i) => log.user[i]),
  );
  const valVideo = Uint32Array.from(valClicks, (i) => log.video[i]);
  const valRow = Uint32Array.from(valClicks, (_, c) => c);
  const trainStarted = performance.now();
  const ttData = twoTowerData(fitSlice, trainClicks, userRec, videoRec);
  const twoTower = await trainTwoTower(ttData, {
    seed: opts.seed,
    epochs,
    // recall@100 over all videos of held-out clicks of the validation slice.
    validate: (m) => ({
      name: 'recall@100',
      value: embeddingRecall(
        valRow,
        valVideo,
        embed(m.userTower, valUserInputs, USER_FEATURE_DIM),
        embed(m.itemTower, videoInputs, VIDEO_FEATURE_DIM),
        EMB_DIM,
        100,
      ),
    }),
    onProgress: (e) => report('two-tower', `two-tower epoch ${e.epoch}/${e.epochs}`, e),
  });
  const towerSeconds = (performance.now() - trainStarted) / 1000;

  report('embeddings', `embedding ${users} users and ${videos} videos`);
  const userEmb = embed(twoTower.model.userTower, userInputs, USER_FEATURE_DIM);
  const itemEmb = embed(twoTower.model.itemTower, videoInputs, VIDEO_FEATURE_DIM);

  const rankerStarted = performance.now();
  const rTrain = rankerData(
    fitSlice,
    sampleSessions(fitSlice, options.maxRankerSessions, sampler),
    userRec,
    videoRec,
    userEmb,
    itemEmb,
  );
  const rCal = rankerData(
    calSlice,
    sampleSessions(calSlice, EVAL_MAX_SESSIONS, sampler),
    userRec,
    videoRec,
    userEmb,
    itemEmb,
  );
  // Click AUC (at the served position) on the first rows of the held-out calibration sample.
  const valRows = Math.min(rCal.rows, VAL_RANKER_ROWS);
  const valX = rCal.x.subarray(0, valRows * RANKER_INPUT_DIM);
  const valClicked = rCal.clicked.subarray(0, valRows);
  const validateRanker = (m: Ranker) => ({
    name: 'click auc',
    value: rocAuc(predictRanker(m, valX).pClick, valClicked),
  });
  // Early stopping on the weighted loss of the same held-out rows (higher = better: minus the loss).
  const valData: RankerData = {
    rows: valRows,
    x: valX,
    clicked: valClicked,
    watchTimeS: rCal.watchTimeS.subarray(0, valRows),
    position: rCal.position.subarray(0, valRows),
    liked: rCal.liked.subarray(0, valRows),
    finished: rCal.finished.subarray(0, valRows),
    disliked: rCal.disliked.subarray(0, valRows),
  };
  const selectBy = (m: Ranker) => -rankerLoss(m, valData);
  const ranker = await trainRanker(rTrain, {
    seed: opts.seed,
    epochs,
    experts: MMOE_EXPERTS,
    expertUnits: MMOE_EXPERT_UNITS,
    towerUnits: MMOE_TOWER_UNITS,
    validate: validateRanker,
    selectBy,
    onProgress: (e) => report('ranker', `MMoE ranker epoch ${e.epoch}/${e.epochs}`, e),
  });
  const light = await trainRanker(rTrain, {
    seed: opts.seed,
    arch: 'mlp',
    epochs,
    expertUnits: LIGHT_HIDDEN_UNITS,
    validate: validateRanker,
    selectBy,
    onProgress: (e) => report('ranker', `light ranker epoch ${e.epoch}/${e.epochs}`, e),
  });
  const trainSeconds = towerSeconds + (performance.now() - rankerStarted) / 1000;

  report('evaluate', 'calibrating and evaluating on the held-out period');
  const rTest = rankerData(
    test,
    sampleSessions(test, EVAL_MAX_SESSIONS, sampler),
    userRec,
    videoRec,
    userEmb,
    itemEmb,
  );
  const calibration = {
    ...calibrateRanker(ranker.model, rCal, rTest, 'ranker'),
    ...calibrateRanker(light.model, rCal, rTest, 'light_ranker'),
  };
  const clickUser = Uint32Array.from(testClicks, (i) => log.user[i]);
  const clickVideo = Uint32Array.from(testClicks, (i) => log.video[i]);
  const recall = retrievalRecall(clickUser, clickVideo, userEmb, itemEmb, videoRec, 100);
  const contentEmb = contentEmbeddings(videoRec);
  const profiles = contentProfiles(history, users, contentEmb, CONTENT_DIM);
  const contentRecall100 = embeddingRecall(clickUser, clickVideo, profiles, contentEmb, CONTENT_DIM, 100);
  const truthUsers = Uint32Array.from(new Set(clickUser)).slice(0, GROUND_TRUTH_USERS);
  const popularityScores = Float32Array.from(
    { length: videos },
    (_, v) => videoRec[v * VIDEO_RECORD_LEN + VIDEO_RECORD.logViews],
  );
  const dotAll =
    (userVec: Float32Array, itemVec: Float32Array, dim: number) => (u: number, out: Float32Array) => {
      for (let v = 0; v < videos; v++) out[v] = dotRows(userVec, u, itemVec, v, dim);
    };
  const truthRecall = groundTruthRecall(world, truthUsers, {
    twoTower: dotAll(userEmb, itemEmb, EMB_DIM),
    content: dotAll(profiles, contentEmb, CONTENT_DIM),
    popularity: (_u, out) => out.set(popularityScores),
  });

  const testPred = predictRanker(ranker.model, rTest.x);
  const lightPred = predictRanker(light.model, rTest.x);
  let watchSum = 0;
  let watchN = 0;
  for (let i = 0; i < rTrain.rows; i++) {
    if (rTrain.clicked[i]) {
      watchSum += rTrain.watchTimeS[i];
      watchN++;
    }
  }
  const meanWatch = watchN ? watchSum / watchN : 0;
  const quality = rankerQuality(rTest, testPred.pClick, testPred.watchTimeS, videoRec, meanWatch);
  const lightQuality = rankerQuality(rTest, lightPred.pClick, lightPred.watchTimeS, videoRec, meanWatch);
  // The score weights: tuned per ranker on lists for validation-period users, then every rung's
  // lists judged on other users of the held-out period (sim/models/offline-lists.ts).
  report('evaluate', 'tuning the ranking-score weights and judging each rung on offline lists');
  const listRng = seededRandom(opts.seed).stream('artifacts.offline-users');
  const listUsers = offlineListUsers(videos);
  const usersOf = (slice: { startSession: number; endSession: number }) =>
    log.sessionUser.subarray(slice.startSession, slice.endSession);
  const valUsers = sampleUsers(usersOf(calSlice), listUsers, listRng);
  const heldOutUsers = sampleUsers(usersOf(test), listUsers, listRng, new Set(valUsers));
  const listData = { userRec, videoRec, userEmb, itemEmb, embDim: EMB_DIM };
  const valLists = offlineCandidates(world, listData, valUsers);
  const testLists = offlineCandidates(world, listData, heldOutUsers);
  const judge = new ListJudge(world);
  // Lists are the pages the core would serve: its re-ranking applied to each score.
  const serving: OfflineServing = { rerank: OFFLINE_RERANK, seed: opts.seed };
  const tuneOpts = { ndcgTolerance: NDCG_TOLERANCE, listLength: LIST_LENGTH, serving };
  const valPred = predictRanker(ranker.model, valLists.x);
  const valLightPred = predictRanker(light.model, valLists.x);
  // The light ranker's guard is its own default weights' NDCG@10 (less NDCG_TOLERANCE). The main
  // ranker's guard is its fallback's tuned validation NDCG@10 raised by NDCG_MARGIN: it may serve no
  // lower NDCG than the rung below it, with room for the validation users not being the held-out ones. (A floor derived from each
  // ranker's own default weights held the better ranker to a stricter floor: on seed 7, the MMoE at
  // 0.38 and the light ranker at 0.36, which alone made the light ranker's lists look better.)
  const lightTuned = tuneScoreWeights(judge, valLists, valLightPred, tuneOpts);
  const fullFloor = lightTuned.tuned.ndcgAt10 * (1 + NDCG_MARGIN);
  const tuned = tuneScoreWeights(judge, valLists, valPred, { ...tuneOpts, ndcgFloor: fullFloor });
  const testListPred = predictRanker(ranker.model, testLists.x);
  const testLightPred = predictRanker(light.model, testLists.x);
  const regionList = (i: number) =>
    testLists.popularityByRegion[world.userRegion[heldOutUsers[i]]].subarray(0, LIST_LENGTH);
  // Merge order as a score (first candidate highest), re-ranked as the core does on that rung.
  const mergeScore = new Float64Array(testLists.videos.length);
  for (let i = 0; i < heldOutUsers.length; i++) {
    const from = testLists.offsets[i];
    const n = testLists.offsets[i + 1] - from;
    for (let j = 0; j < n; j++) mergeScore[from + j] = 1 - j / n;
  }
  const noHeads = {
    pClick: new Float32Array(testLists.videos.length),
    watchTimeS: new Float32Array(testLists.videos.length),
  };
  // Diagnostics against the ground truth: how well each ranker's heads order a user's candidates,
  // what perfect heads would serve under the same formula and tuning, and what the textbook
  // list-aware score (odds, plain order: sim/models/list-aware-score.ts) would rank.
  const valTruth = truthHeads(world, valLists);
  const testTruth = truthHeads(world, testLists);
  const lightFloor = lightTuned.start.ndcgAt10 * (1 - NDCG_TOLERANCE);
  // Perfect heads are held to the main ranker's NDCG floor (their own default-weight NDCG is far higher).
  const truthTuned = tuneScoreWeights(judge, valLists, valTruth, {
    ...tuneOpts,
    names: ['watchBaseline', 'click', 'watchTime', 'clickbait'],
    ndcgFloor: fullFloor,
  });
  const listAware = (
    valP: Pick<RankerPredictions, 'pClick' | 'watchTimeS'>,
    testP: Pick<RankerPredictions, 'pClick' | 'watchTimeS'>,
    floor: number,
  ) =>
    // Plain order, next to `plainOrder`: the score without the re-ranking (the core serves its own
    // form, the formula's watchBaseline, re-ranked).
    tuneListAware(judge, { c: valLists, p: valP }, { c: testLists, p: testP }, floor, LIST_LENGTH);
  const offlineLists: OfflineListMetrics = {
    users: heldOutUsers.length,
    validationUsers: valUsers.length,
    listLength: LIST_LENGTH,
    reranking: { ...OFFLINE_RERANK },
    full: judgeWeights(judge, testLists, testListPred, tuned.weights, LIST_LENGTH, serving),
    fullDefaultWeights: judgeWeights(
      judge,
      testLists,
      testListPred,
      DEFAULT_SCORE_WEIGHTS,
      LIST_LENGTH,
      serving,
    ),
    light_ranker: judgeWeights(judge, testLists, testLightPred, lightTuned.weights, LIST_LENGTH, serving),
    retrieval_scores: judgeScores(judge, testLists, noHeads, mergeScore, LIST_LENGTH, serving),
    popularity: judge.judge(heldOutUsers, regionList),
    editorial: judge.judge(heldOutUsers, () => testLists.editorial.subarray(0, LIST_LENGTH)),
    oracle: judge.judge(heldOutUsers, (i) => oracleList(world, {}, heldOutUsers[i], LIST_LENGTH)),
    diagnostics: {
      headAgreement: {
        full: headAgreement(testLists, testListPred, testTruth),
        light_ranker: headAgreement(testLists, testLightPred, testTruth),
      },
      perfectHeads: {
        weights: truthTuned.weights,
        lists: judgeWeights(judge, testLists, testTruth, truthTuned.weights, LIST_LENGTH, serving),
      },
      // The formula's lists in the plain order of the scores, to compare with the list-aware ones.
      plainOrder: {
        full: judgeWeights(judge, testLists, testListPred, tuned.weights, LIST_LENGTH),
        light_ranker: judgeWeights(judge, testLists, testLightPred, lightTuned.weights, LIST_LENGTH),
        perfectHeads: judgeWeights(judge, testLists, testTruth, truthTuned.weights, LIST_LENGTH),
      },
      listAwareScore: {
        full: listAware(valPred, testListPred, fullFloor),
        light_ranker: listAware(valLightPred, testLightPred, lightFloor),
        perfectHeads: listAware(valTruth, testTruth, fullFloor),
      },
    },
  };

  const k = log.k;
  const coreScore = Float32Array.from(testPred.pClick, (p, i) => p * testPred.watchTimeS[i]);
  const ndcg10 = {
    ndcg10Mmoe: ndcgAt(rTest, k, combinedScore(testPred, rTest.x, tuned.weights)),
    ndcg10MmoeCoreScore: ndcgAt(rTest, k, coreScore),
    ndcg10Light: ndcgAt(rTest, k, combinedScore(lightPred, rTest.x, lightTuned.weights)),
    ndcg10Popularity: ndcgAt(
      rTest,
      k,
      Float32Array.from(rTest.video, (v) => popularityScores[v]),
    ),
    ndcg10Logged: ndcgAt(
      rTest,
      k,
      Float32Array.from({ length: rTest.rows }, (_, i) => -rTest.position[i]),
    ),
  };

  const modelVersion = `m-${opts.seed}-${hash.slice(0, 12)}`;
  report('export', `exporting ONNX models (${modelVersion})`);
  const meta = { model_version: modelVersion, world_hash: hash };
  const userTowerBytes = exportTowerOnnx(twoTower.model.userTower, 'user', meta);
  const itemTowerBytes = exportTowerOnnx(twoTower.model.itemTower, 'item', meta);
  const rankerMeta = {
    ...meta,
    score_formula: SCORE_FORMULA,
    score_weights: JSON.stringify(tuned.weights),
    serving_position: String(SERVING_POSITION),
  };
  const rankerBytes = exportRankerOnnx(ranker.model, rankerMeta);
  const lightBytes = exportRankerOnnx(light.model, {
    ...meta,
    score_formula: SCORE_FORMULA,
    score_weights: JSON.stringify(lightTuned.weights),
    serving_position: String(SERVING_POSITION),
  });

  report('parity', 'checking ONNX Runtime against tfjs');
  const parityRng = seededRandom(opts.seed).stream('artifacts.parity');
  const parityRows = (source: Float32Array, width: number): Float32Array => {
    const realRows = Math.min(PARITY_ROWS - PARITY_RANDOM_ROWS, source.length / width);
    const picks = Uint32Array.from({ length: realRows }, () => parityRng.int(source.length / width));
    const out = new Float32Array((realRows + PARITY_RANDOM_ROWS) * width);
    out.set(gatherRows(source, width, picks));
    for (let i = realRows * width; i < out.length; i++) out[i] = parityRng.next() * 3 - 1;
    return out;
  };
  const userParityX = parityRows(userInputs, USER_FEATURE_DIM);
  const itemParityX = parityRows(videoInputs, VIDEO_FEATURE_DIM);
  const rankerParityX = parityRows(rTest.x, RANKER_INPUT_DIM);
  const prefixed = (prefix: string, values: Record<string, number>) =>
    Object.fromEntries(Object.entries(values).map(([name, d]) => [`${prefix}.${name}`, d]));
  const checks = await Promise.all([
    onnxParity(userTowerBytes, ONNX_NAMES.userTower.input, userParityX, USER_FEATURE_DIM, {
      [ONNX_NAMES.userTower.output]: embed(twoTower.model.userTower, userParityX, USER_FEATURE_DIM),
    }).then((c) => prefixed('user_tower', c.maxDiff)),
    onnxParity(itemTowerBytes, ONNX_NAMES.itemTower.input, itemParityX, VIDEO_FEATURE_DIM, {
      [ONNX_NAMES.itemTower.output]: embed(twoTower.model.itemTower, itemParityX, VIDEO_FEATURE_DIM),
    }).then((c) => prefixed('item_tower', c.maxDiff)),
    onnxParity(
      rankerBytes,
      ONNX_NAMES.ranker.input,
      rankerParityX,
      RANKER_INPUT_DIM,
      rankerOutputs(ranker.model, rankerParityX),
    ).then((c) => prefixed('ranker', c.maxDiff)),
    onnxParity(
      lightBytes,
      ONNX_NAMES.ranker.input,
      rankerParityX,
      RANKER_INPUT_DIM,
      rankerOutputs(light.model, rankerParityX),
    ).then((c) => prefixed('light_ranker', c.maxDiff)),
  ]);
  const parity: Record<string, number> = {};
  for (const c of checks) Object.assign(parity, c);
  const broken = Object.entries(parity).filter(([, d]) => !(d <= PARITY_TOLERANCE));
  if (broken.length > 0) {
    throw new SimError(
      'RECLAB_ERR_ARTIFACTS_PARITY',
      broken.map(([name, d]) => `${name} differs by ${d}`).join('; ') + ` (tolerance ${PARITY_TOLERANCE})`,
    );
  }

  report('write', `writing artifacts to ${opts.outDir}`);
  await mkdir(opts.outDir, { recursive: true });
  // An index `reclab index rebuild` saved for the previous build indexes the old embeddings (its
  // card may even have the same factory and width): drop it, and the manifest, before the new files.
  await Promise.all(
    [ARTIFACT_FILES.manifest, INDEX_FILE, INDEX_CARD_FILE].map((f) =>
      rm(join(opts.outDir, f), { force: true }),
    ),
  );
  const write = (file: string, data: Uint8Array | Float32Array) =>
    writeFile(
      join(opts.outDir, file),
      data instanceof Float32Array ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data,
    );
  await Promise.all([
    write(ARTIFACT_FILES.userTower, userTowerBytes),
    write(ARTIFACT_FILES.itemTower, itemTowerBytes),
    write(ARTIFACT_FILES.ranker, rankerBytes),
    write(ARTIFACT_FILES.lightRanker, lightBytes),
    write(ARTIFACT_FILES.contentEmbeddings, contentEmb),
    write(ARTIFACT_FILES.itemEmbeddings, itemEmb),
    write(ARTIFACT_FILES.userRecords, userRec),
    write(ARTIFACT_FILES.videoRecords, videoRec),
  ]);

  let clicks = 0;
  for (let i = 0; i < log.clicked.length; i++) clicks += log.clicked[i];
  const manifest: ArtifactManifest = {
    codeVersion: ARTIFACTS_CODE_VERSION,
    modelVersion,
    worldHash: hash,
    seed: opts.seed,
    world: { users, videos, nowS },
    embDim: EMB_DIM,
    featureDims: {
      user: USER_FEATURE_DIM,
      video: VIDEO_FEATURE_DIM,
      ranker: RANKER_INPUT_DIM,
      userRecord: USER_RECORD_LEN,
      videoRecord: VIDEO_RECORD_LEN,
    },
    options,
    files: ARTIFACT_FILES,
    logs: {
      sessions: log.sessions,
      impressions: log.sessions * log.k,
      clicks,
      historySessions: log.historySessions,
      trainSessions: log.trainSessions,
    },
    training: {
      twoTowerPairs: ttData.pairs,
      rankerRows: rTrain.rows,
      twoTowerEpochLosses: twoTower.epochLosses,
      rankerEpochLosses: ranker.epochLosses,
      validation: {
        twoTowerClicks: valClicks.length,
        rankerRows: valRows,
        twoTower: twoTower.epochVal,
        ranker: ranker.epochVal,
        lightRanker: light.epochVal,
      },
    },
    metrics: {
      twoTowerRecall100: recall.twoTower,
      popularityRecall100: recall.popularity,
      contentRecall100,
      groundTruthRecall100TwoTower: truthRecall.twoTower,
      groundTruthRecall100Content: truthRecall.content,
      groundTruthRecall100Popularity: truthRecall.popularity,
      groundTruthUsers: truthUsers.length,
      ...quality,
      likeAuc: clickedAuc(rTest, testPred.pLike!, rTest.liked),
      finishAuc: clickedAuc(rTest, testPred.pFinish!, rTest.finished),
      lightClickAuc: lightQuality.clickAuc,
      lightWatchTimeRmseS: lightQuality.watchTimeRmseS,
      ...ndcg10,
      trainSeconds,
      buildSeconds: (performance.now() - started) / 1000,
      evalClicks: testClicks.length,
      evalImpressions: rTest.rows,
    },
    ranker: {
      arch: 'mmoe',
      experts: MMOE_EXPERTS,
      expertUnits: MMOE_EXPERT_UNITS,
      towerUnits: MMOE_TOWER_UNITS,
      lightHiddenUnits: LIGHT_HIDDEN_UNITS,
      lossWeights: { ...DEFAULT_LOSS_WEIGHTS },
      scoreWeights: tuned.weights,
      lightScoreWeights: lightTuned.weights,
      scoreFormula: SCORE_FORMULA,
      scoreTuning: {
        method: `coordinate ascent over a grid per weight (sim/models/score-weights.ts): maximise the mean expected watch seconds of ${LIST_LENGTH}-item lists (behaviour model) of validation-period users, re-ranked as the core serves them (offlineLists.reranking), keeping NDCG@10 ≥ ndcgFloor: for the light ranker (1 − ndcgTolerance) × that of its default weights, for the main ranker (1 + ndcgMargin) × the light ranker's tuned NDCG@10 (never below its fallback)`,
        validationUsers: valUsers.length,
        ndcgTolerance: NDCG_TOLERANCE,
        ndcgMargin: NDCG_MARGIN,
        ranker: { start: tuned.start, tuned: tuned.tuned, evaluated: tuned.evaluated, ndcgFloor: fullFloor },
        lightRanker: {
          start: lightTuned.start,
          tuned: lightTuned.tuned,
          evaluated: lightTuned.evaluated,
          ndcgFloor: lightFloor,
        },
      },
      bestEpoch: ranker.bestEpoch,
      lightBestEpoch: light.bestEpoch,
      trainingDislikes: countOnes(rTrain.disliked),
      position: {
        handling:
          'training adds a learned click-logit offset per logged position (shallow position tower); rankerInput is unchanged and the ONNX graph adds the offset of servingPosition as a constant',
        servingPosition: SERVING_POSITION,
        logitByPosition: Array.from(positionLogits(ranker.model).slice(0, k), (x) => round6(x)),
      },
      calibration,
      calibrationRows: rCal.rows,
      lightEpochLosses: light.epochLosses,
    },
    offlineLists,
    content: {
      dim: CONTENT_DIM,
      method:
        'category one-hot + hashed creator unit vector (12-d) + duration bucket one-hot (0.5), L2-normalised; profile = mean of history clicks',
    },
    parity,
    // What drift is measured against (core/observability/drift-monitor.ts, docs/observability.md).
    trainingDistribution: recordTrainingDistribution(
      valLists.x,
      valLists.offsets,
      valPred.pClick,
      'candidate lists of the validation-period users (the lists the weights were tuned on)',
    ),
    createdAt: new Date().toISOString(),
  };
  const manifestPath = join(opts.outDir, ARTIFACT_FILES.manifest);
  await writeFile(`${manifestPath}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(`${manifestPath}.tmp`, manifestPath);
  disposeRanker(ranker.model);
  disposeRanker(light.model);
  report('done', `artifacts ${modelVersion} written to ${opts.outDir}`);
  return manifest;
}
