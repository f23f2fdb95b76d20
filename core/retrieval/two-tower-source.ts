import { ReclabError } from '../errors.ts';
import type { Candidate } from '../pipeline/merge.ts';
import type { CandidateSource, RetrievalContext } from '../ports/candidate-source.ts';

/** The part of an ANN index the source needs (core/adapters/faiss/faiss-index.ts implements it). */
export interface AnnSearcher {
  search(query: Float32Array, k: number): { ids: ArrayLike<number>; scores: ArrayLike<number> };
}

/**
 * Two-tower retrieval (seed 000 §2.2, §2.4): the user-tower embedding searched in the item-tower
 * index by inner product (cosine, as both sides are L2-normalised). Score = inner product.
 */
export class TwoTowerSource implements CandidateSource {
  readonly name = 'two_tower';
  readonly #index: AnnSearcher;

  constructor(index: AnnSearcher) {
    this.#index = index;
  }

  async retrieve(ctx: RetrievalContext, k: number): Promise<Candidate[]> {
    if (!ctx.userEmbedding) {
      throw new ReclabError('RECLAB_ERR_RETRIEVAL_UNAVAILABLE', 'no user embedding (user tower unavailable)');
    }
    const { ids, scores } = this.#index.search(ctx.userEmbedding, k);
    const out: Candidate[] = [];
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] >= 0) out.push({ video: ids[i], score: scores[i], source: this.name });
    }
    return out;
  }
}
