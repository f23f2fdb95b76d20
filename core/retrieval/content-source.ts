import type { Candidate } from '../pipeline/merge.ts';
import type { RecentActivity } from '../pipeline/recommend.ts';
import type { CandidateSource, RetrievalContext } from '../ports/candidate-source.ts';
import type { AnnSearcher } from './two-tower-source.ts';

/** Content embeddings of one catalogue: row i (`dim` floats) = video `v_i`, rows L2-normalised. */
export interface ContentEmbeddings {
  vectors: Float32Array;
  dim: number;
  count: number;
}

export interface ContentSourceOptions {
  /** Recent watches the profile is pooled from (the streaming list holds ≤ 50); default 50. */
  profileN?: number;
}

/** Default of `ContentSourceOptions.profileN`: the whole last-N list the streaming consumer keeps. */
export const CONTENT_PROFILE_N = 50;

/**
 * A user's content profile: the mean of the content embeddings of `videos`, L2-normalised, so that
 * ⟨profile, e(v)⟩ is a cosine. Videos outside the catalogue (`< 0` or `≥ count`, e.g. fresh uploads
 * the content index does not hold yet) are skipped; a video listed twice counts twice.
 *
 * @returns `Float32Array(dim)`, or undefined when no video is known or the mean is the zero vector
 */
export function contentProfile(emb: ContentEmbeddings, videos: readonly number[]): Float32Array | undefined {
  const { vectors, dim, count } = emb;
  const sum = new Float64Array(dim);
  let n = 0;
  for (const v of videos) {
    if (!Number.isInteger(v) || v < 0 || v >= count) continue;
    const row = v * dim;
    for (let d = 0; d < dim; d++) sum[d] += vectors[row + d];
    n++;
  }
  if (n === 0) return undefined;
  let norm = 0;
  for (let d = 0; d < dim; d++) norm += sum[d] * sum[d];
  norm = Math.sqrt(norm);
  if (!(norm > 1e-12) || !Number.isFinite(norm)) return undefined;
  const out = new Float32Array(dim);
  for (let d = 0; d < dim; d++) out[d] = sum[d] / norm;
  return out;
}

/**
 * Content-based retrieval (seed 000 §2.2 `content_based_retrieval`, ~100 candidates; §9 step 4b
 * "aggregate recent watch embeddings → FAISS"): the user's last `profileN` watched videos (the
 * streaming list `rt:rw:<user>`, read through `RecentActivity`), their content embeddings
 * (sim/models/content-embeddings.ts: category, hashed creator, duration bucket) mean-pooled and
 * L2-normalised (`contentProfile`), searched by inner product in the content index; the watched
 * videos themselves are left out. Score = cosine of profile and video.
 *
 * No recent watches → [] (seed 000 Q1: content retrieval needs a watch history; the batch category
 * affinity in the user record already feeds the two-tower user tower, and a category-only profile
 * would rank every video of the top category equal). Reader or index errors propagate (the
 * pipeline's deadline and breaker make them `partial_retrieval`).
 *
 * Cost: one `LRANGE` (≤ 50; none when the pipeline shares its read in `ctx.recentWatches`) + one ANN search of `k + |watched|` (the search is synchronous on the
 * event loop, as for two-tower).
 */
export class ContentSource implements CandidateSource {
  /** The source's name (breakers are made per name before any model set brings the source). */
  static readonly NAME = 'content';
  readonly name = ContentSource.NAME;
  readonly needsRecentWatches = true;
  readonly #index: AnnSearcher;
  readonly #emb: ContentEmbeddings;
  readonly #watches: RecentActivity;
  readonly #profileN: number;

  /**
   * @param index ANN index over `emb.vectors` (inner product), labels = catalogue video indices
   * @param watches the user's recent watches, newest first
   */
  constructor(
    index: AnnSearcher,
    emb: ContentEmbeddings,
    watches: RecentActivity,
    opts: ContentSourceOptions = {},
  ) {
    this.#index = index;
    this.#emb = emb;
    this.#watches = watches;
    this.#profileN = Math.max(1, Math.floor(opts.profileN ?? CONTENT_PROFILE_N));
  }

  async retrieve(ctx: RetrievalContext, k: number): Promise<Candidate[]> {
    if (k <= 0) return [];
    // The pipeline's own read when it made one (no second round trip), else this source's.
    const watched = ctx.recentWatches
      ? (await ctx.recentWatches).slice(0, this.#profileN)
      : await this.#watches.recentWatches(ctx.userId, this.#profileN);
    if (watched.length === 0) return [];
    const profile = contentProfile(this.#emb, watched);
    if (!profile) return [];
    const exclude = new Set(watched);
    const { ids, scores } = this.#index.search(profile, k + exclude.size);
    const out: Candidate[] = [];
    for (let i = 0; i < ids.length && out.length < k; i++) {
      if (ids[i] < 0 || exclude.has(ids[i])) continue;
      out.push({ video: ids[i], score: scores[i], source: this.name });
    }
    return out;
  }
}
