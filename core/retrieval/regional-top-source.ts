import type { Candidate } from '../pipeline/merge.ts';
import type { CandidateSource, RetrievalContext } from '../ports/candidate-source.ts';

/** Reads the top `n` videos of a region (`regionIdx`) or of the whole world (`undefined`). */
export type TopReader = (
  regionIdx: number | undefined,
  n: number,
) => Promise<{ video: number; score: number }[]>;

/**
 * Retrieval from ranked sets kept per region and globally (seed 000 §2.2: top-50 per region,
 * top-200 global): the user's region first, filled up from the global set, without duplicates.
 * Score = the set's own score. Two instances serve the core:
 * - `popularity`: the batch popularity sorted sets loaded with the world (`FeatureStore.topPopular`);
 * - `trending`: the decayed view-velocity sets the streaming consumer keeps current
 *   (`RealtimeFeatures.trending`), through which a viral video is retrievable within seconds.
 */
export class RegionalTopSource implements CandidateSource {
  readonly name: string;
  readonly #read: TopReader;

  constructor(name: string, read: TopReader) {
    this.name = name;
    this.#read = read;
  }

  async retrieve(ctx: RetrievalContext, k: number): Promise<Candidate[]> {
    const [regional, global] = await Promise.all([this.#read(ctx.regionIdx, k), this.#read(undefined, k)]);
    const seen = new Set<number>();
    const out: Candidate[] = [];
    // The regional list, then the global one (no concatenated copy of the two).
    for (let l = 0; l < 2; l++) {
      const list = l === 0 ? regional : global;
      for (let i = 0; i < list.length && out.length < k; i++) {
        const e = list[i];
        if (seen.has(e.video)) continue;
        seen.add(e.video);
        out.push({ video: e.video, score: e.score, source: this.name });
      }
    }
    return out;
  }
}
