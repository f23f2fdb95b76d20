/**
 * Integration: the Redis container the lab provisions (loadtest/infra/redis.ts) really serves binary
 * values and sorted sets through its published port, and once the container is stopped a client
 * configured to fail fast does fail fast (the behaviour the fault scenarios rely on) instead of hanging.
 *
 * Needs the container engine and image from scripts/setup.sh.
 */
import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { getContainerRuntimeClient } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureContainerEngine } from '../../loadtest/infra/container-engine.ts';
import { externalRedis, RedisInfraError, type StartedRedis, startRedis } from '../../loadtest/infra/redis.ts';

configureContainerEngine(process.env);

/** A client that never queues or retries: every failure reaches the caller at once. */
const FAIL_FAST: RedisOptions = {
  maxRetriesPerRequest: 0,
  enableOfflineQueue: false,
  connectTimeout: 500,
  lazyConnect: true,
};
/** How long a fail-fast command may take to reject once Redis is gone, in milliseconds. */
const FAIL_FAST_BUDGET_MS = 1_500;

/** Runs `op` and resolves with its rejection and elapsed ms; fails if it resolves or exceeds `budgetMs`. */
async function expectFastRejection(op: () => Promise<unknown>, budgetMs: number) {
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    op().then(
      (value) => ({ kind: 'resolved' as const, value }),
      (error: unknown) => ({ kind: 'rejected' as const, error }),
    ),
    new Promise<{ kind: 'hung' }>((resolve) => {
      // Twice the budget: distinguishes "slow" (fails the bound below) from "hangs".
      timer = setTimeout(() => resolve({ kind: 'hung' }), budgetMs * 2);
    }),
  ]);
  clearTimeout(timer);
  const elapsedMs = performance.now() - t0;
  expect(outcome.kind).toBe('rejected');
  expect(elapsedMs).toBeLessThan(budgetMs);
  return { error: outcome.kind === 'rejected' ? outcome.error : undefined, elapsedMs };
}

describe('Redis container (loadtest/infra/redis.ts)', () => {
  let redis: StartedRedis;
  let client: Redis;

  beforeAll(async () => {
    redis = await startRedis({});
    console.info(`redis container ready in ${redis.startMs.toFixed(0)} ms at ${redis.url}`);
    client = new Redis(redis.port, redis.host, { ...FAIL_FAST });
    client.on('error', () => {}); // expected once the container is stopped; commands report it
    await client.connect();
  });

  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  it('exposes a redis:// URL on the mapped port', () => {
    expect(redis.url).toBe(`redis://${redis.host}:${redis.port}`);
    expect(redis.port).toBeGreaterThan(0);
    expect(redis.port).not.toBe(6379);
    expect(redis.container?.getMappedPort(6379)).toBe(redis.port);
  });

  it('round-trips a binary Buffer byte for byte', async () => {
    // Bytes that break any accidental UTF-8 decoding: NUL, 0xff, a lone continuation byte, CRLF.
    const value = Buffer.concat([Buffer.from([0x00, 0xff, 0x80, 0x0d, 0x0a, 0xc3]), randomBytes(4096)]);
    expect(await client.set('bin:1', value)).toBe('OK');
    const back = await client.getBuffer('bin:1');
    expect(back).toBeInstanceOf(Buffer);
    expect(back?.length).toBe(value.length);
    expect(back?.equals(value)).toBe(true);
  });

  it('keeps a sorted set in score order (ZADD / ZREVRANGE)', async () => {
    expect(await client.zadd('pop:global', 3, 'v3', 10, 'v10', 1, 'v1', 7.5, 'v7')).toBe(4);
    expect(await client.zrevrange('pop:global', 0, 2)).toEqual(['v10', 'v7', 'v3']);
    expect(await client.zrevrange('pop:global', 0, -1, 'WITHSCORES')).toEqual([
      'v10',
      '10',
      'v7',
      '7.5',
      'v3',
      '3',
      'v1',
      '1',
    ]);
  });

  it('has no persistence configured (save "" and appendonly no)', async () => {
    expect(await client.config('GET', 'save')).toEqual(['save', '']);
    expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
  });

  it('works through externalRedis(url) too, whose stop() leaves Redis running', async () => {
    const ext = externalRedis(redis.url);
    expect(ext.host).toBe(redis.host);
    expect(ext.port).toBe(redis.port);
    expect(ext.container).toBeUndefined();
    const other = new Redis(ext.url, { ...FAIL_FAST });
    try {
      await other.connect();
      expect(await other.zrevrange('pop:global', 0, 0)).toEqual(['v10']);
      await ext.stop();
      expect(await other.ping()).toBe('PONG');
    } finally {
      other.disconnect();
    }
  });

  it('fails fast, not hangs, once the container is stopped; then stops cleanly', async () => {
    const container = redis.container!;
    const id = container.getId();
    const t0 = performance.now();
    await container.stop();
    console.info(`container.stop() took ${(performance.now() - t0).toFixed(0)} ms`);

    // The connection that was open when Redis went away.
    const open = await expectFastRejection(() => client.get('bin:1'), FAIL_FAST_BUDGET_MS);
    expect(open.error).toBeInstanceOf(Error);

    // A fresh connection to the port that no longer has anything behind it.
    const fresh = new Redis(redis.port, redis.host, { ...FAIL_FAST, retryStrategy: () => null });
    fresh.on('error', () => {});
    try {
      const dial = await expectFastRejection(() => fresh.connect(), FAIL_FAST_BUDGET_MS);
      expect(dial.error).toBeInstanceOf(Error);
      console.info(
        `fail-fast: open connection ${open.elapsedMs.toFixed(0)} ms, new ${dial.elapsedMs.toFixed(0)} ms`,
      );
    } finally {
      fresh.disconnect();
    }

    // stop() after the fault-injection stop is a clean no-op, and the container is gone.
    await expect(redis.stop()).resolves.toBeUndefined();
    await expect(redis.stop()).resolves.toBeUndefined();
    const runtime = await getContainerRuntimeClient();
    await expect(runtime.container.getById(id).inspect()).rejects.toThrow(/no such container|404/i);
  });
});

describe('startRedis failures', () => {
  it('throws RECLAB_ERR_INFRA_REDIS_START naming the image and the fix when the image is missing', async () => {
    const image = 'localhost/reclab-no-such-image:0';
    const err = await startRedis({ image, startupTimeoutMs: 5_000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RedisInfraError);
    expect((err as RedisInfraError).code).toBe('RECLAB_ERR_INFRA_REDIS_START');
    expect((err as Error).message).toContain(image);
    expect((err as Error).message).toContain('scripts/setup.sh');
  });

  it('rejects a URL that is not redis:// with RECLAB_ERR_INFRA_REDIS_URL', () => {
    expect(() => externalRedis('http://localhost:6379')).toThrow(RedisInfraError);
    try {
      externalRedis('not a url');
      expect.unreachable();
    } catch (e) {
      expect((e as RedisInfraError).code).toBe('RECLAB_ERR_INFRA_REDIS_URL');
    }
  });
});
