import { Kafka, logLevel } from 'kafkajs';

/**
 * Counts the distinct `impression_id`s on a topic with a real consumer (its own consumer group,
 * from the beginning). Stops when `expected` distinct ids were seen, or when no new message arrived
 * for `idleMs` after at least one partition reached its end, or after `timeoutMs`.
 *
 * @returns distinct ids and total messages (total − distinct = duplicates)
 */
export async function countImpressions(
  brokers: string[],
  topic: string,
  expected: number,
  opts: { timeoutMs?: number; idleMs?: number } = {},
): Promise<{ distinct: number; messages: number }> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const idleMs = opts.idleMs ?? 3000;
  const kafka = new Kafka({ clientId: 'reclab-counter', brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `reclab-counter-${process.pid}-${Date.now()}` });
  const ids = new Set<string>();
  let messages = 0;
  let lastMessageAt = Date.now();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          messages++;
          const id = m.value
            ? (JSON.parse(m.value.toString()) as { impression_id?: string }).impression_id
            : undefined;
          if (id) ids.add(id);
        }
        lastMessageAt = Date.now();
      },
    });
    const started = Date.now();
    while (ids.size < expected && Date.now() - started < timeoutMs) {
      if (expected === 0 && Date.now() - lastMessageAt > idleMs) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // A short grace period catches duplicates or extras beyond `expected`.
    await new Promise((r) => setTimeout(r, 500));
  } finally {
    await consumer.disconnect().catch(() => {});
  }
  return { distinct: ids.size, messages };
}
