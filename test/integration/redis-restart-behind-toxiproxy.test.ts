/**
 * Redis stopped and started again, or restarted empty, behind Toxiproxy (issue 12's redis-failure
 * as `reclab run` builds it): once the fault is over, a new connection through the proxy answers.
 *
 * Before the fix, a client that kept reconnecting through the proxy while the container stopped
 * left Toxiproxy with one upstream dial that was never answered; Toxiproxy dials inside its accept
 * loop without a timeout, so every later connection was accepted and then hung for about 2 minutes,
 * long after Redis was back (3 of 3 tries here; the core stayed on `popularity` to the end of the
 * run). The runner now closes the proxy while it stops or restarts the container
 * (loadtest/faults/live-faults.ts `behindClosedPath`).
 *
 * Real parts: Redis and Toxiproxy in containers, raw RESP over TCP.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { injectFault } from '../../loadtest/faults/live-faults.ts';
import { ToxiproxyFaultInjector } from '../../loadtest/faults/toxiproxy-faults.ts';
import { configureContainerEngine } from '../../loadtest/infra/container-engine.ts';
import { type ProxiedRedis, proxyRedis } from '../../loadtest/infra/network-proxies.ts';
import { type StartedRedis, startRedis } from '../../loadtest/infra/redis.ts';
import { type StartedToxiproxy, startToxiproxy } from '../../loadtest/infra/toxiproxy.ts';
import { parseScenario } from '../../scenarios/define.ts';

configureContainerEngine(process.env);

let redis: StartedRedis | undefined;
let toxiproxy: StartedToxiproxy | undefined;
let proxied: ProxiedRedis;

/** PING on a new connection to 127.0.0.1:`port`: the reply, or what went wrong instead. */
function ping(port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const done = (what: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(what);
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => done(d.toString().trim()));
    socket.on('error', (e) => done(`error ${(e as NodeJS.ErrnoException).code}`));
    socket.on('close', () => done('closed'));
  });
}

/** Two clients dialling the proxy over and over (as a reconnecting core does) until `stop()`. */
function hammer(port: number): { stop: () => Promise<void> } {
  let running = true;
  const loops = [20, 33].map(async (pauseMs) => {
    while (running) {
      await ping(port, 4000);
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** A scenario's fault, validated as a scenario file's would be. */
function redisFault(kind: 'down' | 'restart_empty') {
  const s = parseScenario({
    name: 'f',
    description: 'f',
    world: { users: 1, videos: 1 },
    phases: [
      {
        name: 'p',
        arrivals: { kind: 'constant', rateQps: 1 },
        durationS: 10,
        faults: [{ target: 'redis', kind }],
      },
    ],
    assertions: [],
  });
  return s.phases[0].faults![0];
}

beforeAll(async () => {
  [redis, toxiproxy] = await Promise.all([startRedis(), startToxiproxy({ seed: 7 })]);
  proxied = await proxyRedis(toxiproxy, redis);
}, 300_000);

afterAll(async () => {
  await Promise.allSettled([toxiproxy?.stop(), redis?.stop()]);
}, 120_000);

/**
 * Applies the Redis fault `kind` while two clients dial the proxy (from 300 ms before it), and
 * reverts it 2 s later when it has a revert; returns whether it had one.
 */
async function faultWhileDialling(kind: 'down' | 'restart_empty'): Promise<boolean> {
  const clients = hammer(proxied.port);
  await new Promise((r) => setTimeout(r, 300));
  const targets = { redis: redis!, network: new ToxiproxyFaultInjector(toxiproxy!) };
  const revert = await injectFault(redisFault(kind), targets, () => {});
  if (revert) {
    await new Promise((r) => setTimeout(r, 2000));
    await revert();
  }
  await clients.stop();
  return revert !== undefined;
}

describe('Redis stopped or restarted behind Toxiproxy: the proxy answers again once Redis is back', () => {
  it('down (stop, start with its data), with clients dialling through the proxy all along', {
    timeout: 90_000,
  }, async () => {
    expect(await ping(proxied.port, 2000)).toBe('+PONG');
    expect(await faultWhileDialling('down')).toBe(true);
    // Once the fault is reverted, PING answers both ways at once (not after a 2-minute dial).
    expect(await ping(redis!.port, 2000)).toBe('+PONG');
    expect(await ping(proxied.port, 2000)).toBe('+PONG');
  });

  it('restart_empty (FLUSHALL, SIGKILL, start empty), with clients dialling through the proxy', {
    timeout: 90_000,
  }, async () => {
    expect(await ping(proxied.port, 2000)).toBe('+PONG');
    expect(await faultWhileDialling('restart_empty')).toBe(false);
    expect(await ping(proxied.port, 2000)).toBe('+PONG');
  });
});
