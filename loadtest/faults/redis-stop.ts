import type { StartedRedis } from '../infra/redis.ts';
import { applyContainerFault } from './container-faults.ts';
import { withClient } from './redis-data-loss.ts';

/** What a `redis down` fault did, for the run's log. */
export interface RedisStopped {
  /** Keys in the snapshot written before the stop. */
  keysSaved: number;
  /** Wall time of SAVE + stop, ms. */
  ms: number;
}

/**
 * The `redis down` fault (issue 12, redis-failure "stop"): Redis stops and later comes back **with
 * its data**, as a Redis with persistence does after a stop or a restart. The lab's image has no
 * persistence at all (`save ""`, scripts/setup/30-image-redis.sh), so a plain container stop would
 * also be a data loss — that is the other fault, `restart_empty`. Here:
 *
 * 1. SAVE (a synchronous RDB snapshot to /data/dump.rdb in the container's own storage, which a
 *    stop keeps), through a client of its own;
 * 2. stop the container (SIGTERM, SIGKILL after 10 s): connections close, new ones are refused.
 *
 * The revert starts the same container (same published port) and resolves once Redis answers
 * PING: Redis loads the snapshot at start, before it accepts commands.
 * @throws Error when the Redis has no container (external mode), or SAVE or the stop fails
 */
export async function stopRedisKeepingData(redis: StartedRedis): Promise<RedisStopped> {
  const t0 = performance.now();
  if (!redis.container) throw new Error('down redis: no container in external mode');
  const keysSaved = await withClient(redis, async (c) => {
    await c.save();
    return c.dbsize();
  });
  await applyContainerFault(redis.container, 'stop');
  return { keysSaved, ms: Math.round(performance.now() - t0) };
}

/** Starts the stopped Redis again and resolves once it answers PING (its snapshot loaded); returns its key count. */
export async function startRedisAgain(redis: StartedRedis): Promise<number> {
  if (!redis.container) throw new Error('down redis: no container in external mode');
  await applyContainerFault(redis.container, 'start');
  return withClient(redis, (c) => c.dbsize());
}
