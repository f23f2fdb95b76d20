/**
 * Integration (issue 5, streaming features): events go through the real path — KafkaEventLog →
 * Kafka topic → EventConsumer (consumer group, manual commits) → Redis → RealtimeFeatures — on a real
 * Kafka (loadtest/infra/kafka.ts) and Redis (loadtest/infra/redis.ts). Asserts and logs:
 * (a) watch → recentWatches latency < 2 s; (b) a 200-view burst tops the region's and the global
 * trending sets within 60 s; (c) bad messages are rejected with RECLAB_ERR_EVENT_INVALID and
 * skipped, redeliveries deduped; (d) stop commits offsets, disconnects, and a successor resumes
 * after them. Needs the container engine and images from scripts/setup.sh.
 */
import { randomUUID } from 'node:crypto';
import { Admin, Producer, stringSerializers } from '@platformatic/kafka';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../core/adapters/clock/system-clock.ts';
import { KafkaEventLog } from '../../core/adapters/kafka/kafka-event-log.ts';
import { RealtimeFeatures } from '../../core/adapters/redis/realtime-features.ts';
import { REGIONS } from '../../core/features/schema.ts';
import { EventConsumer, type EventConsumerOptions } from '../../core/streaming/event-consumer.ts';
import { EVENT_INVALID_CODE, parseEvent, type StreamEvent } from '../../core/streaming/events.ts';
import { configureContainerEngine } from '../../loadtest/infra/container-engine.ts';
import { type StartedKafka, startKafka } from '../../loadtest/infra/kafka.ts';
import { type StartedRedis, startRedis } from '../../loadtest/infra/redis.ts';

configureContainerEngine(process.env);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every `everyMs` until it returns true or `timeoutMs` passes; resolves with elapsed ms or -1. */
async function waitFor(check: () => Promise<boolean>, timeoutMs: number, everyMs = 10): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (await check()) return performance.now() - t0;
    await sleep(everyMs);
  }
  return -1;
}

let n = 0;
function event(partial: Partial<StreamEvent> & Pick<StreamEvent, 'user_id' | 'video_id'>): StreamEvent {
  return { event_id: `e-${randomUUID()}-${n++}`, type: 'watch', timestamp_ms: Date.now(), ...partial };
}

