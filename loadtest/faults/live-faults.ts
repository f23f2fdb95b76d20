/**
 * The live runner's side of faults as data (scenarios/define.ts `Fault`): each kind mapped to an
 * injector that applies it and reverts it. The simulator's side is sim/run/fleet-faults.ts.
 *
 * | target | kind | applied | reverted |
 * |---|---|---|---|
 * | redis | down | SAVE, then container stop (faults/redis-stop.ts: back with its data); a Toxiproxy path closed first | container start, PING, path opened |
 * | kafka | down | container stop (SIGTERM, SIGKILL after 10 s) | container start |
 * | redis, kafka | hang | container pause (cgroup freezer) | unpause |
 * | redis | restart_empty | FLUSHALL, SIGKILL, start empty (faults/redis-data-loss.ts), a Toxiproxy path closed meanwhile | — (an event) |
 * | redis, kafka | latency, timeout, reset_peer, bandwidth | `NetworkFaultInjector` (Toxiproxy) | toxic removed |
 * | ranker_tier | down | SIGKILL | a new process on the same port |
 * | ranker_tier | hang | SIGSTOP | SIGCONT |
 * | ranker_tier | slow, nan | the lab's proxy in front of the tier (faults/ranker-fault-proxy.ts) | proxy passes through |
 * | ann_index | missing | the core's fault injection: error on `retrieval.two_tower` and `retrieval.content` | cleared |
 * | ann_index | stale | not injectable live yet (needs fresh uploads; issue 12's cold-start) | |
 *
 * `nodes` is for simulated pools; the live lab has one of each.
 */
import type { Fault } from '../../scenarios/define.ts';
import type { StartedKafka } from '../infra/kafka.ts';
import type { StartedRedis } from '../infra/redis.ts';
import type { RankerProcess } from '../ranker-process.ts';
import { applyContainerFault } from './container-faults.ts';
import type { NetworkFault, NetworkFaultInjector } from './network.ts';
import type { RankerFaultProxy } from './ranker-fault-proxy.ts';
import { restartRedisEmpty } from './redis-data-loss.ts';
import { startRedisAgain, stopRedisKeepingData } from './redis-stop.ts';

/** What faults act on in a live run; absent parts cannot be faulted (`--target`, external infra). */
export interface LiveFaultTargets {
  redis?: StartedRedis;
  kafka?: StartedKafka;
  /** The ranker tier; `current` changes when it is restarted. */
  tier?: { current: RankerProcess };
  rankerProxy?: RankerFaultProxy;
  /** The core's admin API (fault injection on). */
  core?: { url: string; adminToken: string };
  network?: NetworkFaultInjector;
}

const NETWORK_KINDS: ReadonlySet<string> = new Set(['latency', 'timeout', 'reset_peer', 'bandwidth']);

/** The network fault a scenario fault asks for, or undefined when it is not one. */
export function networkFaultOf(f: Fault): NetworkFault | undefined {
  if (f.target !== 'redis' && f.target !== 'kafka') return undefined;
  const target = f.target;
  switch (f.kind) {
    case 'latency':
      return { target, kind: 'latency', latencyMs: f.latencyMs!, jitterMs: f.jitterMs ?? 0 };
    case 'timeout':
      return { target, kind: 'timeout', timeoutMs: f.timeoutMs! };
    case 'reset_peer':
      return { target, kind: 'reset_peer', timeoutMs: f.timeoutMs ?? 0 };
    case 'bandwidth':
      return { target, kind: 'bandwidth', rateKBps: f.rateKBps! };
    default:
      return undefined;
  }
}

/**
 * Runs `step` (a container stop, kill or restart) with the network path to `target` closed, and
 * opens it again once the step is over. Why: Toxiproxy dials a proxy's upstream inside its accept
 * loop, with no dial timeout (proxy.go `server()`, v2.8.0). A dial made while the container's port
 * forwarding is being torn down is never answered, so that one dial blocks the proxy for the
 * kernel's whole SYN retry time (about 2 min): every later connection is accepted and then hangs,
 * long after Redis is back (measured: the core never recovered within the 53 s left of a run).
 * Closed, the path refuses connections, as a stopped Redis does, and dials nothing.
 */
async function behindClosedPath<T>(
  t: LiveFaultTargets,
  target: 'redis' | 'kafka',
  step: () => Promise<T>,
): Promise<T> {
  await t.network?.apply({ target, kind: 'down' });
  try {
    return await step();
  } finally {
    await t.network?.clear({ target, kind: 'down' });
  }
}

/** Removes a fault; resolves once the service is back. */
export type Revert = () => Promise<void>;

/** The ANN-backed retrieval sources (core/retrieval): what a missing index takes down. */
export const ANN_SOURCES = ['retrieval.two_tower', 'retrieval.content'] as const;

/**
 * Why `f` cannot be injected with `t`, or undefined when it can. The runner checks every fault
 * before the run starts.
 */
