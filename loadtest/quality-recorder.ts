import { seededRandom } from '../core/random/seeded-random.ts';
import {
  createQualityScorer,
  oracleList,
  QualityAggregator,
  type QualitySummary,
  randomList,
  servedVideos,
} from '../sim/quality/index.ts';
import type { World } from '../sim/world/index.ts';
import { DEFAULT_CAPACITY_LISTS, ServedListLog } from './served-lists.ts';
import type { ServedResponse } from './served-response.ts';

/** Video slots kept per served list: the API's largest page (`count` ≤ 100, core/app.ts). */
const LIST_ITEMS_MAX = 100;

/** Quality of a run: served lists by phase and rung, and reference lists for comparison. */
export interface RunQuality {
  /** Lists the core served (2xx), scored against ground truth, by phase and by fallback rung. */
  served: QualitySummary;
  /**
   * Reference lists for the same users, scored the same way, as pseudo-rungs: `random` (uniform
   * random videos), `oracle` (the ground-truth best), `editorial` (exactly what the editorial rung
   * serves: the first `count` videos of the static list). Computed for every `referenceEvery`-th
   * scored response.
   */
  references: QualitySummary;
  /** Responses whose list could not be read (bad JSON, unknown video ids). */
  unreadable: number;
  /** Lists not scored because the served-list log was full (`ServedListLog`'s cap). */
  overflow?: number;
  /**
   * The served lists by user cohort (cold-start's `newUsers`: `cold` new users, `warm` the others),
   * as pseudo-rungs: `byPhase[phase].byRung.cold`. Absent without cohorts.
   */
  cohorts?: QualitySummary;
}

/**
 * Scores every served list against the world's ground truth (sim/quality; RecSim-style) on the
 * runner's side, so quality is measured under load and faults exactly like latency: per phase and
 * per fallback rung. Scoring costs ≈ 450 µs a list (the ideal DCG of each new user and the oracle
 * reference are passes over the catalogue), far more than the load driver, so during a phase the
 * lists are only recorded (`ServedListLog`: typed arrays, a cap with a counted overflow) and
 * `flush()` scores them afterwards, in the order they were recorded: the same lists in the same
 * order give the same figures as scoring each on arrival (the aggregator's median sample and the
 * random reference depend only on that order).
 */
export class QualityRecorder {
  readonly #world: World;
  readonly #scorer: ReturnType<typeof createQualityScorer>;
  readonly #served: QualityAggregator;
  readonly #references: QualityAggregator;
  readonly #editorial: readonly number[];
  readonly #referenceEvery: number;
  readonly #rnd;
  readonly #log: ServedListLog;
  readonly #cohortOf: ((phase: string, user: number) => string | undefined) | undefined;
  readonly #cohorts: QualityAggregator | undefined;
  #scored = 0;
  #unreadable = 0;

  /**
   * @param capacityLists lists held unscored at most between two `flush()` calls (then counted in `overflow`)
   * @param cohortOf the cohort of a user's list in a phase (undefined: none); each scored list is
   *   also added to `cohorts` under it
   */
  constructor(
    world: World,
    editorial: readonly number[],
    seed: number,
    referenceEvery = 4,
    capacityLists = DEFAULT_CAPACITY_LISTS,
    cohortOf?: (phase: string, user: number) => string | undefined,
  ) {
    this.#cohortOf = cohortOf;
    this.#cohorts = cohortOf ? new QualityAggregator(world.config.videos) : undefined;
    this.#world = world;
    this.#scorer = createQualityScorer(world);
    this.#served = new QualityAggregator(world.config.videos);
    this.#references = new QualityAggregator(world.config.videos);
    this.#editorial = editorial;
    this.#referenceEvery = referenceEvery;
    this.#rnd = seededRandom(seed).stream('quality.random-reference');
    this.#log = new ServedListLog(LIST_ITEMS_MAX, capacityLists);
  }

  /** Lists recorded and not yet scored. */
  get pending(): number {
    return this.#log.size;
  }

  /** Records one parsed 2xx response (undefined: unreadable) for user index `user` in `phase`. Never throws. */
  record(phase: string, user: number, parsed: ServedResponse | undefined): void {
    if (!parsed) {
      this.#unreadable++;
      return;
    }
    const items = Array.isArray(parsed.items) ? parsed.items : [];
    const { videos, unknownIds } = servedVideos(this.#world, items);
    const rung = typeof parsed.meta?.rung === 'string' ? parsed.meta.rung : undefined;
    this.recordVideos(phase, user, rung, videos, videos.length, unknownIds);
  }

  /**
   * Records one 2xx response already read into video indices (`scanServed`): `videos[0 … n − 1]`,
   * with `unknownIds` ids that named no video. A list with unknown ids, or empty, counts as
   * unreadable. O(n), no scoring (that is `flush()`). Never throws.
   */
  recordVideos(
    phase: string,
    user: number,
    rung: string | undefined,
    videos: ArrayLike<number>,
    n: number,
    unknownIds: number,
  ): void {
    if (unknownIds > 0 || n === 0) {
      this.#unreadable++;
      return;
    }
    this.#log.record(phase, user, rung ?? 'none', videos, n);
  }

  /** Scores every list recorded since the last flush, in recording order. Returns how many. */
  flush(): number {
    const n = this.#log.size;
    this.#log.forEach((l) => {
      this.#score(l.phase, l.user, l.rung, Array.from(l.videos));
    });
    this.#log.clear();
    return n;
  }

  #score(phase: string, user: number, rung: string, videos: number[]): void {
    const quality = this.#scorer.score(user, videos);
    this.#served.add({ phase, rung }, quality, videos);
    const cohort = this.#cohortOf?.(phase, user);
    if (cohort) this.#cohorts!.add({ phase, rung: cohort }, quality, videos);
    if (this.#scored++ % this.#referenceEvery !== 0) return;
    const k = videos.length;
    const refs: [string, ArrayLike<number>][] = [
      ['random', randomList(this.#world, this.#rnd, k)],
      ['oracle', oracleList(this.#world, this.#scorer.params, user, k)],
      ['editorial', this.#editorial.slice(0, k)],
    ];
    for (const [name, list] of refs)
      this.#references.add({ phase, rung: name }, this.#scorer.score(user, list), list);
  }

  /** Scores what is pending (`flush()`), then summarises. */
  summary(): RunQuality {
    this.flush();
    return {
      served: this.#served.summary(),
      references: this.#references.summary(),
      unreadable: this.#unreadable,
      overflow: this.#log.overflow,
      ...(this.#cohorts ? { cohorts: this.#cohorts.summary() } : {}),
    };
  }
}
