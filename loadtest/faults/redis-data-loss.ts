import { Redis } from 'ioredis';
import { getContainerRuntimeClient } from 'testcontainers';
import { keys } from '../../core/adapters/redis/keys.ts';
import type { StartedRedis } from '../infra/redis.ts';

/** Budget for Redis to answer PING after the restart, in milliseconds. */
const RESTART_PING_TIMEOUT_MS = 30_000;

/** What `restartRedisEmpty` did, for the run's log. */
export interface RedisDataLoss {
  /** The container was running and was SIGKILLed (false: it was already stopped). */
  killed: boolean;
  /** Keys Redis held right after it came back (0 for an image without persistence). */
  keysAfterStart: number;
  /** Keys were found after the restart (an image with persistence) and FLUSHALL removed them. */
  flushedAfterStart: boolean;
  /** Wall time of the whole fault, ms. */
  ms: number;
}

/**
 * The "restart with data loss" fault (issue 9 item 6): Redis loses everything the loader wrote and
 * comes back empty at the same address, as after a crash of a Redis without persistence.
 *
 * 1. If the container runs: FLUSHALL and SAVE (an empty snapshot over any earlier one, such as
 *    the one a `down` fault writes, so the restart cannot bring the data back), then
 *    SIGKILL — no clean shutdown, no final save — and wait until it has exited.
 * 2. Start the same container again (engine `start`: same published port), wait for PING.
 * 3. Should keys still be there (an image that persisted them some other way), FLUSHALL them.
 *
 * The default image (scripts/setup/30-image-redis.sh) has no persistence: step 3 finds nothing.
 * @throws Error when the Redis has no container (external mode) or does not answer within 30 s
 */
export async function restartRedisEmpty(redis: StartedRedis): Promise<RedisDataLoss> {
  const t0 = performance.now();
  if (!redis.container) throw new Error('restart_empty redis: no container in external mode');
  const engine = await getContainerRuntimeClient();
  const container = engine.container.getById(redis.container.getId());
  const running = ((await container.inspect()) as { State?: { Running?: boolean } }).State?.Running === true;
  if (running) {
    // FLUSHALL, then SAVE: an empty snapshot replaces any earlier one (a `down` fault saves the
    // data first, so that Redis comes back with it: redis-stop.ts), whatever the save points.
    await withClient(redis, async (c) => {
      await c.flushall();
      await c.save();
    });
    await container.kill({ signal: 'SIGKILL' });
    await container.wait();
  }
  await container.start();
  const keysAfterStart = await withClient(redis, (c) => c.dbsize());
  let flushedAfterStart = false;
  if (keysAfterStart > 0 && (await withClient(redis, (c) => c.exists(keys.worldHash))) > 0) {
    await withClient(redis, (c) => c.flushall());
    flushedAfterStart = true;
  }
  return { killed: running, keysAfterStart, flushedAfterStart, ms: Math.round(performance.now() - t0) };
}

/** Runs `fn` on a fresh client once Redis answers PING (retrying the connection up to 30 s). */
export async function withClient<T>(redis: StartedRedis, fn: (c: Redis) => Promise<T>): Promise<T> {
  const deadline = performance.now() + RESTART_PING_TIMEOUT_MS;
  for (;;) {
    const client = new Redis({
      host: redis.host,
      port: redis.port,
      lazyConnect: true,
      connectTimeout: 1_000,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    client.on('error', () => {}); // failures surface through the awaited calls
    try {
      await client.connect();
      await client.ping();
      return await fn(client);
    } catch (err) {
      if (performance.now() + 100 > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      client.disconnect();
    }
  }
}
