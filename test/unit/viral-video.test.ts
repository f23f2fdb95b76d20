/**
 * The viral video of viral-spike (loadtest/viral-video.ts): a seeded pick among recent,
 * not-yet-popular videos of one region; distinct watchers of that region; watch events at the
 * phase's rate from `atS`; the clock stops on the first list served to its region that holds it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseVideoIndex } from '../../core/features/ids.ts';
import { REGIONS } from '../../core/features/schema.ts';
import { seededRandom } from '../../core/random/seeded-random.ts';
import type { StreamEvent } from '../../core/streaming/events.ts';
import { ViralVideo } from '../../loadtest/viral-video.ts';
import { generateWorld } from '../../sim/world/index.ts';

const world = generateWorld({ seed: 5, users: 2000, videos: 3000 });
const spec = { atS: 2, users: 50, eventsPerS: 100 };

function make(seed = 5) {
  const sent: StreamEvent[] = [];
  const v = new ViralVideo(world, seededRandom(seed), seed, spec, (e) => sent.push(...e));
  return { v, sent };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('ViralVideo', () => {
  it('picks a recent, below-median video of one region, the same for the same seed', () => {
    const { v } = make();
    expect(make().v.video).toBe(v.video);
    expect(world.videoRegion[v.video]).toBe(v.region);
    expect(world.videoUploadTsS[v.video]).toBeGreaterThanOrEqual(world.config.nowS - 3 * 86_400);
    const pops: number[] = [];
    for (let i = 0; i < world.initialVideos; i++)
      if (world.videoRegion[i] === v.region) pops.push(world.videoPopularity[i]);
    pops.sort((a, b) => a - b);
    expect(world.videoPopularity[v.video]).toBeLessThan(pops[Math.floor(pops.length / 2)]);
  });

  it('sends nothing before atS, then eventsPerS watch events from distinct users of its region', () => {
    vi.useFakeTimers();
    const { v, sent } = make();
    v.start();
    vi.advanceTimersByTime(1900);
    expect(sent).toHaveLength(0);
    expect(v.outcome().firstEventAt).toBeNull();
    vi.advanceTimersByTime(1000); // 2.0 s … 2.9 s: ten ticks
    v.stop();
    vi.advanceTimersByTime(5000);
    expect(sent).toHaveLength(100);
    expect(new Set(sent.map((e) => e.event_id)).size).toBe(100);
    const users = new Set(sent.map((e) => e.user_id));
    expect(users.size).toBe(50);
    for (const e of sent) {
      expect(e.type).toBe('watch');
      expect(parseVideoIndex(e.video_id)).toBe(v.video);
      expect(e.region).toBe(REGIONS[v.region]);
      expect(world.userRegion[Number(e.user_id.slice(2))]).toBe(v.region);
    }
  });

  it('times the first list of its region that holds it; other regions and earlier lists do not count', () => {
    vi.useFakeTimers();
    const { v } = make();
    const withIt = [1, v.video];
    v.observe(v.region, withIt); // before the first event: not counted
    v.start();
    vi.advanceTimersByTime(2000);
    v.observe((v.region + 1) % REGIONS.length, withIt); // another region
    v.observe(v.region, [1]);
    vi.advanceTimersByTime(3500);
    v.observe(v.region, withIt);
    vi.advanceTimersByTime(1000);
    v.observe(v.region, withIt); // later sightings do not move the clock
    v.stop();
    expect(v.outcome().timeToListS).toBe(3.5);
  });

  it('never served: timeToListS is null', () => {
    vi.useFakeTimers();
    const { v } = make();
    v.start();
    vi.advanceTimersByTime(10_000);
    v.stop();
    expect(v.outcome()).toMatchObject({ timeToListS: null, users: 50 });
    expect(v.outcome().firstEventAt).not.toBeNull();
  });
});
