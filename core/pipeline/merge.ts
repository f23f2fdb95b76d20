/** One candidate as a retrieval source returns it. */
export interface Candidate {
  /** Video index in the catalogue (the id `v_<index>` without its prefix; FAISS label). */
  video: number;
  /** The source's own score (inner product, popularity, …); larger is better within a source. */
  score: number;
  /** The retrieval source's name (`two_tower`, `popularity`, …). */
  source: string;
}

/**
 * Merges the lists of several retrieval sources and removes duplicates (seed 000 §1 step 4).
 *
 * Sources are taken in the order given (their priority): a video found by several sources keeps the
 * first source's name and score, so each candidate carries one source and that source's retrieval
 * score. Within a source, order is preserved. At most `limit` candidates are returned; when the
 * lists together exceed it, sources are interleaved round-robin so no source starves the others.
 *
 * @param lists candidate lists, one per source, each sorted best first
 * @param limit maximum candidates out (seed 000: about 300)
 */
export function mergeCandidates(lists: readonly (readonly Candidate[])[], limit: number): Candidate[] {
  // The owner of a video is the first source (in priority order) that returned it.
  const owner = new Map<number, number>();
  lists.forEach((list, s) => {
    for (const c of list) if (!owner.has(c.video)) owner.set(c.video, s);
  });
  const out: Candidate[] = [];
  const taken = new Set<number>();
  const cursors = lists.map(() => 0);
  let progressed = true;
  while (out.length < limit && progressed) {
    progressed = false;
    for (let s = 0; s < lists.length && out.length < limit; s++) {
      const list = lists[s];
      while (cursors[s] < list.length) {
        const c = list[cursors[s]++];
        if (owner.get(c.video) !== s || taken.has(c.video)) continue;
        taken.add(c.video);
        out.push(c);
        progressed = true;
        break;
      }
    }
  }
  return out;
}
