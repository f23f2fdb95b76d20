import { seededRandom } from '../../core/random/seeded-random.ts';
import { type BehaviorParams, resolveBehaviorParams } from '../behavior/behavior-params.ts';
import { videoClickbait } from '../behavior/clickbait.ts';
import { expectedResponse } from '../behavior/expected-response.ts';
import { checkUser, checkVideos } from '../behavior/input-checks.ts';
import { newItemTruth } from '../behavior/item-truth.ts';
import { bounceWatchFactor, completionLogitOffset } from '../behavior/watch-time.ts';
import { SimError } from '../sim-error.ts';
import { affinity } from '../world/affinity.ts';
import type { World } from '../world/world.ts';
import { gainS, itemGainS } from './item-gain.ts';
import { creatorConcentration, freshShare, intraListDiversity } from './list-metrics.ts';

/** NDCG cut-off: `ndcgAt10` looks at the first 10 served items. */
export const NDCG_CUTOFF = 10;
/** Default freshness window: 48 h, in seconds. */
export const DEFAULT_FRESH_WINDOW_S = 48 * 3600;
/** Catalogues up to this size are searched whole for the ideal list; larger ones through a sample of this size. */
export const DEFAULT_IDEAL_POOL_SIZE = 20_000;
/** Users whose ideal DCG is cached (the cache is cleared when full). */
export const DEFAULT_IDEAL_CACHE_USERS = 65_536;

/** Options of a scorer (fixed for a run). */
export interface QualityScorerOptions {
  /** Freshness window, seconds; default 48 h (`DEFAULT_FRESH_WINDOW_S`). */
  freshWindowS?: number;
  /** Largest catalogue searched whole for the ideal DCG; above it, a uniform sample of this many videos (plus the served ones). Default 20 000. */
  idealPoolSize?: number;
  /** Seed of the sample (stream `quality.ideal-pool`); default the world's seed. */
  seed?: number;
  /** Users whose ideal DCG is cached; 0 disables the cache. Default 65 536 (≈ 13 MB). */
  idealCacheUsers?: number;
}

/** Per-call options. */
export interface ScoreOptions {
  /** Reference time of the freshness share, Unix seconds (world time); default the world's `nowS`. */
  nowS?: number;
  /** A session's drifted preference − base latent (`BehaviorSession.preferenceDelta()`); default none. */
  preferenceDelta?: Float64Array;
}

/**
 * Quality of one served list for one user, from ground truth. JSON-serialisable; units in names.
 * Expectations are exact (analytic) under the behaviour model, not sampled.
 */
export interface ListQuality {
  /** Items in the list. */
  listLength: number;
  /** Expected clicks on the list (= P(any click), in [0, 1]). */
  expectedClicks: number;
  /** Expected seconds watched from the list. */
  expectedWatchTimeS: number;
  /** Expected likes from the list. */
  expectedLikes: number;
  /** Expected dislikes from the list. */
  expectedDislikes: number;
  /** Expected finished views (≥ `finishCompletion` of the duration) from the list. */
  expectedFinishes: number;
  /** NDCG of the first 10 items against the oracle ranking; gains are `itemGainS` (seconds), linear. In [0, 1]. */
  ndcgAt10: number;
  /** Mean pairwise `1 − cos` of video latents, in [0, 2]. */
  intraListDiversity: number;
  /** Share of the most frequent creator, in [1/n, 1]. */
  creatorTopShare: number;
  /** Herfindahl–Hirschman index of creator shares, in [1/n, 1]. */
  creatorHhi: number;
  /** Share uploaded within `freshWindowS` before `nowS`, in [0, 1]. */
  freshShare: number;
}

