/**
 * The live runner's fault mapping (loadtest/faults/live-faults.ts): what it refuses before a run,
 * and how network kinds reach a NetworkFaultInjector (the interface Toxiproxy's injector implements)
 * — applied, then cleared by the revert.
 */
import { describe, expect, it } from 'vitest';
import {
  injectFault,
  type LiveFaultTargets,
  networkFaultOf,
  unsupportedReason,
} from '../../loadtest/faults/live-faults.ts';
import type { NetworkFault, NetworkFaultInjector } from '../../loadtest/faults/network.ts';
import { type Fault, parseScenario } from '../../scenarios/define.ts';

const fault = (f: object): Fault =>
  parseScenario({
    name: 'f',
    description: 'f',
    world: { users: 1, videos: 1 },
    rankerTier: true,
    phases: [{ name: 'p', durationS: 10, arrivals: { kind: 'constant', rateQps: 1 }, faults: [f] }],
    assertions: [],
  }).phases[0].faults![0];

describe('live fault mapping', () => {
  it('maps the network kinds to the injector’s faults, units kept', () => {
    expect(networkFaultOf(fault({ target: 'redis', kind: 'latency', latencyMs: 200, jitterMs: 50 }))).toEqual(
      {
        target: 'redis',
        kind: 'latency',
        latencyMs: 200,
        jitterMs: 50,
      },
    );
    expect(networkFaultOf(fault({ target: 'kafka', kind: 'timeout', timeoutMs: 0 }))).toEqual({
      target: 'kafka',
      kind: 'timeout',
      timeoutMs: 0,
    });
    expect(networkFaultOf(fault({ target: 'redis', kind: 'reset_peer' }))).toEqual({
      target: 'redis',
      kind: 'reset_peer',
      timeoutMs: 0,
    });
    expect(networkFaultOf(fault({ target: 'redis', kind: 'bandwidth', rateKBps: 64 }))).toMatchObject({
      rateKBps: 64,
    });
    expect(networkFaultOf(fault({ target: 'redis', kind: 'down' }))).toBeUndefined();
  });

  it('refuses what this run cannot inject, saying why', () => {
    const none: LiveFaultTargets = {};
    expect(unsupportedReason(fault({ target: 'redis', kind: 'latency', latencyMs: 5 }), none)).toMatch(
      /needs a network fault injector \(Toxiproxy/,
    );
    expect(unsupportedReason(fault({ target: 'kafka', kind: 'down' }), none)).toMatch(
      /control of the kafka container/,
    );
    expect(unsupportedReason(fault({ target: 'ranker_tier', kind: 'nan' }), none)).toMatch(
      /ranker tier process/,
    );
    expect(
      unsupportedReason(fault({ target: 'ann_index', kind: 'stale' }), {
        core: { url: 'x', adminToken: 'y' },
      }),
    ).toMatch(/cannot be injected live yet/);
    expect(
      unsupportedReason(fault({ target: 'ann_index', kind: 'missing' }), {
        core: { url: 'x', adminToken: 'y' },
      }),
    ).toBeUndefined();
  });

  it('a network fault is applied through the injector and cleared by its revert', async () => {
    const calls: string[] = [];
    const injector: NetworkFaultInjector = {
      apply: async (f: NetworkFault) => {
        calls.push(`apply ${f.target} ${f.kind}`);
      },
      clear: async (f) => {
        calls.push(`clear ${f.target} ${f.kind}`);
      },
    };
    const revert = await injectFault(
      fault({ target: 'redis', kind: 'latency', latencyMs: 200 }),
      { network: injector },
      () => {},
    );
    expect(calls).toEqual(['apply redis latency']);
    await revert!();
    expect(calls).toEqual(['apply redis latency', 'clear redis latency']);
  });

  it('validation: each network kind needs its parameter, and parameters belong to their kind', () => {
    expect(() => fault({ target: 'redis', kind: 'timeout' })).toThrow(
      /faults\[0\]\.timeoutMs: kind 'timeout' needs timeoutMs/,
    );
    expect(() => fault({ target: 'kafka', kind: 'bandwidth' })).toThrow(/kind 'bandwidth' needs rateKBps/);
    expect(() => fault({ target: 'redis', kind: 'down', latencyMs: 3 })).toThrow(
      /latencyMs belongs to kind 'latency'/,
    );
  });
});