export function unsupportedReason(f: Fault, t: LiveFaultTargets): string | undefined {
  const what = `${f.target} ${f.kind}`;
  switch (f.target) {
    case 'redis':
    case 'kafka': {
      if (NETWORK_KINDS.has(f.kind))
        return t.network
          ? undefined
          : `${what} needs a network fault injector (Toxiproxy in front of ${f.target}), which this build does not have yet`;
      const c = f.target === 'redis' ? t.redis?.container : t.kafka?.container;
      return c
        ? undefined
        : `${what} needs control of the ${f.target} container (not with --target or --infra external)`;
    }
    case 'ranker_tier':
      if (!t.tier) return `${what} needs the ranker tier process the lab starts (not with --target)`;
      if ((f.kind === 'slow' || f.kind === 'nan') && !t.rankerProxy)
        return `${what} needs the lab's ranker fault proxy`;
      return undefined;
    case 'ann_index':
      if (f.kind === 'stale')
        return 'ann_index stale cannot be injected live yet: it needs fresh uploads the index misses (cold-start work)';
      return t.core
        ? undefined
        : `${what} needs the core's admin API with fault injection (not with --target)`;
  }
}

/**
 * Applies `f` and resolves, once it is in force, with its revert (undefined for an event:
 * `restart_empty`). `log` gets one line per step.
 * @throws Error when the injector fails (the runner logs the fault as failed)
 */
export async function injectFault(
  f: Fault,
  t: LiveFaultTargets,
  log: (line: string) => void,
): Promise<Revert | undefined> {
  const reason = unsupportedReason(f, t);
  if (reason) throw new Error(reason);
  switch (f.target) {
    case 'redis':
    case 'kafka': {
      const net = networkFaultOf(f);
      if (net) {
        const injector = t.network!;
        await injector.apply(net);
        return () => injector.clear(net);
      }
      if (f.kind === 'restart_empty') {
        const r = await behindClosedPath(t, 'redis', () => restartRedisEmpty(t.redis!));
        log(
          `fault: redis ${r.killed ? 'flushed, SIGKILLed' : 'was stopped'} and started empty in ${r.ms} ms ` +
            `(${r.keysAfterStart} keys after start${r.flushedAfterStart ? ', flushed' : ''})`,
        );
        return undefined;
      }
      if (f.target === 'redis' && f.kind === 'down') {
        const redis = t.redis!;
        await t.network?.apply({ target: 'redis', kind: 'down' });
        const r = await stopRedisKeepingData(redis);
        log(`fault: redis saved ${r.keysSaved} keys and stopped in ${r.ms} ms`);
        return async () => {
          const keys = await startRedisAgain(redis);
          await t.network?.clear({ target: 'redis', kind: 'down' });
          log(`fault over: redis started again with ${keys} keys`);
        };
      }
      const container = (f.target === 'redis' ? t.redis!.container : t.kafka!.container)!;
      if (f.kind === 'down') {
        await applyContainerFault(container, 'stop');
        return () => applyContainerFault(container, 'start');
      }
      await applyContainerFault(container, 'pause');
      return () => applyContainerFault(container, 'unpause');
    }
    case 'ranker_tier': {
      const tier = t.tier!;
      if (f.kind === 'down') {
        await tier.current.kill();
        return async () => {
          tier.current = await tier.current.restart();
        };
      }
      if (f.kind === 'hang') {
        const p = tier.current;
        p.pause();
        return async () => p.resume();
      }
      const proxy = t.rankerProxy!;
      proxy.setMode(f.kind === 'slow' ? { kind: 'slow', slowFactor: f.slowFactor ?? 10 } : { kind: 'nan' });
      return async () => proxy.setMode({ kind: 'pass' });
    }
    case 'ann_index': {
      const core = t.core!;
      for (const source of ANN_SOURCES) await adminFault(core, 'PUT', source, { kind: 'error' });
      return async () => {
        for (const source of ANN_SOURCES) await adminFault(core, 'DELETE', source);
      };
    }
  }
}

async function adminFault(
  core: { url: string; adminToken: string },
  method: 'PUT' | 'DELETE',
  target: string,
  body?: unknown,
): Promise<void> {
  const res = await fetch(`${core.url}/admin/faults/${target}`, {
    method,
    headers: {
      authorization: `Bearer ${core.adminToken}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(5_000),
  });
  if (!res.ok) throw new Error(`${method} /admin/faults/${target}: ${res.status} ${await res.text()}`);
}

/** The fault's parameters for the run's log, units in the names. */
export function faultParams(f: Fault): Record<string, number> | undefined {
  const p: Record<string, number> = {};
  if ('latencyMs' in f && f.latencyMs !== undefined) p.latencyMs = f.latencyMs;
  if ('jitterMs' in f && f.jitterMs !== undefined) p.jitterMs = f.jitterMs;
  if ('timeoutMs' in f && f.timeoutMs !== undefined) p.timeoutMs = f.timeoutMs;
  if ('rateKBps' in f && f.rateKBps !== undefined) p.rateKBps = f.rateKBps;
  if ('slowFactor' in f && f.slowFactor !== undefined) p.slowFactor = f.slowFactor;
  if ('nodes' in f && f.nodes !== undefined) p.nodes = f.nodes;
  return Object.keys(p).length ? p : undefined;
}