export interface QualityScorer {
  readonly world: World;
  readonly params: Readonly<BehaviorParams>;
  /** Whether the ideal DCG searches the whole catalogue or a fixed sample (catalogue > `idealPoolSize`). */
  readonly idealPool: 'catalogue' | 'sample';
  /** Videos searched for the ideal DCG (the served ones are always added). */
  readonly idealPoolSize: number;
  readonly freshWindowS: number;
  /**
   * Scores `served` (video indices, in served order) for user `user`.
   * Cost at 10 items (2-core dev box, under load): ≈ 20–30 µs with the user's ideal cached; on a
   * cache miss add a scan of the pool's longest videos (≈ 0.1–0.2 ms at 10k videos or a 20k sample).
   * @throws SimError `RECLAB_ERR_BEHAVIOR_INPUT_INVALID` for an unknown user or video index.
   */
  score(user: number, served: ArrayLike<number>, opts?: ScoreOptions): ListQuality;
  /** Ground-truth value of one video for one user, seconds (`itemGainS`). */
  gainS(user: number, video: number, preferenceDelta?: Float64Array): number;
}

/**
 * Builds a scorer for a world and behaviour parameters. Construction draws the ideal pool once
 * (for catalogues above `idealPoolSize`: a uniform sample without replacement, sorted, from stream
 * `quality.ideal-pool` of `seed`), so every list of a run is judged against the same reference.
 *
 * NDCG@10: DCG = Σ_{i<10} gain(servedᵢ) / log2(i + 2), a video repeated in the list gains only at
 * its first position; ideal DCG = the same sum over the 10 largest gains of (pool ∪ served), so
 * NDCG ≤ 1 always. With a sampled pool the ideal is the best of ~20 000 videos rather than of the
 * whole catalogue, so NDCG is optimistic (higher than against the true oracle) for large catalogues.
 *
 * @throws SimError `RECLAB_ERR_BEHAVIOR_INPUT_INVALID` for invalid parameters or options
 */
