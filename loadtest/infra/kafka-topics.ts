import { Admin } from '@platformatic/kafka';

/** How long `createTopic` waits for the new topic's partition leader. */
const LEADER_WAIT_MS = 30_000;

/**
 * Creates `topic` (1 partition, replication 1) and waits until its partition has a leader; an
 * existing topic is kept.
 *
 * @throws Error when the broker refuses the topic for another reason than "it exists", or no leader
 *   is elected within 30 s
 */
export async function createTopic(brokers: string[], topic: string): Promise<void> {
  const admin = new Admin({ clientId: 'reclab-lab', bootstrapBrokers: brokers, retries: 5, retryDelay: 200 });
  try {
    await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 }).catch((err: unknown) => {
      if (!hasApiId(err, 'TOPIC_ALREADY_EXISTS')) throw err;
    });
    const deadline = Date.now() + LEADER_WAIT_MS;
    for (;;) {
      const md = await admin.metadata({ topics: [topic], forceUpdate: true }).catch(() => undefined);
      const partitions = md?.topics.get(topic)?.partitions ?? [];
      if (partitions.length > 0 && partitions.every((p) => p.leader >= 0)) return;
      if (Date.now() > deadline)
        throw new Error(`topic ${topic}: no partition leader after ${LEADER_WAIT_MS} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await admin.close().catch(() => {});
  }
}

/** Whether `err` (a @platformatic/kafka error, possibly wrapping others) carries Kafka error `apiId`. */
function hasApiId(err: unknown, apiId: string): boolean {
  const e = err as { apiId?: string; errors?: unknown[]; findBy?: (k: string, v: unknown) => unknown };
  if (typeof e?.findBy === 'function') return Boolean(e.findBy('apiId', apiId));
  return e?.apiId === apiId || (e?.errors ?? []).some((inner) => hasApiId(inner, apiId));
}
