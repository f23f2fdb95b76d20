/**
 * World → artifacts → Redis, for a live run (or `reclab models build`).
 *
 * The world is generated in its own fixed time frame (`world.nowS`), so its hash never depends on
 * the wall clock. A live core computes video ages from the wall clock, so the loader anchors the
 * world to it: every upload time is shifted by (wall-clock now − world.nowS) before loading. Served
 * features then see the same ages the models were trained on.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { VIDEO_RECORD, VIDEO_RECORD_LEN } from '../core/features/schema.ts';
import { loadIntoRedis } from '../sim/loader/redis-loader.ts';
import { ARTIFACT_FILES, buildArtifacts } from '../sim/models/index.ts';
import { formatTrainProgress, trainProgressView } from '../sim/models/train-progress.ts';
import { type Progress, type ProgressFactory, silentProgress } from '../sim/progress.ts';
import { generateWorld, videoId, type World, worldHash } from '../sim/world/index.ts';

export interface PreparedWorld {
  info: {
    seed: number;
    users: number;
    videos: number;
    worldHash: string;
    modelVersion: string;
    metrics: Record<string, number>;
    generateSeconds: number;
    buildSeconds: number;
    loadSeconds?: number;
  };
  artifactsDir: string;
  /** The generated world (ground truth for quality scoring). */
  world: World;
  /** The editorial list shipped with the artifacts, as video indices. */
  editorial: number[];
  /** The region index of user `u` (for request contexts). */
  userRegion(u: number): number;
}

export interface PrepareOptions {
  seed: number;
  users: number;
  videos: number;
  cacheDir: string;
  /** When set, load the world into this Redis. */
  redisUrl?: string;
  log: (line: string) => void;
  /** Progress of generation and loading (a bar on a terminal, quiet lines in CI); default none. */
  progress?: ProgressFactory;
}

/** A little-endian Float32 file (an artifact's records or embeddings) read whole. */
export async function readF32(path: string): Promise<Float32Array> {
  const bytes = await readFile(path);
  const out = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** The editorial list shipped with the artifacts: the 100 most popular videos by prior, best first. */
function editorialList(videoRecords: Float32Array, videos: number): string[] {
  const idx = Array.from({ length: videos }, (_, i) => i);
  idx.sort(
    (a, b) =>
      videoRecords[b * VIDEO_RECORD_LEN + VIDEO_RECORD.logViews] -
      videoRecords[a * VIDEO_RECORD_LEN + VIDEO_RECORD.logViews],
  );
  return idx.slice(0, 100).map(videoId);
}

export async function prepareWorld(opts: PrepareOptions): Promise<PreparedWorld> {
  const { log } = opts;
  let t0 = performance.now();
  const progress = opts.progress ?? silentProgress;
  const world = generateWorld({ seed: opts.seed, users: opts.users, videos: opts.videos }, { progress });
  const hash = worldHash(world);
  const generateSeconds = (performance.now() - t0) / 1000;
  log(
    `world: ${opts.users} users × ${opts.videos} videos, seed ${opts.seed}, hash ${hash} (${generateSeconds.toFixed(1)} s)`,
  );

  const artifactsDir = join(opts.cacheDir, `world-${hash.slice(0, 16)}-s${opts.seed}`);
  await mkdir(artifactsDir, { recursive: true });
  t0 = performance.now();
  let lastKey = '';
  // With a progress factory, training shows a bar per model (a line per epoch in CI logs) instead.
  const trainView = opts.progress ? trainProgressView(opts.progress) : undefined;
  const manifest = await buildArtifacts(world, {
    seed: opts.seed,
    outDir: artifactsDir,
    onProgress: (e) => {
      // One line per stage and per finished epoch (loss, validation metric, ETA); batch-level
      // progress is too fine for a log.
      const t = e.train;
      if (t && trainView) trainView.onProgress(t);
      else if (t ? t.step === t.steps : e.stage !== lastKey) {
        log(`models: ${t ? formatTrainProgress(t) : e.message}`);
      }
      lastKey = e.stage;
    },
  }).finally(() => trainView?.stop());
  const buildSeconds = (performance.now() - t0) / 1000;
  const m = manifest.metrics;
  log(
    `models: ${manifest.modelVersion} in ${buildSeconds.toFixed(1)} s — two-tower recall@100 ${m.twoTowerRecall100.toFixed(3)} ` +
      `(popularity ${m.popularityRecall100.toFixed(3)}), click AUC ${m.clickAuc.toFixed(3)} (popularity ${m.popularityClickAuc.toFixed(3)})`,
  );

  const videoRecords = await readF32(join(artifactsDir, ARTIFACT_FILES.videoRecords));
  const editorial = editorialList(videoRecords, opts.videos);
  await writeFile(join(artifactsDir, 'editorial.json'), `${JSON.stringify({ videos: editorial })}\n`);

  let loadSeconds: number | undefined;
  if (opts.redisUrl) {
    const shiftS = Math.round(Date.now() / 1000) - manifest.world.nowS;
    for (let v = 0; v < opts.videos; v++)
      videoRecords[v * VIDEO_RECORD_LEN + VIDEO_RECORD.uploadTsS] += shiftS;
    const userRecords = await readF32(join(artifactsDir, ARTIFACT_FILES.userRecords));
    const redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: 3 });
    try {
      let bar: Progress | undefined;
      let written = 0;
      const r = await loadIntoRedis(
        redis,
        world,
        { userRecords, videoRecords },
        {
          worldHash: hash,
          onProgress: (e) => {
            bar ??= progress('redis.load', e.keysTotal, 'keys');
            bar.tick(e.keysWritten - written);
            written = e.keysWritten;
          },
        },
      );
      bar?.stop();
      loadSeconds = r.seconds;
      log(
        `redis: ${r.keys} keys loaded in ${r.seconds.toFixed(1)} s (${Math.round(r.keys / r.seconds)} keys/s)`,
      );
    } finally {
      redis.disconnect();
    }
  }

  return {
    info: {
      seed: opts.seed,
      users: opts.users,
      videos: opts.videos,
      worldHash: hash,
      modelVersion: manifest.modelVersion,
      metrics: { ...m },
      generateSeconds: Number(generateSeconds.toFixed(3)),
      buildSeconds: Number(buildSeconds.toFixed(3)),
      loadSeconds: loadSeconds === undefined ? undefined : Number(loadSeconds.toFixed(3)),
    },
    artifactsDir,
    world,
    editorial: editorial.map((id) => Number(id.slice(2))),
    userRegion: (u) => world.userRegion[u],
  };
}
