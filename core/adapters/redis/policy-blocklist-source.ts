import type { Redis } from 'ioredis';
import type { BlocklistSource } from '../../pipeline/policy-blocklist.ts';
import { keys } from './keys.ts';

/**
 * The policy block list in Redis: the set `policy:blocked` of video ids (`v_<index>`), written by
 * whatever enforces policy (moderation, takedowns). Read with SSCAN in pages of 1000 until `max`
 * ids or the end — never one unbounded SMEMBERS.
 */
export class RedisBlocklistSource implements BlocklistSource {
  readonly #redis: Redis;

  constructor(redis: Redis) {
    this.#redis = redis;
  }

  async blockedIds(max: number): Promise<string[]> {
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, page] = await this.#redis.sscan(keys.policyBlocked, cursor, 'COUNT', 1000);
      out.push(...page);
      cursor = next;
    } while (cursor !== '0' && out.length < max);
    return out.slice(0, max);
  }
}
