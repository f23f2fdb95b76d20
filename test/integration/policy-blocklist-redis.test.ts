/**
 * The policy block list (core/pipeline/policy-blocklist.ts) over the Redis set `policy:blocked`, on a
 * real Redis: paged SSCAN reads, the entry bound, ids that are not videos skipped, and the last list
 * kept in force while Redis is down.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../core/adapters/clock/system-clock.ts';
import { keys } from '../../core/adapters/redis/keys.ts';
import { RedisBlocklistSource } from '../../core/adapters/redis/policy-blocklist-source.ts';
import { PolicyBlocklist } from '../../core/pipeline/policy-blocklist.ts';
import { applyContainerFault } from '../../loadtest/faults/container-faults.ts';
import { configureContainerEngine } from '../../loadtest/infra/container-engine.ts';
import { type StartedRedis, startRedis } from '../../loadtest/infra/redis.ts';

configureContainerEngine(process.env);

let redis: StartedRedis | undefined;
let client: Redis | undefined;

beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.url, { maxRetriesPerRequest: 0, commandTimeout: 500, enableOfflineQueue: false });
  client.on('error', () => {});
  await new Promise((resolve) => client!.once('ready', resolve));
}, 120_000);

afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
});

describe('PolicyBlocklist on Redis', () => {
  it('reads the whole set in pages, skips non-video ids, honours the bound, and survives an outage', async () => {
    const ids = Array.from({ length: 2500 }, (_, i) => `v_${i * 3}`);
    await client!.sadd(keys.policyBlocked, ...ids, 'not-a-video');
    const list = new PolicyBlocklist(new RedisBlocklistSource(client!), systemClock, {
      refreshMs: 60_000,
      maxEntries: 10_000,
    });
    expect(await list.refresh()).toBe(true);
    expect(list.blocked.size).toBe(2500);
    expect(list.blocked.has(3)).toBe(true);
    expect(list.blocked.has(4)).toBe(false);
    expect(list.truncated).toBe(false);

    const small = new PolicyBlocklist(new RedisBlocklistSource(client!), systemClock, {
      refreshMs: 60_000,
      maxEntries: 100,
    });
    await small.refresh();
    expect(small.blocked.size).toBeLessThanOrEqual(100);
    expect(small.truncated).toBe(true);

    await applyContainerFault(redis!.container!, 'stop');
    try {
      expect(await list.refresh()).toBe(false);
      expect(list.blocked.size).toBe(2500); // a block must not lapse because the store failed
    } finally {
      await applyContainerFault(redis!.container!, 'start');
    }
  }, 60_000);
});
