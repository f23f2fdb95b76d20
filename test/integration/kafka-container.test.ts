/**
 * The local Kafka image works end to end through its advertised listener: a topic is created, 100
 * messages are produced from the host, and a real consumer group reads all of them back, from the
 * beginning, with the same keys and payloads. Needs the image (scripts/setup/31-image-kafka.sh) and
 * a container engine (scripts/setup/20-podman.sh).
 */
import { randomUUID } from 'node:crypto';
import {
  Admin,
  Consumer,
  type Message,
  MessagesStreamModes,
  Producer,
  stringSerializers,
} from '@platformatic/kafka';
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
    const topic = `roundtrip-${randomUUID()}`;
    const admin = new Admin({ clientId: 'reclab-kafka-test', bootstrapBrokers: kafka.brokers });
    const created = await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
    await admin.close();
    expect(created.map((t) => t.name)).toEqual([topic]);

    const sent = Array.from({ length: N }, (_, i) => ({
      key: `k${i}`,
      value: JSON.stringify({ i, uuid: randomUUID() }),
    }));
    const producer = new Producer({
      clientId: 'reclab-kafka-test',
      bootstrapBrokers: kafka.brokers,
      serializers: stringSerializers,
      idempotent: true,
    });
    await producer.send({ messages: sent.map((m) => ({ topic, ...m })) });
    await producer.close();

    // A short fetch wait: closing waits for the in-flight long poll (default 5 s).
    const consumer = new Consumer({
      clientId: 'reclab-kafka-test',
      groupId: `g-${randomUUID()}`,
      bootstrapBrokers: kafka.brokers,
      maxWaitTime: 250,
      autocommit: false,
    });
    const received: { key: string; value: string; offset: bigint }[] = [];
    const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST });
    const done = new Promise<void>((resolve) => {
      stream.on('data', (m: Message<Buffer, Buffer, Buffer, Buffer>) => {
        received.push({ key: m.key?.toString() ?? '', value: m.value?.toString() ?? '', offset: m.offset });
        if (received.length >= N) resolve();
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
    await consumer.close(true);

    expect(outcome, `consumed ${received.length} of ${N} within 30 s`).not.toBe('timeout');
    expect(received).toHaveLength(N);
    expect(received.map((m) => ({ key: m.key, value: m.value }))).toEqual(sent);
    expect(received.map((m) => m.offset)).toEqual(sent.map((_, i) => BigInt(i)));
  });

  it('auto-creates topics on first produce', async () => {
    const topic = `auto-${randomUUID()}`;
    const producer = new Producer({
      clientId: 'reclab-kafka-test',
      bootstrapBrokers: kafka.brokers,
      serializers: stringSerializers,
      autocreateTopics: true,
    });
    await producer.send({ messages: [{ topic, value: 'x' }] });
    await producer.close();
    const admin = new Admin({ clientId: 'reclab-kafka-test', bootstrapBrokers: kafka.brokers });
    const meta = await admin.metadata({ topics: [topic], forceUpdate: true });
    await admin.close();
    expect(meta.topics.get(topic)?.partitions).toHaveLength(1);
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