describe('streaming features (Kafka → consumer → Redis)', () => {
  let kafka: StartedKafka;
  let redisInfra: StartedRedis;
  let redis: Redis;
  let admin: Admin;
  let rt: RealtimeFeatures;
  const open: { stop(): Promise<void> }[] = [];

  beforeAll(async () => {
    [kafka, redisInfra] = await Promise.all([startKafka({ startupTimeoutMs: 90_000 }), startRedis()]);
    redis = new Redis(redisInfra.url);
    rt = new RealtimeFeatures(redis, systemClock);
    admin = new Admin({ clientId: 'streaming-test', bootstrapBrokers: kafka.brokers });
  });

  afterAll(async () => {
    for (const c of open) await c.stop().catch(() => {});
    await admin?.close().catch(() => {});
    redis?.disconnect();
    await Promise.all([kafka?.stop(), redisInfra?.stop()]);
  });

  /** A fresh topic (1 partition) and a started consumer reading it from the beginning. */
  async function setup(extra: Partial<EventConsumerOptions> = {}) {
    const topic = `events-${randomUUID()}`;
    await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
    const groupId = `g-${randomUUID()}`;
    const opts: EventConsumerOptions = {
      brokers: kafka.brokers,
      topic,
      groupId,
      fromBeginning: true,
      ...extra,
    };
    const consumer = new EventConsumer(opts, redis, systemClock);
    open.push(consumer);
    const t0 = performance.now();
    await consumer.start();
    const publisher = new KafkaEventLog({ brokers: kafka.brokers, topic }, systemClock);
    publisher.start();
    open.push({ stop: () => publisher.close(5000) });
    console.log(`consumer joined group in ${(performance.now() - t0).toFixed(0)} ms`);
    return { topic, groupId, opts, consumer, publisher };
  }

  it('(a) a published watch shows in recentWatches within 2 s', async () => {
    const { consumer, publisher } = await setup();
    const user = `u_${randomUUID()}`;
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      const video = 100 + i;
      const t0 = performance.now();
      await publisher.publish([
        event({ user_id: user, video_id: `v_${video}`, region: 'na', watch_time_s: 30 }),
      ]);
      const ms = await waitFor(async () => (await rt.recentWatches(user, 1))[0] === video, 5_000);
      latencies.push(ms >= 0 ? performance.now() - t0 : -1);
    }
    console.log(`(a) publish → recentWatches latency ms: ${latencies.map((l) => l.toFixed(1)).join(', ')}`);
    for (const l of latencies) {
      expect(l).toBeGreaterThanOrEqual(0);
      expect(l).toBeLessThan(2_000);
    }
    expect(await rt.recentWatches(user, 10)).toEqual([104, 103, 102, 101, 100]);
    expect(await rt.recentWatches(user, 2)).toEqual([104, 103]);
    expect(await rt.sessionViews(user)).toBe(5);
    expect(consumer.stats()).toMatchObject({ running: true, processed: 5, invalid: 0, lag: 0 });
  }, 60_000);

  it('(b) a 200-view burst tops the region and global trending sets within 60 s', async () => {
    const { consumer, publisher } = await setup();
    const eu = REGIONS.indexOf('eu');
    // Background: 40 videos with 1..5 views each, spread over regions.
    const background: StreamEvent[] = [];
    for (let v = 0; v < 40; v++) {
      for (let k = 0; k <= v % 5; k++) {
        background.push(
          event({ user_id: `u_bg${v}_${k}`, video_id: `v_${v}`, region: REGIONS[v % REGIONS.length] }),
        );
      }
    }
    await publisher.publish(background);
    await consumer.refreshTrending();
    const hot = 9_999;
    expect((await rt.trending(undefined, 50)).some((t) => t.video === hot)).toBe(false);

    // The burst: 200 views of one video from 200 users in 'eu', in 10 requests over ~2 s.
    const t0 = performance.now();
    for (let b = 0; b < 10; b++) {
      const views = Array.from({ length: 20 }, (_, i) =>
        event({ user_id: `u_burst${b * 20 + i}`, video_id: `v_${hot}`, region: 'eu', watch_time_s: 10 }),
      );
      await publisher.publish(views);
      await sleep(200);
    }
    const burstMs = performance.now() - t0;
    const topped = async () => {
      const [r, g] = await Promise.all([rt.trending(eu, 1), rt.trending(undefined, 1)]);
      return r[0]?.video === hot && g[0]?.video === hot;
    };
    await waitFor(topped, 60_000, 50);
    const delayMs = performance.now() - t0;
    const [top] = await rt.trending(eu, 3);
    console.log(
      `(b) burst of 200 views sent in ${burstMs.toFixed(0)} ms; top of trending (eu + global) ` +
        `${delayMs.toFixed(0)} ms after the burst began (score ${top?.score.toFixed(1)}; merge every 5 s)`,
    );
    expect(await topped()).toBe(true);
    expect(delayMs).toBeLessThan(60_000);
    const [counts] = await rt.viewCounts([hot]);
    expect(counts.h1).toBe(200);
    expect(counts.m1).toBeGreaterThanOrEqual(100); // ≥ half, whatever the minute boundary
    expect(counts.m1).toBeLessThanOrEqual(200);
    expect(await rt.viewCounts([12_345])).toEqual([{ m1: 0, h1: 0 }]);
    expect(consumer.stats().trendingErrors).toBe(0);
  }, 60_000);

  it('(c) rejects bad events with RECLAB_ERR_EVENT_INVALID, skips them, and dedupes redeliveries', async () => {
    const bad = parseEvent({
      event_id: 'x',
      type: 'watch',
      user_id: 'u',
      video_id: 'video-1',
      timestamp_ms: 1,
    });
    expect(bad).toMatchObject({ ok: false, code: 'RECLAB_ERR_EVENT_INVALID' });
    expect(bad.ok ? '' : bad.code).toBe(EVENT_INVALID_CODE);

    const { topic, consumer } = await setup();
    const user = `u_${randomUUID()}`;
    const valid = event({ user_id: user, video_id: 'v_7' });
    const producer = new Producer({
      clientId: 'raw',
      bootstrapBrokers: kafka.brokers,
      serializers: stringSerializers,
    });
    await producer.send({
      messages: [
        { topic, key: user, value: 'not json' },
        { topic, key: user, value: JSON.stringify({ ...valid, video_id: 'seven' }) },
        { topic, key: user, value: JSON.stringify(valid) },
        { topic, key: user, value: JSON.stringify(valid) }, // a redelivery: same event_id
      ],
    });
    await producer.close();
    const ms = await waitFor(
      async () => consumer.stats().processed + consumer.stats().duplicates >= 2,
      10_000,
    );
    expect(ms).toBeGreaterThanOrEqual(0);
    expect(consumer.stats()).toMatchObject({ invalid: 2, processed: 1, duplicates: 1 });
    expect(await rt.recentWatches(user, 10)).toEqual([7]);
    expect(await redis.lrange(`rt:rw:${user}`, 0, -1)).toEqual(['v_7']);
    expect(await rt.sessionViews(user)).toBe(1);
  }, 60_000);

  it('(d) stop commits offsets and disconnects; a successor in the group resumes after them', async () => {
    const { topic, groupId, opts, consumer, publisher } = await setup();
    const user = `u_${randomUUID()}`;
    await publisher.publish(
      Array.from({ length: 30 }, (_, i) => event({ user_id: user, video_id: `v_${i}` })),
    );
    expect(await waitFor(async () => consumer.stats().processed === 30, 10_000)).toBeGreaterThanOrEqual(0);
    const t0 = performance.now();
    await consumer.stop();
    const stopMs = performance.now() - t0;
    await consumer.stop(); // idempotent
    console.log(`(d) stop took ${stopMs.toFixed(0)} ms`);
    expect(stopMs).toBeLessThan(10_000);
    expect(consumer.stats().running).toBe(false);
    const [committed] = await admin.listConsumerGroupOffsets({ groups: [groupId] });
    expect(committed.topics.find((t) => t.name === topic)?.partitions[0].committedOffset).toBe(30n);

    const successor = new EventConsumer(opts, redis, systemClock);
    open.push(successor);
    await successor.start();
    await publisher.publish([event({ user_id: user, video_id: 'v_500' })]);
    expect(await waitFor(async () => successor.stats().processed === 1, 10_000)).toBeGreaterThanOrEqual(0);
    await sleep(300);
    expect(successor.stats()).toMatchObject({ processed: 1, duplicates: 0, invalid: 0 });
    expect((await rt.recentWatches(user, 50)).slice(0, 3)).toEqual([500, 29, 28]);
    await successor.stop();
  }, 60_000);
});
