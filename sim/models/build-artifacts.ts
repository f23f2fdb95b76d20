import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  RANKER_INPUT_DIM,
  USER_FEATURE_DIM,
  USER_RECORD_LEN,
  VIDEO_FEATURE_DIM,
  VIDEO_RECORD_LEN,
} from '../../core/features/schema.ts';
import { seededRandom } from '../../core/random/seeded-random.ts';
import { SimError } from '../sim-error.ts';
import type { World } from '../world/world.ts';
import { worldHash } from '../world/world-hash.ts';
import { rankerQuality, retrievalRecall } from './evaluate.ts';
import {
  ARTIFACT_FILES,
  ARTIFACTS_CODE_VERSION,
  type ArtifactManifest,
  readCachedManifest,
} from './manifest.ts';
import { exportRankerOnnx, exportTowerOnnx, ONNX_NAMES } from './onnx-export.ts';
import { onnxParity } from './onnx-parity.ts';
import { predictRanker, trainRanker } from './ranker.ts';
import { userRecords, videoRecords } from './records.ts';
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
 * every video per click, so the click sample shrinks as the catalogue grows (≤ 1e9 multiply-adds,
 * between 500 and 2000 clicks).
 */
const evalMaxClicks = (videos: number) => Math.max(500, Math.min(2000, Math.floor(1e9 / (videos * EMB_DIM))));
const EVAL_MAX_SESSIONS = 5000;
/** Rows per model in the ONNX parity check: real rows plus uniform random rows in [−1, 2). */
const PARITY_REAL_ROWS = 256;
const PARITY_RANDOM_ROWS = 64;
export const PARITY_TOLERANCE = 1e-4;