export function createQualityScorer(
  world: World,
  params: Partial<BehaviorParams> = {},
  options: QualityScorerOptions = {},
): QualityScorer {
  const p = resolveBehaviorParams(params);
  const freshWindowS = options.freshWindowS ?? DEFAULT_FRESH_WINDOW_S;
  const poolCap = options.idealPoolSize ?? DEFAULT_IDEAL_POOL_SIZE;
  const cacheUsers = options.idealCacheUsers ?? DEFAULT_IDEAL_CACHE_USERS;
  const problems: string[] = [];
  if (!(freshWindowS >= 0 && Number.isFinite(freshWindowS))) problems.push(`freshWindowS=${freshWindowS}`);
  if (!(Number.isInteger(poolCap) && poolCap >= NDCG_CUTOFF)) problems.push(`idealPoolSize=${poolCap}`);
  if (!(Number.isInteger(cacheUsers) && cacheUsers >= 0)) problems.push(`idealCacheUsers=${cacheUsers}`);
  if (problems.length > 0) throw new SimError('RECLAB_ERR_BEHAVIOR_INPUT_INVALID', problems.join('; '));

  const { videos, nowS: worldNowS, latentDim: d } = world.config;
  const clickbait = videoClickbait(world);
  const scratch = newItemTruth();
  const sampled = videos > poolCap;
  const all = sampled ? samplePool(videos, poolCap, options.seed ?? world.config.seed) : undefined;
  const pool = splitPool(world, all, p, clickbait);
  const cache = new Map<number, TopGains>();

  /** Gain of the pool entry `i` of `part` for user `u`; same arithmetic as `itemGainS`. */
  const partGain = (part: PoolPart, i: number, u: number, delta: Float64Array | undefined): number => {
    const v = part.video[i];
    let a = affinity(world, u, v);
    if (delta) for (let k = 0, o = v * d; k < d; k++) a += delta[k] * world.videoLatent[o + k];
    return gainS(
      p,
      a + part.clickOffset[i],
      part.completionOffset[i] + p.watchAffinityWeight * a,
      part.scaleS[i],
    );
  };

  /** The 10 largest gains among pool videos uploaded by the world's `nowS` (cached without drift). */
  function earlyTop(u: number, delta: Float64Array | undefined): TopGains {
    const hit = delta ? undefined : cache.get(u);
    if (hit) return hit;
    const top = newTopGains();
    const part = pool.early;
    // Sorted by duration, longest first, and a gain never exceeds the duration (P(click) ≤ 1,
    // completion ≤ 1): once the duration is at most the 10th best gain so far, nothing after it can
    // enter the top 10. Exact, and typically stops after a third of the pool.
    for (let i = 0; i < part.video.length; i++) {
      if (top.size === NDCG_CUTOFF && part.durationS[i] <= top.gains[NDCG_CUTOFF - 1]) break;
      offer(top, part.video[i], partGain(part, i, u, delta));
    }
    if (!delta && cacheUsers > 0) {
      if (cache.size >= cacheUsers) cache.clear();
      cache.set(u, top);
    }
    return top;
  }

  function ndcgAt10(
    u: number,
    served: ArrayLike<number>,
    nowS: number,
    delta: Float64Array | undefined,
  ): number {
    const n = Math.min(NDCG_CUTOFF, served.length);
    if (n === 0) return 0;
    // The ideal draws from (pool videos uploaded by nowS) ∪ served: the cached top 10 of the videos
    // that existed at the world's nowS, then the later uploads (sorted by time), then the served ones.
    const ideal = copyTopGains(earlyTop(u, delta));
    const late = pool.late;
    for (let i = 0; i < late.video.length && late.uploadTsS[i] <= nowS; i++) {
      if (ideal.size === NDCG_CUTOFF && late.durationS[i] <= ideal.gains[NDCG_CUTOFF - 1]) continue;
      offer(ideal, late.video[i], partGain(late, i, u, delta));
    }
    let dcg = 0;
    for (let i = 0; i < n; i++) {
      const v = served[i];
      let repeat = false;
      for (let j = 0; j < i && !repeat; j++) repeat = served[j] === v;
      if (repeat) continue; // a repeated video gains nothing the second time
      const g = itemGainS(world, p, u, v, clickbait, delta, scratch);
      dcg += g / Math.log2(i + 2);
      if (!contains(ideal, v)) offer(ideal, v, g);
    }
    let idcg = 0;
    for (let i = 0; i < ideal.size; i++) idcg += ideal.gains[i] / Math.log2(i + 2);
    return idcg > 0 ? Math.min(1, dcg / idcg) : 0;
  }

  return {
    world,
    params: p,
    idealPool: sampled ? 'sample' : 'catalogue',
    idealPoolSize: pool.early.video.length + pool.late.video.length,
    freshWindowS,
    gainS(user, video, delta) {
      checkUser(world, user);
      checkVideos(world, [video]);
      return itemGainS(world, p, user, video, clickbait, delta, scratch);
    },
    score(user: number, served: ArrayLike<number>, opts: ScoreOptions = {}): ListQuality {
      checkUser(world, user);
      checkVideos(world, served);
      const delta = opts.preferenceDelta;
      const nowS = opts.nowS ?? worldNowS;
      const expected = expectedResponse(world, p, user, served, delta);
      const creators = creatorConcentration(world, served);
      return {
        listLength: served.length,
        expectedClicks: expected.expectedClicks,
        expectedWatchTimeS: expected.expectedWatchTimeS,
        expectedLikes: expected.expectedLikes,
        expectedDislikes: expected.expectedDislikes,
        expectedFinishes: expected.expectedFinishes,
        ndcgAt10: ndcgAt10(user, served, nowS, delta),
        intraListDiversity: intraListDiversity(world, served),
        creatorTopShare: creators.creatorTopShare,
        creatorHhi: creators.creatorHhi,
        freshShare: freshShare(world, served, nowS, freshWindowS),
      };
    },
  };
}

/** Pool videos with their user-independent gain terms, precomputed (struct of arrays). */
interface PoolPart {
  video: Uint32Array;
  uploadTsS: Uint32Array;
  /** `choiceClickbaitWeight × clickbait` (added to the affinity to give the click utility). */
  clickOffset: Float64Array;
  /** `completionLogitOffset(…)` (the completion logit without its affinity term). */
  completionOffset: Float64Array;
  /** Duration, seconds: an upper bound of the gain (the early exit of the scan). */
  durationS: Float64Array;
  /** Duration × bounce factor, seconds (`ItemTruth.durationS × ItemTruth.watchFactor`). */
  scaleS: Float64Array;
}

