/**
 * Issue 5 acceptance: impressions survive a Kafka outage through the disk spool of
 * KafkaImpressionLog, against a real broker (startKafka) whose container is stopped and started
 * again. Stop/start go through the engine's API (dockerode `stop`/`start`, what `podman stop` /
 * `podman start` do): the container keeps its fixed host port, so the broker comes back on the
 * address it advertises, and its KRaft storage (the container's writable layer), so topics and
 * offsets survive. Needs the image (scripts/setup/31-image-kafka.sh) and a container engine.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getContainerRuntimeClient } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../core/adapters/clock/system-clock.ts';
import { KafkaImpressionLog } from '../../core/adapters/kafka/kafka-impression-log.ts';
import type { Impression } from '../../core/ports/impression-log.ts';
import { configureContainerEngine } from '../../loadtest/infra/container-engine.ts';
import { type StartedKafka, startKafka } from '../../loadtest/infra/kafka.ts';
import { countImpressions } from '../../loadtest/topic-counter.ts';

configureContainerEngine(process.env);

const RATE_PER_S = 100;
const RUN_MS = 35_000;
const OUTAGE_AT_MS = 3_000;
const OUTAGE_MS = 20_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function impression(i: number): Impression {
  return {
    impression_id: `imp_${randomUUID()}`,
    user_id: `u_${i % 97}`,
    timestamp: Date.now(),
    experiment_id: 'exp_ranking_v3',
    variant: 'treatment',
    experiments: [{ id: 'exp_ranking_v3', variant: 'treatment' }],
    rung: 'full',
    model_version: 'test',
    candidates_retrieved: 312,
    candidates_ranked: 300,
    final_list_size: 3,
    recommendations: [1, 2, 3].map((position) => ({
      video_id: `v_${i}_${position}`,
      position,
      ranking_score: 1 / position,
      retrieval_source: 'two_tower',
    })),
    latency_ms: { total: 12, retrieval: 4, ranking: 6 },
  };
}

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

describe('KafkaImpressionLog disk spool (real Kafka, stopped and restarted)', () => {
  let kafka: StartedKafka;
  const dirs: string[] = [];

  /** Stops the broker's container (SIGTERM, clean shutdown) and starts it again on the same port. */
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
    const dir = await mkdtemp(join(tmpdir(), 'reclab-spool-'));
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

  it('delivers every impression of a run with a 20 s outage: distinct ids on the topic = published', async () => {
    const dir = await spoolDir();
    const topic = `impressions-${randomUUID()}`;
    const log = new KafkaImpressionLog(
      { brokers: kafka.brokers, topic, bufferMax: 10_000, spoolDir: dir },
      systemClock,
    );
    log.start();

    // Sample the stats every 50 ms: the largest spool, and when replay began and ended.
    let maxSpoolPending = 0;
    let restartedAt = 0;
    let replayStartedAt = 0;
    let replayDoneAt = 0;
    const sampler = setInterval(() => {
      const s = log.stats();
      maxSpoolPending = Math.max(maxSpoolPending, s.spoolPending);
      if (restartedAt > 0 && replayStartedAt === 0 && s.replayed > 0) replayStartedAt = Date.now();
      if (replayStartedAt > 0 && replayDoneAt === 0 && s.spoolPending === 0) replayDoneAt = Date.now();
    }, 50);

    const t0 = Date.now();
    const outage = (async () => {
      await sleep(OUTAGE_AT_MS);
      await broker.stop();
      await sleep(OUTAGE_MS);
      await broker.start();
      restartedAt = Date.now();
    })();

    // Open model at RATE_PER_S: the count due by now, whatever the timer drift.
    let published = 0;
    while (Date.now() - t0 < RUN_MS) {
      const due = Math.floor(((Date.now() - t0) * RATE_PER_S) / 1000);
      while (published < due) log.publish(impression(published++));
      await sleep(10);
    }
    await outage;
    const closeStart = Date.now();
    await log.close(60_000);
    const closeMs = Date.now() - closeStart;
    clearInterval(sampler);
    if (replayDoneAt === 0 && log.stats().spoolPending === 0) replayDoneAt = Date.now();

    const s = log.stats();
    const counted = await countImpressions(kafka.brokers, topic, { timeoutMs: 30_000 });
    console.log(
      `spool: published=${published} stats=${JSON.stringify(s)} maxSpoolPending=${maxSpoolPending} ` +
        `firstReplayAfterRestart=${replayStartedAt - restartedAt} ms replayDrained=${replayDoneAt - replayStartedAt} ms ` +
        `close=${closeMs} ms topic distinct=${counted.distinct} messages=${counted.messages}`,
    );

    expect(s.spooled, 'the outage went through the disk spool').toBeGreaterThan(0);
    expect(s.dropped).toBe(0);
    expect(s.pending).toBe(0);
    expect(s.spoolPending).toBe(0);
    expect(s.spoolBytes).toBe(0);
    expect(s.published).toBeGreaterThanOrEqual(published);
    expect(s.replayed).toBe(s.spooled);
    expect(await readdir(dir), 'every segment deleted after its acks').toEqual([]);
    expect(counted.distinct).toBe(published);
  });

  it('replays, after a process restart, what an earlier process left in the spool', async () => {
    const dir = await spoolDir();
    const topic = `impressions-${randomUUID()}`;
    const n = 300;
    await broker.stop();
    const first = new KafkaImpressionLog(
      { brokers: kafka.brokers, topic, bufferMax: 10_000, spoolDir: dir, spoolAfterFailureMs: 200 },
      systemClock,
    );
    first.start();
    for (let i = 0; i < n; i++) first.publish(impression(i));
    expect(await waitFor(() => first.stats().spoolPending === n, 10_000), 'spooled while Kafka is down').toBe(
      true,
    );
    await first.close(200); // Kafka is down: nothing is delivered, the spool keeps everything
    const left = first.stats();
    expect(left).toMatchObject({ published: 0, dropped: 0, pending: n, buffered: 0, spoolPending: n });
    expect((await readdir(dir)).length).toBeGreaterThan(0);

    await broker.start();
    const restartedAt = Date.now();
    const second = new KafkaImpressionLog(
      { brokers: kafka.brokers, topic, bufferMax: 10_000, spoolDir: dir },
      systemClock,
    );
    expect(second.stats(), 'leftovers found at construction').toMatchObject({ pending: n, spoolPending: n });
    second.start();
    expect(await waitFor(() => second.stats().pending === 0, 60_000), 'replayed once Kafka is back').toBe(
      true,
    );
    const replayMs = Date.now() - restartedAt;
    await second.close(5_000);
    const s = second.stats();
    const counted = await countImpressions(kafka.brokers, topic, { timeoutMs: 30_000 });
    console.log(
      `restart replay: stats=${JSON.stringify(s)} broker-start-to-drained=${replayMs} ms ` +
        `topic distinct=${counted.distinct} messages=${counted.messages}`,
    );
    expect(s).toMatchObject({ published: n, replayed: n, dropped: 0, spoolPending: 0, spoolBytes: 0 });
    expect(await readdir(dir)).toEqual([]);
    expect(counted.distinct).toBe(n);
  });
});