/**
 * Simulates logs from the world, derives feature records, trains the two-tower model and the
 * ranker with tfjs, evaluates both on the held-out period against popularity baselines, exports
 * ONNX models (checked against tfjs with ONNX Runtime) and writes everything into `outDir`:
 * `user_tower.onnx`, `item_tower.onnx`, `ranker.onnx`, `item_embeddings.f32`, `user_records.f32`,
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
    const cached = readCachedManifest(opts.outDir, { worldHash: hash, seed: opts.seed, options });
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
  const trainClicks = sampleClicks(train, options.maxTwoTowerPairs, sampler);
  const testClicks = sampleClicks(test, evalMaxClicks(videos), sampler);
  if (trainClicks.length < 64 || testClicks.length < 10) {
    throw new SimError(
      'RECLAB_ERR_ARTIFACTS_DATA_INSUFFICIENT',
      `${trainClicks.length} training and ${testClicks.length} held-out clicks (want ≥ 64 and ≥ 10): raise sessions`,
    );
  }

  const trainStarted = performance.now();
  const ttData = twoTowerData(train, trainClicks, userRec, videoRec);
  const twoTower = await trainTwoTower(ttData, {
    seed: opts.seed,
    epochs,
    onProgress: (e) => report('two-tower', `two-tower epoch ${e.epoch}/${e.epochs}`, e),
  });
  const towerSeconds = (performance.now() - trainStarted) / 1000;

  report('embeddings', `embedding ${users} users and ${videos} videos`);
  const userInputs = allUserInputs(userRec);
  const videoInputs = allVideoInputs(videoRec, nowS);
  const userEmb = embed(twoTower.model.userTower, userInputs, USER_FEATURE_DIM);
  const itemEmb = embed(twoTower.model.itemTower, videoInputs, VIDEO_FEATURE_DIM);

  const rankerStarted = performance.now();
  const rTrain = rankerData(
    train,
    sampleSessions(train, options.maxRankerSessions, sampler),
    userRec,
    videoRec,
    userEmb,
    itemEmb,
  );
  const ranker = await trainRanker(rTrain, {
    seed: opts.seed,
    epochs,
    onProgress: (e) => report('ranker', `ranker epoch ${e.epoch}/${e.epochs}`, e),
  });
  const trainSeconds = towerSeconds + (performance.now() - rankerStarted) / 1000;

  report('evaluate', 'evaluating on the held-out period');
  const clickUser = Uint32Array.from(testClicks, (i) => log.user[i]);
  const clickVideo = Uint32Array.from(testClicks, (i) => log.video[i]);
  const recall = retrievalRecall(clickUser, clickVideo, userEmb, itemEmb, videoRec, 100);
  const rTest = rankerData(
    test,
    sampleSessions(test, EVAL_MAX_SESSIONS, sampler),
    userRec,
    videoRec,
    userEmb,
    itemEmb,
  );
  const testPred = predictRanker(ranker.model, rTest.x);
  let watchSum = 0;
  let watchN = 0;
  for (let i = 0; i < rTrain.rows; i++) {
    if (rTrain.clicked[i]) {
      watchSum += rTrain.watchTimeS[i];
      watchN++;
    }
  }
  const quality = rankerQuality(
    rTest,
    testPred.pClick,
    testPred.watchTimeS,
    videoRec,
    watchN ? watchSum / watchN : 0,
  );

  const modelVersion = `m-${opts.seed}-${hash.slice(0, 12)}`;
  report('export', `exporting ONNX models (${modelVersion})`);
  const meta = { model_version: modelVersion, world_hash: hash };
  const userTowerBytes = exportTowerOnnx(twoTower.model.userTower, 'user', meta);
  const itemTowerBytes = exportTowerOnnx(twoTower.model.itemTower, 'item', meta);
  const rankerBytes = exportRankerOnnx(ranker.model, meta);

  report('parity', 'checking ONNX Runtime against tfjs');
  const parityRng = seededRandom(opts.seed).stream('artifacts.parity');
  const parityRows = (source: Float32Array, width: number): Float32Array => {
    const realRows = Math.min(PARITY_REAL_ROWS, source.length / width);
    const picks = Uint32Array.from({ length: realRows }, () => parityRng.int(source.length / width));
    const out = new Float32Array((realRows + PARITY_RANDOM_ROWS) * width);
    out.set(gatherRows(source, width, picks));
    for (let i = realRows * width; i < out.length; i++) out[i] = parityRng.next() * 3 - 1;
    return out;
  };
  const userParityX = parityRows(userInputs, USER_FEATURE_DIM);
  const itemParityX = parityRows(videoInputs, VIDEO_FEATURE_DIM);
  const rankerParityX = parityRows(rTest.x, RANKER_INPUT_DIM);
  const rankerRef = predictRanker(ranker.model, rankerParityX);
  const checks = await Promise.all([
    onnxParity(userTowerBytes, ONNX_NAMES.userTower.input, userParityX, USER_FEATURE_DIM, {
      [ONNX_NAMES.userTower.output]: embed(twoTower.model.userTower, userParityX, USER_FEATURE_DIM),
    }),
    onnxParity(itemTowerBytes, ONNX_NAMES.itemTower.input, itemParityX, VIDEO_FEATURE_DIM, {
      [ONNX_NAMES.itemTower.output]: embed(twoTower.model.itemTower, itemParityX, VIDEO_FEATURE_DIM),
    }),
    onnxParity(rankerBytes, ONNX_NAMES.ranker.input, rankerParityX, RANKER_INPUT_DIM, {
      [ONNX_NAMES.ranker.pClick]: rankerRef.pClick,
      [ONNX_NAMES.ranker.watchTimeS]: rankerRef.watchTimeS,
    }),
  ]);
  const parity: Record<string, number> = {};
  for (const c of checks) Object.assign(parity, c.maxDiff);
  const broken = Object.entries(parity).filter(([, d]) => !(d <= PARITY_TOLERANCE));
  if (broken.length > 0) {
    throw new SimError(
      'RECLAB_ERR_ARTIFACTS_PARITY',
      broken.map(([name, d]) => `${name} differs by ${d}`).join('; ') + ` (tolerance ${PARITY_TOLERANCE})`,
    );
  }

  report('write', `writing artifacts to ${opts.outDir}`);
  await mkdir(opts.outDir, { recursive: true });
  const write = (file: string, data: Uint8Array | Float32Array) =>
    writeFile(
      join(opts.outDir, file),
      data instanceof Float32Array ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data,
    );
  await Promise.all([
    write(ARTIFACT_FILES.userTower, userTowerBytes),
    write(ARTIFACT_FILES.itemTower, itemTowerBytes),
    write(ARTIFACT_FILES.ranker, rankerBytes),
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
    },
    metrics: {
      twoTowerRecall100: recall.twoTower,
      popularityRecall100: recall.popularity,
      ...quality,
      trainSeconds,
      buildSeconds: (performance.now() - started) / 1000,
      evalClicks: testClicks.length,
      evalImpressions: rTest.rows,
    },
    parity,
    createdAt: new Date().toISOString(),
  };
  const manifestPath = join(opts.outDir, ARTIFACT_FILES.manifest);
  await writeFile(`${manifestPath}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(`${manifestPath}.tmp`, manifestPath);
  report('done', `artifacts ${modelVersion} written to ${opts.outDir}`);
  return manifest;
}
