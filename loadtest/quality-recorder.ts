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
import type { ServedResponse } from './served-response.ts';

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
}

/**
 * Scores every served list against the world's ground truth (sim/quality; RecSim-style) on the
 * runner's side, so quality is measured under load and faults exactly like latency: per phase and
 * per fallback rung. Cost ≈ 15 µs per list plus the references (an oracle pass over the catalogue).
 */
export class QualityRecorder {
  readonly #world: World;
  readonly #scorer: ReturnType<typeof createQualityScorer>;
  readonly #served: QualityAggregator;
  readonly #references: QualityAggregator;
  readonly #editorial: readonly number[];
  readonly #referenceEvery: number;
  readonly #rnd;
  #scored = 0;
  #unreadable = 0;

  constructor(world: World, editorial: readonly number[], seed: number, referenceEvery = 4) {
    this.#world = world;
    this.#scorer = createQualityScorer(world);
    this.#served = new QualityAggregator(world.config.videos);
    this.#references = new QualityAggregator(world.config.videos);
    this.#editorial = editorial;
    this.#referenceEvery = referenceEvery;
    this.#rnd = seededRandom(seed).stream('quality.random-reference');
  }

  /** Records one parsed 2xx response (undefined: unreadable) for user index `user` in `phase`. Never throws. */
  record(phase: string, user: number, parsed: ServedResponse | undefined): void {
    if (!parsed) {
      this.#unreadable++;
      return;
    }
    const items = Array.isArray(parsed.items) ? parsed.items : [];
    const { videos, unknownIds } = servedVideos(this.#world, items);
    if (unknownIds > 0 || videos.length === 0) {
      this.#unreadable++;
      return;
    }
    const rung = typeof parsed.meta?.rung === 'string' ? parsed.meta.rung : 'none';
    this.#served.add({ phase, rung }, this.#scorer.score(user, videos), videos);
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

  summary(): RunQuality {
    return {
      served: this.#served.summary(),
      references: this.#references.summary(),
      unreadable: this.#unreadable,
    };
  }
}
