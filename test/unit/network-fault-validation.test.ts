/**
 * loadtest/faults/toxiproxy-faults.ts refuses a bad network fault with RECLAB_ERR_NETWORK_FAULT_INVALID
 * before it talks to Toxiproxy (the client here points at a closed port: any call would fail with
 * RECLAB_ERR_NETWORK_FAULT_API instead), and `isNetworkFault` picks exactly the faults it handles.
 */
import { Toxiproxy } from 'toxiproxy-node-client';
import { describe, expect, it } from 'vitest';
import {
  isNetworkFault,
  type NetworkFault,
  NetworkFaultError,
  ToxiproxyFaultInjector,
} from '../../loadtest/faults/toxiproxy-faults.ts';

const injector = new ToxiproxyFaultInjector({ client: new Toxiproxy('http://127.0.0.1:1') });

async function codeOf(fault: unknown): Promise<string | undefined> {
  const err = await injector.apply(fault as NetworkFault).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NetworkFaultError);
  return (err as NetworkFaultError).code;
}

describe('ToxiproxyFaultInjector.apply validation', () => {
  it.each([
    ['latency without latencyMs', { target: 'redis', kind: 'latency' }],
    ['negative jitterMs', { target: 'redis', kind: 'latency', latencyMs: 200, jitterMs: -1 }],
    [
      'latency in seconds by mistake (over 600 000 ms)',
      { target: 'redis', kind: 'latency', latencyMs: 700_000 },
    ],
    ['NaN timeoutMs', { target: 'redis', kind: 'timeout', timeoutMs: Number.NaN }],
    ['bandwidth 0 (no limit to Toxiproxy)', { target: 'kafka', kind: 'bandwidth', rateKBps: 0 }],
    ['rate as a string', { target: 'kafka', kind: 'bandwidth', rateKBps: '100' }],
    ['unknown kind', { target: 'redis', kind: 'slow' }],
    ['target without a network path', { target: 'ranker_tier', kind: 'down' }],
  ])('%s → RECLAB_ERR_NETWORK_FAULT_INVALID', async (_, fault) => {
    expect(await codeOf(fault)).toBe('RECLAB_ERR_NETWORK_FAULT_INVALID');
  });

  it.each([
    ['fractional latency (rounded)', { target: 'redis', kind: 'latency', latencyMs: 1.5, jitterMs: 0.4 }],
    ['timeout 0 (held open, as hang)', { target: 'redis', kind: 'timeout', timeoutMs: 0 }],
    ['bandwidth below 1 KB/s (at least 1)', { target: 'kafka', kind: 'bandwidth', rateKBps: 0.3 }],
  ])('%s is accepted: it gets as far as the API (unreachable here)', async (_, fault) => {
    expect(await codeOf(fault)).toBe('RECLAB_ERR_NETWORK_FAULT_API');
  });

  it('a valid fault gets as far as the API (unreachable here) → RECLAB_ERR_NETWORK_FAULT_API', async () => {
    expect(
      await codeOf({ target: 'redis', kind: 'latency', latencyMs: 200, jitterMs: 50, fromS: 5, toS: 20 }),
    ).toBe('RECLAB_ERR_NETWORK_FAULT_API');
  });

  it('clear refuses what is not a network fault', async () => {
    await expect(injector.clear({ target: 'ann_index', kind: 'stale' } as never)).rejects.toMatchObject({
      code: 'RECLAB_ERR_NETWORK_FAULT_INVALID',
    });
  });
});

describe('isNetworkFault', () => {
  it('is true for redis/kafka with a network kind, false otherwise', () => {
    expect(isNetworkFault({ target: 'redis', kind: 'latency' })).toBe(true);
    expect(isNetworkFault({ target: 'kafka', kind: 'down' })).toBe(true);
    expect(isNetworkFault({ target: 'redis', kind: 'restart_empty' })).toBe(false);
    expect(isNetworkFault({ target: 'ranker_tier', kind: 'down' })).toBe(false);
  });
});
