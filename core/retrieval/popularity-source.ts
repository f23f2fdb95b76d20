import type { Candidate } from '../pipeline/merge.ts';
import type { CandidateSource, RetrievalContext } from '../ports/candidate-source.ts';
import type { FeatureStore } from '../ports/feature-store.ts';

/**
 * Popularity retrieval (seed 000 §2.2: top-50 per region, top-200 global, from Redis sorted sets):
 * the user's region first, filled up from the global set. Score = the set's popularity score.
 */
export class PopularitySource implements CandidateSource {
  readonly name = 'popularity';
  readonly #store: FeatureStore;

  constructor(store: FeatureStore) {
    this.#store = store;
  }

  async retrieve(ctx: RetrievalContext, k: number): Promise<Candidate[]> {
    const [regional, global] = await Promise.all([
      this.#store.topPopular(ctx.regionIdx, k),
      this.#store.topPopular(undefined, k),
    ]);
    const seen = new Set<number>();
    const out: Candidate[] = [];
    for (const e of [...regional, ...global]) {
      if (out.length >= k) break;
      if (seen.has(e.video)) continue;
      seen.add(e.video);
      out.push({ video: e.video, score: e.score, source: this.name });
    }
    return out;
  }
}