/**
 * Splits the pool (all videos when `sampled` is undefined) into videos uploaded by the world's
 * `nowS` ("early": the same for every request, so their top 10 is cached per user; sorted by
 * duration, longest first, for the early exit of the scan) and later uploads ("late", from worlds
 * with arrivals; sorted by upload time so a request at time t scans only those uploaded by t).
 */
function splitPool(
  world: World,
  sampled: Uint32Array | undefined,
  p: Readonly<BehaviorParams>,
  clickbait: Float32Array | undefined,
): { early: PoolPart; late: PoolPart } {
  const n = sampled ? sampled.length : world.config.videos;
  const nowS = world.config.nowS;
  const early: number[] = [];
  const late: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = sampled ? sampled[i] : i;
    (world.videoUploadTsS[v] <= nowS ? early : late).push(v);
  }
  early.sort((a, b) => world.videoDurationS[b] - world.videoDurationS[a] || a - b);
  late.sort((a, b) => world.videoUploadTsS[a] - world.videoUploadTsS[b] || a - b);
  const part = (list: number[]): PoolPart => {
    const m = list.length;
    const out: PoolPart = {
      video: Uint32Array.from(list),
      uploadTsS: new Uint32Array(m),
      clickOffset: new Float64Array(m),
      completionOffset: new Float64Array(m),
      durationS: new Float64Array(m),
      scaleS: new Float64Array(m),
    };
    for (let i = 0; i < m; i++) {
      const v = list[i];
      const cb = clickbait ? clickbait[v] : 0;
      out.uploadTsS[i] = world.videoUploadTsS[v];
      out.clickOffset[i] = p.choiceClickbaitWeight * cb;
      out.completionOffset[i] = completionLogitOffset(p, world.videoQuality[v], world.videoDurationS[v]);
      out.durationS[i] = world.videoDurationS[v];
      out.scaleS[i] = world.videoDurationS[v] * bounceWatchFactor(p, cb);
    }
    return out;
  };
  return { early: part(early), late: part(late) };
}

/** The 10 largest (gain, video) pairs seen, gains descending; ties keep the earlier offer. */
interface TopGains {
  size: number;
  gains: Float64Array;
  videos: Uint32Array;
}

function newTopGains(): TopGains {
  return { size: 0, gains: new Float64Array(NDCG_CUTOFF), videos: new Uint32Array(NDCG_CUTOFF) };
}

function copyTopGains(t: TopGains): TopGains {
  return { size: t.size, gains: t.gains.slice(), videos: t.videos.slice() };
}

function contains(t: TopGains, v: number): boolean {
  for (let i = 0; i < t.size; i++) if (t.videos[i] === v) return true;
  return false;
}

/** Insertion into a sorted array of at most 10: cheaper than a heap at this size. */
function offer(t: TopGains, v: number, g: number): void {
  const cap = t.gains.length;
  if (t.size === cap && g <= t.gains[cap - 1]) return;
  let i = t.size < cap ? t.size++ : cap - 1;
  while (i > 0 && t.gains[i - 1] < g) {
    t.gains[i] = t.gains[i - 1];
    t.videos[i] = t.videos[i - 1];
    i--;
  }
  t.gains[i] = g;
  t.videos[i] = v;
}

/** `size` distinct video indices in [0, videos), uniform, sorted (memory order); Floyd's algorithm. */
function samplePool(videos: number, size: number, seed: number): Uint32Array {
  const rng = seededRandom(seed).stream('quality.ideal-pool');
  const chosen = new Set<number>();
  for (let j = videos - size; j < videos; j++) {
    const t = rng.int(j + 1);
    chosen.add(chosen.has(t) ? j : t);
  }
  return Uint32Array.from(chosen).sort();
}
