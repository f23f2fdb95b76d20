/**
 * What the simulated users send (loadtest/user-activity.ts): for each list, the click, watch and
 * like events of the ground-truth behaviour model's keyed session of that user, serialized as
 * `JSON.stringify` of the event object; starting the sessions ahead (`prepare`, before a phase)
 * changes no event.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { videoIdOf } from '../../core/features/ids.ts';
import { REGIONS } from '../../core/features/schema.ts';
import { seededRandom } from '../../core/random/seeded-random.ts';
import { SimulatedUserActivity } from '../../loadtest/user-activity.ts';
import { createBehaviorModel } from '../../sim/behavior/index.ts';
import { generateWorld } from '../../sim/world/index.ts';

const world = generateWorld({ seed: 11, users: 200, videos: 500 });
const SEED = 7;

/** A loopback server that accepts every POST (202) and keeps the raw bodies. */
async function recordingCore() {
  const bodies: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      bodies.push(body);
      res.writeHead(202, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, bodies, close: () => new Promise((r) => server.close(r)) };
}
const servers: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

/** Lists: every user twice (the second list judged by the drifted session), interleaved. */
function lists(): { user: number; ranked: number[] }[] {
  const out: { user: number; ranked: number[] }[] = [];
  for (let round = 0; round < 2; round++)
    for (let u = 0; u < world.config.users; u++)
      out.push({ user: u, ranked: Array.from({ length: 30 }, (_, i) => (u * 7 + i * 13 + round * 5) % 500) });
  return out;
}

/** The events the behaviour model's keyed sessions give for `lists()`, without their timestamps. */
function expectedEvents(): Record<string, unknown>[] {
  const model = createBehaviorModel(world, seededRandom(SEED));
  const sessions = new Map<number, ReturnType<typeof model.session>>();
  const out: Record<string, unknown>[] = [];
  for (const { user, ranked } of lists()) {
    let s = sessions.get(user);
    if (!s) {
      s = model.session(user, user);
      sessions.set(user, s);
    }
    const r = s.respond(ranked);
    if (r.clickedVideo < 0) continue;
    const base = {
      user_id: `u_${user}`,
      video_id: videoIdOf(r.clickedVideo),
      region: REGIONS[world.userRegion[user]],
    };
    const id = `ev_${SEED}_${user}_${s.listsSeen}`;
    out.push({ ...base, event_id: `${id}_c`, type: 'click' });
    out.push({
      ...base,
      event_id: `${id}_w`,
      type: 'watch',
      watch_time_s: Math.round(r.watchTimeS * 10) / 10,
    });
    if (r.liked) out.push({ ...base, event_id: `${id}_l`, type: 'like' });
  }
  return out;
}

async function sent(prepare: boolean): Promise<{ raw: string[]; events: Record<string, unknown>[] }> {
  const core = await recordingCore();
  servers.push(core);
  const activity = new SimulatedUserActivity(world, SEED, core.url, { flushEveryMs: 20, inFlightMax: 1 });
  if (prepare) activity.prepare(Array.from({ length: world.config.users }, (_, u) => u).reverse());
  for (const { user, ranked } of lists()) activity.reactVideos(user, ranked);
  const stats = await activity.close(10_000);
  expect(stats).toMatchObject({ failed: 0, dropped: 0 });
  const events = core.bodies.flatMap((b) => JSON.parse(b) as Record<string, unknown>[]);
  return { raw: core.bodies, events };
}

describe('SimulatedUserActivity events', () => {
  it('sends each list’s events as the behaviour model’s keyed session decides, in JSON.stringify form', async () => {
    const { raw, events } = await sent(false);
    const expected = expectedEvents();
    expect(expected.length).toBeGreaterThan(50);
    expect(events.map(({ timestamp_ms: _, ...e }) => e)).toEqual(expected);
    for (const e of events) expect(typeof e.timestamp_ms).toBe('number');
    // Byte for byte what JSON.stringify makes of the parsed events (field order included).
    for (const body of raw) expect(body).toBe(JSON.stringify(JSON.parse(body)));
    expect(Object.keys(events[0])).toEqual([
      'user_id',
      'video_id',
      'region',
      'timestamp_ms',
      'event_id',
      'type',
    ]);
  });

  it('sends the same events when the sessions were started ahead (prepare)', async () => {
    const strip = (es: Record<string, unknown>[]) => es.map(({ timestamp_ms: _, ...e }) => e);
    const lazy = await sent(false);
    const ahead = await sent(true);
    expect(strip(ahead.events)).toEqual(strip(lazy.events));
  });
});
