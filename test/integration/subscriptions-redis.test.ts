/**
 * Integration, real Redis (Testcontainers): the loader's subscription keys (`sub:u_<i>`,
 * `upl:c_<j>`) match the world, `SubscriptionsSource` over `RedisSubscriptions` returns the followed
 * creators' recent uploads newest first within its bounds, in one round trip (a server-side script)
 * with the same candidates as the two sequential reads it replaced, also after Redis lost its
 * script cache, and `addUploads` (the path of
 * `POST /v1/videos/fresh`) makes a new upload retrievable at once and keeps each creator's set
 * bounded.
 *
 * Needs the container engine and image from scripts/setup.sh.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../core/adapters/redis/keys.ts';
import { CREATOR_UPLOADS_MAX, RedisSubscriptions } from '../../core/adapters/redis/subscriptions.ts';
import { NUM_REGIONS, VIDEO_RECORD, VIDEO_RECORD_LEN } from '../../core/features/schema.ts';
import type { RetrievalContext } from '../../core/ports/candidate-source.ts';
import type { Clock } from '../../core/ports/clock.ts';
import {
  mergeNewestFirst,
  type RecentUpload,
  SubscriptionsSource,
  UPLOAD_FUTURE_SLACK_S,
} from '../../core/retrieval/subscriptions-source.ts';
import { configureContainerEngine } from '../../loadtest/infra/container-engine.ts';
import { type StartedRedis, startRedis } from '../../loadtest/infra/redis.ts';
import { loadIntoRedis } from '../../sim/loader/redis-loader.ts';
import { userRecords, videoRecords } from '../../sim/models/records.ts';
import { historySlice, simulateLogs } from '../../sim/models/simulate-logs.ts';
import { creatorId, generateWorld, userId, videoId } from '../../sim/world/index.ts';

configureContainerEngine(process.env);

const CFG = { seed: 13, users: 2_000, videos: 3_000 };
const world = generateWorld(CFG);
const history = historySlice(simulateLogs(world, { sessions: 2_000, seed: CFG.seed }));
const records = { userRecords: userRecords(world, history), videoRecords: videoRecords(world, history) };
const uploadTs = (v: number) => records.videoRecords[v * VIDEO_RECORD_LEN + VIDEO_RECORD.uploadTsS];
const nowS = world.config.nowS;
const clock: Clock = { now: () => nowS * 1000, setTimer: () => () => {} };
const ctx = (u: number): RetrievalContext => ({
  userId: userId(u),
  user: new Float32Array(0),
  userEmbedding: undefined,
  regionIdx: 0,
});
const followsOf = (u: number) =>
  Array.from(
    world.subscriptionCreators.subarray(world.subscriptionOffsets[u], world.subscriptionOffsets[u + 1]),
  );
const videosOf = (c: number) =>
  Array.from({ length: world.initialVideos }, (_, v) => v).filter((v) => world.videoCreator[v] === c);

describe('subscriptions in a real Redis', () => {
  let redis: StartedRedis;
  let client: Redis;
  let store: RedisSubscriptions;

  beforeAll(async () => {
    redis = await startRedis({});
    client = new Redis(redis.port, redis.host, { maxRetriesPerRequest: 1 });
    store = new RedisSubscriptions(client);
    await client.call('FLUSHALL', 'SYNC');
    await loadIntoRedis(client, world, records, { batchKeys: 97 });
  });

  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  it('loads sub:u_<i> with exactly the creators each user follows', async () => {
    let checked = 0;
    for (let u = 0; u < CFG.users; u += 7) {
      const want = followsOf(u).map(creatorId).sort();
      const got = await client.zrange(keys.subscriptions(userId(u)), 0, -1, 'WITHSCORES');
      const members = got.filter((_, i) => i % 2 === 0).sort();
      expect(members, userId(u)).toEqual(want);
      expect(got.filter((_, i) => i % 2 === 1).every((s) => s === '0')).toBe(true);
      checked++;
    }
    expect(checked).toBeGreaterThan(200);
    const loner = Array.from({ length: CFG.users }, (_, u) => u).find((u) => followsOf(u).length === 0);
    if (loner !== undefined) expect(await client.exists(keys.subscriptions(userId(loner)))).toBe(0);
  });

  it('loads upl:c_<j> with each creator’s newest uploads (≤ 100) scored by the record’s upload time', async () => {
    for (let c = 0; c < world.config.creators; c++) {
      const vs = videosOf(c)
        .sort((a, b) => uploadTs(b) - uploadTs(a) || a - b)
        .slice(0, CREATOR_UPLOADS_MAX);
      const got = await client.zrevrange(keys.creatorUploads(creatorId(c)), 0, -1, 'WITHSCORES');
      expect(got.length / 2, creatorId(c)).toBe(vs.length);
      const members = new Map<string, number>();
      for (let i = 0; i < got.length; i += 2) members.set(got[i], Number(got[i + 1]));
      for (const v of vs) expect(members.get(videoId(v)), `${creatorId(c)} ${videoId(v)}`).toBe(uploadTs(v));
    }
  });

  it('retrieves the followed creators’ uploads of the last 30 days, newest first, ≤ 10 per creator', async () => {
    const users = Array.from({ length: CFG.users }, (_, u) => u)
      .filter((u) => followsOf(u).length >= 3 && followsOf(u).length <= 50)
      .slice(0, 20);
    expect(users.length).toBe(20);
    const source = new SubscriptionsSource(store, clock);
    for (const u of users) {
      const want = followsOf(u)
        .flatMap((c) =>
          videosOf(c)
            .filter((v) => uploadTs(v) >= nowS - 30 * 86_400 && uploadTs(v) <= nowS + 120)
            .sort((a, b) => uploadTs(b) - uploadTs(a) || a - b)
            .slice(0, 10),
        )
        .sort((a, b) => uploadTs(b) - uploadTs(a) || a - b)
        .slice(0, 50);
      const got = await source.retrieve(ctx(u), 50);
      expect(
        got.map((c) => c.video),
        userId(u),
      ).toEqual(want);
      expect(got.every((c) => c.source === 'subscriptions' && c.score === uploadTs(c.video))).toBe(true);
    }
  });

  /**
   * The read before issue 10, kept here as the reference: `ZREVRANGE sub:<user>`, then (a second
   * round trip) one pipeline of `ZREVRANGEBYSCORE upl:<c>` per followed creator.
   */
  async function twoRoundTrips(u: number, k: number): Promise<number[]> {
    const creators = await client.zrevrange(keys.subscriptions(userId(u)), 0, 49);
    if (creators.length === 0) return [];
    const p = client.pipeline();
    for (const c of creators)
      p.zrevrangebyscore(
        keys.creatorUploads(c),
        nowS + UPLOAD_FUTURE_SLACK_S,
        nowS - 30 * 86_400,
        'WITHSCORES',
        'LIMIT',
        0,
        Math.min(10, k),
      );
    const lists = ((await p.exec()) ?? []).map(([err, flat]) => {
      if (err) throw err;
      const items = flat as string[];
      const out: RecentUpload[] = [];
      for (let j = 0; j < items.length; j += 2)
        out.push({ video: Number(items[j].slice(2)), uploadTsS: Number(items[j + 1]) });
      return out;
    });
    return mergeNewestFirst(lists, k).map((x) => x.video);
  }

  /** The commands `client` sends while `run` runs (ioredis's sendCommand, observed, not replaced). */
  async function commandsSent<T>(run: () => Promise<T>): Promise<{ result: T; sent: string[] }> {
    const sent: string[] = [];
    const send = client.sendCommand;
    client.sendCommand = function (this: Redis, ...args: Parameters<Redis['sendCommand']>) {
      sent.push(args[0].name);
      return send.apply(this, args);
    } as Redis['sendCommand'];
    try {
      return { result: await run(), sent };
    } finally {
      client.sendCommand = send;
    }
  }

  it('reads in one round trip, with the same candidates as the two sequential reads it replaced', async () => {
    const source = new SubscriptionsSource(store, clock);
    await source.retrieve(ctx(0), 50); // defines the script on the connection
    let nonEmpty = 0;
    for (let u = 0; u < CFG.users; u += 9) {
      for (const k of [50, 5]) {
        const { result, sent } = await commandsSent(() => source.retrieve(ctx(u), k));
        expect(sent, userId(u)).toEqual(['evalsha']);
        expect(
          result.map((c) => c.video),
          `${userId(u)} k=${k}`,
        ).toEqual(await twoRoundTrips(u, k));
        if (result.length > 0) nonEmpty++;
      }
    }
    expect(nonEmpty).toBeGreaterThan(100);
    // A user unknown to the store, in the same single round trip.
    const { result, sent } = await commandsSent(() => source.retrieve(ctx(CFG.users + 1), 50));
    expect(result).toEqual([]);
    expect(sent).toEqual(['evalsha']);
  });

  it('still reads after Redis lost its script cache (a restart or SCRIPT FLUSH: NOSCRIPT, then the script is sent again)', async () => {
    const u = Array.from({ length: CFG.users }, (_, i) => i).find((i) => followsOf(i).length >= 3)!;
    const source = new SubscriptionsSource(store, clock);
    const before = await source.retrieve(ctx(u), 50);
    expect(before.length).toBeGreaterThan(0);
    await client.call('SCRIPT', 'FLUSH');
    expect(await source.retrieve(ctx(u), 50)).toEqual(before);
  });

  it('reads at most creatorsMax of the followed creators', async () => {
    const u = Array.from({ length: CFG.users }, (_, i) => i).find((i) => followsOf(i).length >= 6)!;
    const got = await new SubscriptionsSource(store, clock, { creatorsMax: 2 }).retrieve(ctx(u), 100);
    const creators = new Set(got.map((c) => world.videoCreator[c.video]));
    expect(creators.size).toBeLessThanOrEqual(2);
    expect(got.length).toBeGreaterThan(0);
  });

  it('makes an announced upload retrievable at once, and trims each creator set to 100', async () => {
    const u = Array.from({ length: CFG.users }, (_, i) => i).find((i) => followsOf(i).length >= 1)!;
    const creator = followsOf(u)[0];
    const fresh = CFG.videos + 5;
    expect(await store.addUploads([{ video: fresh, creator, uploadTsS: nowS + 30 }])).toBe(1);
    const [first] = await new SubscriptionsSource(store, clock).retrieve(ctx(u), 10);
    expect(first).toEqual({ video: fresh, score: nowS + 30, source: 'subscriptions' });

    const key = keys.creatorUploads(creatorId(creator));
    const burst = Array.from({ length: 150 }, (_, i) => ({
      video: CFG.videos + 100 + i,
      creator,
      uploadTsS: nowS + 40 + i,
    }));
    expect(await store.addUploads(burst)).toBe(150);
    expect(await client.zcard(key)).toBe(CREATOR_UPLOADS_MAX);
    const kept = await client.zrevrange(key, 0, -1);
    expect(kept[0]).toBe(videoId(CFG.videos + 249));
    expect(kept.at(-1)).toBe(videoId(CFG.videos + 150));
    // Invalid uploads are skipped, not written.
    expect(await store.addUploads([{ video: -1, creator, uploadTsS: nowS }])).toBe(0);
    expect(await store.addUploads([{ video: 1, creator: 1.5, uploadTsS: nowS }])).toBe(0);
  });

  it('writes no subscription keys with subscriptions: false', async () => {
    await client.call('FLUSHALL', 'SYNC');
    await loadIntoRedis(client, world, records, { subscriptions: false });
    expect(await client.keys('sub:*')).toEqual([]);
    expect(await client.keys('upl:*')).toEqual([]);
    expect(await client.dbsize()).toBe(CFG.users + CFG.videos + 2 + NUM_REGIONS);
  });
});
