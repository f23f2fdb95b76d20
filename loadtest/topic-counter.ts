import { randomUUID } from 'node:crypto';
import { Consumer, type Message, MessagesStreamModes } from '@platformatic/kafka';
import { forceClose } from '../core/adapters/kafka/force-close.ts';

/** What a real consumer found on a topic. */
export interface TopicIds {
  /** Distinct values of the id field. */
  ids: Set<string>;
  /** Messages read (messages − distinct ids = duplicates, plus messages without the field). */
  messages: number;
  /** True when every partition was read up to the end offset it had when counting began. */
  complete: boolean;
}

/**
 * Reads a whole topic with a real consumer (its own consumer group, from the earliest offset, no
 * commits) and collects the distinct values of `idField` in its JSON messages: `impression_id` for
 * impressions, `event_id` for events. Reads up to each partition's end offset as of the call (the
 * producers are expected to be done), or for at most `timeoutMs` (then `complete` is false).
 * Unreadable messages are counted in `messages` only.
 *
 * @throws the client's error when the topic's end offsets cannot be read (Kafka unreachable)
 */
export async function readTopicIds(
  brokers: string[],
  topic: string,
  idField: string,
  opts: { timeoutMs?: number } = {},
): Promise<TopicIds> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const consumer = new Consumer({
    clientId: 'reclab-counter',
    groupId: `reclab-counter-${randomUUID()}`,
    bootstrapBrokers: brokers,
    autocommit: false,
    maxWaitTime: 200,
    retries: 5,
    retryDelay: 200,
  });
  const ids = new Set<string>();
  let messages = 0;
  try {
    const ends = (await consumer.listOffsets({ topics: [topic] })).get(topic) ?? [];
    const left = new Map<number, bigint>(); // partition → end offset still to reach
    ends.forEach((end, partition) => {
      if (end > 0n) left.set(partition, end);
    });
    if (left.size === 0) return { ids, messages, complete: true };
    const stream = await consumer.consume({
      topics: [topic],
      mode: MessagesStreamModes.EARLIEST,
      autocommit: false,
    });
    const complete = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      const finish = (done: boolean): void => {
        clearTimeout(timer);
        stream.off('data', onData);
        resolve(done);
      };
      const onData = (m: Message<Buffer, Buffer, Buffer, Buffer>): void => {
        messages++;
        const id = idOf(m.value, idField);
        if (id !== undefined) ids.add(id);
        const end = left.get(m.partition);
        if (end !== undefined && m.offset + 1n >= end) left.delete(m.partition);
        if (left.size === 0) finish(true);
      };
      stream.on('data', onData);
      stream.once('error', () => finish(false));
    });
    return { ids, messages, complete };
  } finally {
    await Promise.race([forceClose(consumer).catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
  }
}

/**
 * Counts the distinct `impression_id`s on a topic with a real consumer (see {@link readTopicIds}).
 *
 * @returns distinct ids and total messages (total − distinct = duplicates)
 */
export async function countImpressions(
  brokers: string[],
  topic: string,
  opts: { timeoutMs?: number } = {},
): Promise<{ distinct: number; messages: number }> {
  const { ids, messages } = await readTopicIds(brokers, topic, 'impression_id', opts);
  return { distinct: ids.size, messages };
}

function idOf(value: Buffer | undefined, field: string): string | undefined {
  if (!value) return undefined;
  try {
    const id = (JSON.parse(value.toString('utf8')) as Record<string, unknown>)[field];
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}
