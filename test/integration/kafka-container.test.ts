/**
 * The local Kafka image works end to end through its advertised listener: a topic is created, 100
 * messages are produced from the host, and a real consumer group reads all of them back, from the
 * beginning, with the same keys and payloads. Needs the image (scripts/setup/31-image-kafka.sh) and
 * a container engine (scripts/setup/20-podman.sh).
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureContainerEngine } from '../../loadtest/infra/container-engine.ts';
import {
  externalKafka,
  KAFKA_START_ERROR_CODE,
  KafkaStartError,
  type StartedKafka,
  startKafka,
} from '../../loadtest/infra/kafka.ts';

configureContainerEngine(process.env);
// kafkajs prints a partitioner notice on every producer; it says nothing about this test.
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const N = 100;

describe('Kafka container (localhost/reclab-kafka)', () => {
  let kafka: StartedKafka;
  let startMs = 0;

  beforeAll(async () => {
    const t0 = performance.now();
    kafka = await startKafka({ startupTimeoutMs: 90_000 });
    startMs = performance.now() - t0;
    console.log(`kafka: start-to-ready ${startMs.toFixed(0)} ms at ${kafka.brokers.join(',')}`);
  });

  afterAll(async () => {
    await kafka?.stop();
  });

  it('advertises the host-reachable address it was started on', () => {
    expect(kafka.brokers).toHaveLength(1);
    expect(kafka.brokers[0]).toMatch(/^localhost:\d+$/);
    expect(kafka.container).not.toBeNull();
  });

  it('round-trips 100 messages through a consumer group from the beginning', async () => {
    const client = new Kafka({
      clientId: 'reclab-kafka-test',
      brokers: kafka.brokers,
      logLevel: logLevel.WARN,
    });
    const topic = `roundtrip-${randomUUID()}`;
    const admin = client.admin();
    await admin.connect();
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true })).toBe(
      true,
    );
    await admin.disconnect();

    const sent = Array.from({ length: N }, (_, i) => ({
      key: `k${i}`,
      value: JSON.stringify({ i, uuid: randomUUID() }),
    }));
    const producer = client.producer();
    await producer.connect();
    await producer.send({ topic, messages: sent, acks: -1 });
    await producer.disconnect();

    // A short fetch wait: disconnect() waits for the in-flight long poll (default 5 s).
    const consumer = client.consumer({ groupId: `g-${randomUUID()}`, maxWaitTimeInMs: 250 });
    const received: { key: string; value: string; offset: string }[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const done = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          received.push({
            key: message.key?.toString() ?? '',
            value: message.value?.toString() ?? '',
            offset: message.offset,
          });
          if (received.length >= N) resolve();
        },
      });
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), 30_000);
    });
    const outcome = await Promise.race([done, timedOut]);
    clearTimeout(timer);
    // Linger a moment so a duplicate or extra delivery would be counted too.
    await new Promise((r) => setTimeout(r, 500));
    await consumer.disconnect();

    expect(outcome, `consumed ${received.length} of ${N} within 30 s`).not.toBe('timeout');
    expect(received).toHaveLength(N);
    expect(received.map((m) => ({ key: m.key, value: m.value }))).toEqual(sent);
    expect(received.map((m) => m.offset)).toEqual(sent.map((_, i) => String(i)));
  });

  it('auto-creates topics on first produce', async () => {
    const client = new Kafka({
      clientId: 'reclab-kafka-test',
      brokers: kafka.brokers,
      logLevel: logLevel.NOTHING,
    });
    const topic = `auto-${randomUUID()}`;
    const producer = client.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    await producer.send({ topic, messages: [{ value: 'x' }] });
    await producer.disconnect();
    const admin = client.admin();
    await admin.connect();
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.disconnect();
    expect(meta.topics[0]?.partitions).toHaveLength(1);
  });
});

describe('Kafka start errors', () => {
  it('fails with RECLAB_ERR_INFRA_KAFKA_START and names the set-up script for a missing image', async () => {
    const err = await startKafka({
      image: 'localhost/reclab-no-such-kafka:0',
      startupTimeoutMs: 20_000,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KafkaStartError);
    expect((err as KafkaStartError).code).toBe(KAFKA_START_ERROR_CODE);
    expect((err as KafkaStartError).message).toContain('scripts/setup/31-image-kafka.sh');
  });

  it('wraps external brokers without owning them', async () => {
    const ext = externalKafka(['broker-a:9092']);
    expect(ext.brokers).toEqual(['broker-a:9092']);
    expect(ext.container).toBeNull();
    await ext.stop();
    expect(() => externalKafka([])).toThrow(KafkaStartError);
  });
});
