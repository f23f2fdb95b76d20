/**
 * Issue 9 item 3b: events get the impressions' delivery guarantee. KafkaEventLog against a real
 * broker whose container is stopped and started again (as in impression-spool.test.ts): every
 * `publish` that resolved (what POST /v1/events answers 202 for) has its events on the topic once
 * Kafka is back, counted by a real consumer; while Kafka is down the calls still resolve, from the
 * disk spool, within a bound; with the spool full the log refuses with
 * RECLAB_ERR_EVENTS_BACKLOG_FULL and a retry hint; without a spool a call is refused with
 * RECLAB_ERR_EVENTS_UNAVAILABLE once a send failed. Needs the Kafka image and a container engine.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getContainerRuntimeClient } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../core/adapters/clock/system-clock.ts';
import { KafkaEventLog } from '../../core/adapters/kafka/kafka-event-log.ts';
import { RetryableError } from '../../core/errors.ts';
import type { StreamEvent } from '../../core/streaming/events.ts';
import { configureContainerEngine } from '../../loadtest/infra/container-engine.ts';
import { type StartedKafka, startKafka } from '../../loadtest/infra/kafka.ts';
import { readTopicIds } from '../../loadtest/topic-counter.ts';

configureContainerEngine(process.env);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let n = 0;
const event = (): StreamEvent => ({
  event_id: `ev_${randomUUID()}_${n++}`,
  type: 'watch',
  user_id: `u_${n % 31}`,
  video_id: `v_${n % 1000}`,
  watch_time_s: 12.5,
  timestamp_ms: Date.now(),
});

describe('KafkaEventLog (real Kafka, stopped and restarted)', () => {
  let kafka: StartedKafka;
  const dirs: string[] = [];
  const broker = {
    async stop(): Promise<void> {
      const client = await getContainerRuntimeClient();
      await client.container.getById(kafka.container!.getId()).stop({ t: 10 });
    },
    async start(): Promise<void> {
      const client = await getContainerRuntimeClient();
      await client.container.getById(kafka.container!.getId()).start();
    },
  };
  const spoolDir = async (): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), 'reclab-event-spool-'));
    dirs.push(dir);
    return dir;
  };

  beforeAll(async () => {
    kafka = await startKafka({ startupTimeoutMs: 90_000 });
  });

  afterAll(async () => {
    await kafka?.stop();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('every accepted event reaches the topic across a 15 s outage; calls resolve from the spool meanwhile', async () => {
    const dir = await spoolDir();
    const topic = `events-${randomUUID()}`;
    const log = new KafkaEventLog({ brokers: kafka.brokers, topic, spoolDir: dir }, systemClock);
    log.start();
    const accepted = new Set<string>();
    const refused: string[] = [];
    let slowestMs = 0;
    let outage = false;
    let slowestInOutageMs = 0;
    // 20 calls of 10 events per second, each awaited like the route does, 4 in flight at most.
    const sender = async (until: () => boolean) => {
      while (!until()) {
        const batch = Array.from({ length: 10 }, event);
        const t0 = Date.now();
        try {
          await log.publish(batch);
          for (const e of batch) accepted.add(e.event_id);
        } catch (err) {
          refused.push((err as RetryableError).code);
        }
        const ms = Date.now() - t0;
        slowestMs = Math.max(slowestMs, ms);
        if (outage) slowestInOutageMs = Math.max(slowestInOutageMs, ms);
        await sleep(200);
      }
    };
    let stop = false;
    const senders = Promise.all([0, 1, 2, 3].map(() => sender(() => stop)));
    await sleep(3000);
    outage = true;
    await broker.stop();
    await sleep(15_000);
    await broker.start();
    outage = false;
    await sleep(5000);
    stop = true;
    await senders;
    const deadline = Date.now() + 60_000;
    while (log.stats().pending > 0 && Date.now() < deadline) await sleep(100);
    await log.close(5000);
    const s = log.stats();
    const read = await readTopicIds(kafka.brokers, topic, 'event_id', { timeoutMs: 30_000 });
    let lost = 0;
    for (const id of accepted) if (!read.ids.has(id)) lost++;
    console.log(
      `events: accepted=${accepted.size} refused=${refused.length} slowest publish ${slowestMs} ms ` +
        `(in outage ${slowestInOutageMs} ms) stats=${JSON.stringify(s)} topic distinct=${read.ids.size} ` +
        `messages=${read.messages} lost=${lost}`,
    );
    expect(refused).toEqual([]);
    expect(s.spooled, 'the outage went through the disk spool').toBeGreaterThan(0);
    expect(s).toMatchObject({ pending: 0, dropped: 0, spoolPending: 0, timedOut: 0 });
    expect(s.replayed).toBe(s.spooled);
    expect(read.complete).toBe(true);
    expect(lost).toBe(0);
    // A call waits for at most one failed attempt (3 s) before its events are spooled.
    expect(slowestInOutageMs).toBeLessThan(4000);
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses with RECLAB_ERR_EVENTS_BACKLOG_FULL and a retry hint when Kafka is down and the spool is full', async () => {
    const dir = await spoolDir();
    const topic = `events-${randomUUID()}`;
    await broker.stop();
    try {
      const log = new KafkaEventLog(
        { brokers: kafka.brokers, topic, spoolDir: dir, spoolMaxBytes: 4096, bufferMax: 50 },
        systemClock,
      );
      log.start();
      const outcomes: string[] = [];
      const refusalMs: number[] = [];
      for (let i = 0; i < 20; i++) {
        const t0 = Date.now();
        outcomes.push(
          await log.publish(Array.from({ length: 10 }, event)).then(
            () => 'ok',
            (err: RetryableError) => {
              refusalMs.push(Date.now() - t0);
              return `${err.code}:${err.retryAfterS}`;
            },
          ),
        );
      }
      const s = log.stats();
      console.log(
        `backlog: outcomes=${outcomes.join(',')} refusals after ${refusalMs.join(',')} ms stats=${JSON.stringify(s)}`,
      );
      expect(outcomes[0]).toBe('ok'); // the first calls fit the spool
      // Once the spool is full every call is refused with a retry hint, never left to time out: the
      // call that filled it within one backoff pause (≤ 1 s), every later one at once.
      const firstRefusal = outcomes.findIndex((o) => o !== 'ok');
      expect(firstRefusal).toBeGreaterThan(0);
      expect(new Set(outcomes.slice(firstRefusal))).toEqual(new Set(['RECLAB_ERR_EVENTS_BACKLOG_FULL:1']));
      expect(refusalMs[0]).toBeLessThan(1500);
      expect(Math.max(...refusalMs.slice(1))).toBeLessThan(100);
      expect(s.refused).toBeGreaterThan(0);
      expect(s.spoolBytes).toBeLessThanOrEqual(4096);
      await log.close(200);
      expect(log.stats().spoolPending, 'the spool keeps what it took').toBe(s.spoolPending);
      expect(s.timedOut).toBe(0);
    } finally {
      await broker.start();
    }
  });

  it('without a spool, refuses with RECLAB_ERR_EVENTS_UNAVAILABLE once a send failed; the events stay queued', async () => {
    const topic = `events-${randomUUID()}`;
    await broker.stop();
    const log = new KafkaEventLog({ brokers: kafka.brokers, topic }, systemClock);
    log.start();
    const batch = Array.from({ length: 5 }, event);
    const t0 = Date.now();
    const err = (await log.publish(batch).catch((e: unknown) => e)) as RetryableError;
    const ms = Date.now() - t0;
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.code).toBe('RECLAB_ERR_EVENTS_UNAVAILABLE');
    expect(ms).toBeLessThan(3000); // one failed attempt, well before publishTimeoutMs (5 s)
    expect(log.stats()).toMatchObject({ buffered: 5, stalled: 5, timedOut: 0 });
    // Later calls are refused at once while Kafka stays down.
    const t1 = Date.now();
    const again = (await log.publish([event()]).catch((e: unknown) => e)) as RetryableError;
    expect(again.code).toBe('RECLAB_ERR_EVENTS_UNAVAILABLE');
    expect(Date.now() - t1).toBeLessThan(100);
    await broker.start();
    const deadline = Date.now() + 60_000;
    while (log.stats().pending > 0 && Date.now() < deadline) await sleep(100);
    await log.close(5000);
    const read = await readTopicIds(kafka.brokers, topic, 'event_id', { timeoutMs: 30_000 });
    expect([...read.ids].sort()).toEqual(batch.map((e) => e.event_id).sort());
  });
});
