/**
 * The simulated users' side of the events retry contract (loadtest/user-activity.ts,
 * docs/streaming.md "Retry contract"), against a loopback HTTP server that plays the core: a 503
 * is retried after its Retry-After with the very same event ids; a 400 is not retried; retries are
 * bounded; `sent` and `acceptedIds()` count each accepted event once.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { videoIdOf } from '../../core/features/ids.ts';
import { SimulatedUserActivity } from '../../loadtest/user-activity.ts';
import { generateWorld } from '../../sim/world/index.ts';

const world = generateWorld({ seed: 11, users: 200, videos: 500 });

/** One request the stand-in core received: when, and the event ids in its body. */
interface Received {
  atMs: number;
  ids: string[];
}

/** A loopback server answering each POST with `answer(n)` (n = 0, 1, …): status and headers. */
async function fakeCore(answer: (n: number) => { status: number; headers?: Record<string, string> }) {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const ids = (JSON.parse(body) as { event_id: string }[]).map((e) => e.event_id);
      const a = answer(received.length);
      received.push({ atMs: Date.now(), ids });
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, received, close: () => new Promise((r) => server.close(r)) };
}

/** Every user of the world reacts once to a list of the first 30 videos (some click: events). */
function reactAll(activity: SimulatedUserActivity): void {
  const items = Array.from({ length: 30 }, (_, i) => ({ video_id: videoIdOf(i) }));
  for (let u = 0; u < world.config.users; u++) activity.react(u, { items });
}

const servers: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

describe('SimulatedUserActivity retry contract', () => {
  it('retries a 503 after its Retry-After with the same event ids, and counts each accepted event once', async () => {
    const core = await fakeCore((n) =>
      n === 0 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 202 },
    );
    servers.push(core);
    const activity = new SimulatedUserActivity(world, 7, core.url, { flushEveryMs: 50, inFlightMax: 1 });
    reactAll(activity);
    const stats = await activity.close(10_000);
    const [refused, retry, ...rest] = core.received;
    expect(refused.ids.length).toBeGreaterThan(0);
    expect(retry.ids).toEqual(refused.ids); // idempotent: the very same events
    expect(retry.atMs - refused.atMs).toBeGreaterThanOrEqual(950); // Retry-After: 1
    const all = new Set([retry, ...rest].flatMap((r) => r.ids));
    expect(stats).toMatchObject({ retried: 1, failed: 0, dropped: 0, sent: all.size });
    expect(activity.acceptedIds()).toEqual(all);
  });

  it('does not retry a 400, and gives a batch up after retriesMax refusals', async () => {
    const bad = await fakeCore(() => ({ status: 400 }));
    servers.push(bad);
    const a1 = new SimulatedUserActivity(world, 7, bad.url, { flushEveryMs: 50, inFlightMax: 1 });
    reactAll(a1);
    const s1 = await a1.close(10_000);
    const sentToBad = bad.received.reduce((n, r) => n + r.ids.length, 0);
    expect(s1).toMatchObject({ sent: 0, retried: 0, failed: sentToBad });
    expect(new Set(bad.received.flatMap((r) => r.ids)).size).toBe(sentToBad); // no id sent twice

    const down = await fakeCore(() => ({ status: 503, headers: { 'retry-after': '0' } }));
    servers.push(down);
    const a2 = new SimulatedUserActivity(world, 7, down.url, {
      flushEveryMs: 50,
      inFlightMax: 1,
      retriesMax: 2,
    });
    reactAll(a2);
    const s2 = await a2.close(10_000);
    const batches = new Map<string, number>();
    for (const r of down.received) batches.set(r.ids.join(','), (batches.get(r.ids.join(',')) ?? 0) + 1);
    expect([...batches.values()].every((n) => n === 3)).toBe(true); // 1 try + 2 retries each
    expect(s2.sent).toBe(0);
    expect(s2.failed).toBe(new Set(down.received.flatMap((r) => r.ids)).size);
    expect(s2.retried).toBe(batches.size * 2);
  });
});
