/**
 * Integration: the content-based source of a model set built from the CI world's artifacts (the
 * world and models `reclab run baseline`'s tests use: seed 7, 5000 users × 3000 videos, cached under
 * .reclab/cache), with the recent watches read from a real Redis (Testcontainers) through
 * `RealtimeFeatures`. Checks that it returns videos close to the watched ones (same creator first,
 * then the same categories), never the watched ones, [] without watches, that artifact directories
 * without `content_embeddings.f32` load without the source; and measures its recall@100 against the
 * world's ground-truth top 100 next to two-tower and popularity (printed).
 *
 * Needs the container engine and image from scripts/setup.sh; builds the CI world's models if the
 * cache is stale (a few minutes on 2 cores).
 */
import { copyFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../core/adapters/clock/system-clock.ts';
import { keys } from '../../core/adapters/redis/keys.ts';
import { RealtimeFeatures } from '../../core/adapters/redis/realtime-features.ts';
import { type Artifacts, loadArtifacts } from '../../core/artifacts.ts';
import { videoIdOf } from '../../core/features/ids.ts';
import {
  USER_FEATURE_DIM,
  USER_RECORD_LEN,
  userModelInput,
  VIDEO_RECORD,
  VIDEO_RECORD_LEN,
} from '../../core/features/schema.ts';
import type { CandidateSource, RetrievalContext } from '../../core/ports/candidate-source.ts';
import { configureContainerEngine } from '../../loadtest/infra/container-engine.ts';
import { type StartedRedis, startRedis } from '../../loadtest/infra/redis.ts';
import { type PreparedWorld, prepareWorld } from '../../loadtest/prepare-world.ts';
import { defaultSessions } from '../../sim/models/build-artifacts.ts';
import { historySlice, simulateLogs } from '../../sim/models/simulate-logs.ts';
import { topK } from '../../sim/util/top-k.ts';
import { affinity, userId } from '../../sim/world/index.ts';

configureContainerEngine(process.env);

const CI = { seed: 7, users: 5000, videos: 3000 };
const ANN = { factory: 'auto', efSearch: 64, nprobe: 8 };

describe('content-based retrieval on the CI world', () => {
  let redis: StartedRedis;
  let client: Redis;
  let prepared: PreparedWorld;
  let artifacts: Artifacts;
  let content: CandidateSource;
  let tmp: string;

  beforeAll(async () => {
    redis = await startRedis({});
    client = new Redis(redis.port, redis.host, { maxRetriesPerRequest: 1 });
    prepared = await prepareWorld({ ...CI, cacheDir: resolve('.reclab/cache'), log: () => {} });
    artifacts = await loadArtifacts(prepared.artifactsDir, {
      ann: ANN,
      ortThreads: 1,
      recentWatches: new RealtimeFeatures(client, systemClock),
    });
    content = artifacts.sources.find((s) => s.name === 'content')!;
    tmp = await mkdtemp(join(tmpdir(), 'reclab-content-'));
  });

  afterAll(async () => {
    await artifacts?.release();
    client?.disconnect();
    await redis?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const world = () => prepared.world;
  const ctx = (user: string): RetrievalContext => ({
    userId: user,
    user: new Float32Array(USER_RECORD_LEN),
    userEmbedding: undefined,
    regionIdx: 0,
  });
  /** Writes a recent-watches list as the streaming consumer does (newest first). */
  const setWatches = async (user: string, videos: number[]) => {
    await client.del(keys.recentWatches(user));
    if (videos.length > 0) await client.rpush(keys.recentWatches(user), ...videos.map(videoIdOf));
  };

  it('is part of the model set, over content_embeddings.f32 with the manifest’s width', async () => {
    const manifest = JSON.parse(await readFile(join(prepared.artifactsDir, 'manifest.json'), 'utf8'));
    expect(artifacts.sources.map((s) => s.name)).toEqual(['two_tower', 'content']);
    expect(artifacts.content?.dim).toBe(manifest.content.dim);
    expect(artifacts.content?.count).toBe(CI.videos);
    expect(artifacts.content?.index.size).toBe(CI.videos);
  });

  it('ranks the watched creator’s other videos first and never returns a watched video', async () => {
    const w = world();
    const byCreator = new Map<number, number[]>();
    for (let v = 0; v < CI.videos; v++) {
      const c = w.videoCreator[v];
      byCreator.set(c, [...(byCreator.get(c) ?? []), v]);
    }
    const [creator, videos] = [...byCreator].find(([, vs]) => vs.length >= 15)!;
    const watched = videos.slice(0, 5);
    await setWatches('u_content_1', watched);
    const got = await content.retrieve(ctx('u_content_1'), 100);
    expect(got.length).toBe(100);
    expect(got.some((c) => watched.includes(c.video))).toBe(false);
    expect(got.every((c) => c.source === 'content')).toBe(true);
    const top = got.slice(0, 10);
    expect(
      top.every((c) => w.videoCreator[c.video] === creator),
      `creator c_${creator}`,
    ).toBe(true);
    const categories = new Set(watched.map((v) => w.videoCategory[v]));
    const sameCategory = got.filter((c) => categories.has(w.videoCategory[c.video])).length / got.length;
    expect(sameCategory).toBeGreaterThanOrEqual(0.9);
  });

  it('follows real users’ recent watches: mostly their categories, far more of their creators than chance', async () => {
    const w = world();
    let inCategory = 0;
    let inCreators = 0;
    let chanceCreators = 0;
    let n = 0;
    for (let u = 0; u < 30; u++) {
      // The user's 10 best videos by the world's affinity stand in for a watch history.
      const watched = Array.from(topK(CI.videos, 10, (v) => affinity(w, u, v)));
      const user = `u_content_real_${u}`;
      await setWatches(user, watched);
      const got = await content.retrieve(ctx(user), 100);
      const categories = new Set(watched.map((v) => w.videoCategory[v]));
      const creators = new Set(watched.map((v) => w.videoCreator[v]));
      for (const c of got) {
        expect(watched).not.toContain(c.video);
        if (categories.has(w.videoCategory[c.video])) inCategory++;
        if (creators.has(w.videoCreator[c.video])) inCreators++;
        n++;
      }
      let creatorVideos = 0;
      for (let v = 0; v < CI.videos; v++) if (creators.has(w.videoCreator[v])) creatorVideos++;
      chanceCreators += (got.length * (creatorVideos - watched.length)) / (CI.videos - watched.length);
    }
    process.stdout.write(
      `    content source, 30 users × 10 watches: ${((100 * inCategory) / n).toFixed(1)}% of ${n} results in a watched category, ` +
        `${inCreators} by a watched creator (chance ≈ ${chanceCreators.toFixed(0)})\n`,
    );
    expect(inCategory / n).toBeGreaterThanOrEqual(0.8);
    expect(inCreators).toBeGreaterThan(3 * chanceCreators);
  });

  it('returns [] for a user without recent watches', async () => {
    await setWatches('u_content_none', []);
    expect(await content.retrieve(ctx('u_content_none'), 100)).toEqual([]);
  });

  it('loads an artifact directory without content_embeddings.f32, or without a watch reader, with no content source', async () => {
    for (const f of await readdir(prepared.artifactsDir)) {
      if (f !== 'content_embeddings.f32') await copyFile(join(prepared.artifactsDir, f), join(tmp, f));
    }
    const old = await loadArtifacts(tmp, {
      ann: ANN,
      ortThreads: 1,
      recentWatches: new RealtimeFeatures(client, systemClock),
    });
    const noReader = await loadArtifacts(prepared.artifactsDir, { ann: ANN, ortThreads: 1 });
    try {
      expect(old.content).toBeUndefined();
      expect(old.sources.map((s) => s.name)).toEqual(['two_tower']);
      expect(noReader.content).toBeDefined();
      expect(noReader.sources.map((s) => s.name)).toEqual(['two_tower']);
    } finally {
      await old.release();
      await noReader.release();
    }
  });

  it('measures recall@100 against the ground-truth top 100: content vs two-tower vs popularity', async () => {
    const w = world();
    // The build's own logs (same seed and sessions): each user's history clicks, in time order.
    const log = simulateLogs(w, { sessions: defaultSessions(CI.users), seed: CI.seed });
    const hist = historySlice(log);
    const clicks = new Map<number, number[]>();
    for (let i = hist.startSession * log.k; i < hist.endSession * log.k; i++) {
      if (log.clicked[i]) clicks.set(log.user[i], [...(clicks.get(log.user[i]) ?? []), log.video[i]]);
    }
    const userRecs = new Float32Array(
      (await readFile(join(prepared.artifactsDir, 'user_records.f32'))).buffer.slice(0),
    );
    const videoRecs = new Float32Array(
      (await readFile(join(prepared.artifactsDir, 'video_records.f32'))).buffer.slice(0),
    );
    const popular = new Set(
      topK(CI.videos, 100, (v) => videoRecs[v * VIDEO_RECORD_LEN + VIDEO_RECORD.logViews]),
    );
    const twoTower = artifacts.sources.find((s) => s.name === 'two_tower')!;
    const users = [...clicks.keys()].sort((a, b) => a - b).slice(0, 200);
    const sums = { content: 0, twoTower: 0, popularity: 0 };
    let contentEmpty = 0;
    for (const u of users) {
      const truth = new Set(topK(CI.videos, 100, (v) => affinity(w, u, v)));
      // The streaming list: newest first, de-duplicated, at most 50 (as RealtimeFeatures reads it).
      const recent = [...new Set([...clicks.get(u)!].reverse())].slice(0, 50);
      await setWatches(userId(u), recent);
      const c = await content.retrieve(ctx(userId(u)), 100);
      if (c.length === 0) contentEmpty++;
      sums.content += c.filter((x) => truth.has(x.video)).length / 100;
      const features = new Float32Array(USER_FEATURE_DIM);
      userModelInput(userRecs.subarray(u * USER_RECORD_LEN, (u + 1) * USER_RECORD_LEN), features);
      const userEmbedding = await artifacts.userEncoder.encode(features);
      const t = await twoTower.retrieve({ ...ctx(userId(u)), userEmbedding }, 100);
      sums.twoTower += t.filter((x) => truth.has(x.video)).length / 100;
      sums.popularity += [...popular].filter((v) => truth.has(v)).length / 100;
    }
    const r = (x: number) => Number((x / users.length).toFixed(4));
    const result = {
      users: users.length,
      contentRecall100: r(sums.content),
      twoTowerRecall100: r(sums.twoTower),
      popularityRecall100: r(sums.popularity),
      contentEmpty,
    };
    process.stdout.write(
      `    ground-truth recall@100 over ${result.users} users (serving paths; content profile = last ≤ 50 history clicks, ` +
        `watched excluded): content ${result.contentRecall100}, two-tower ${result.twoTowerRecall100}, ` +
        `popularity ${result.popularityRecall100}\n`,
    );
    expect(contentEmpty).toBe(0);
    expect(result.contentRecall100).toBeGreaterThan(result.popularityRecall100);
  });
});
