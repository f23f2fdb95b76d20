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
  // Catalogue indices below OWNER_CAP: the owners live in a typed table indexed by video (stamped
  // per call, never cleared) instead of a Map (~1,600 Map operations a request); the same order and
  // owners. Anything else (a negative, fractional or huge index) takes the Map.
  let maxVideo = -1;
  for (let s = 0; s < lists.length; s++) {
    const list = lists[s];
    for (let i = 0; i < list.length; i++) {
      const v = list[i].video;
      if (!(v >= 0 && v < OWNER_CAP && Number.isInteger(v))) return mergeWithMap(lists, limit);
      if (v > maxVideo) maxVideo = v;
    }
  }
  const t = ownerTable(maxVideo + 1);
  const { stamp, owner } = t;
  const gen = t.gen;
  for (let s = 0; s < lists.length; s++) {
    const list = lists[s];
    for (let i = 0; i < list.length; i++) {
      const v = list[i].video;
      if (stamp[v] !== gen) {
        stamp[v] = gen;
        owner[v] = s;
      }
    }
  }
  return interleave(
    lists,
    limit,
    (v) => owner[v], // every listed video was stamped above
    (v) => {
      owner[v] = TAKEN;
    },
  );
}

/** Largest catalogue index + 1 the typed owner table covers (2 × 16 MiB at most). */
const OWNER_CAP = 1 << 22;

/** The owner table: `owner[v]` is valid when `stamp[v] === gen` (this call's stamp). */
interface OwnerTable {
  stamp: Uint32Array;
  owner: Int32Array;
  gen: number;
}

let OWNERS: OwnerTable = { stamp: new Uint32Array(0), owner: new Int32Array(0), gen: 0 };

/** The table, grown to cover `size` videos, with a fresh stamp (merging is synchronous: one table). */
function ownerTable(size: number): OwnerTable {
  if (size > OWNERS.stamp.length) {
    const cap = Math.min(OWNER_CAP, Math.max(size, 2 * OWNERS.stamp.length, 1024));
    OWNERS = { stamp: new Uint32Array(cap), owner: new Int32Array(cap), gen: 0 };
  }
  OWNERS.gen++;
  if (OWNERS.gen > 0xfffffffe) {
    OWNERS.stamp.fill(0);
    OWNERS.gen = 1;
  }
  return OWNERS;
}

/** The same merge over a Map of owners, for indices the typed table does not cover. */
function mergeWithMap(lists: readonly (readonly Candidate[])[], limit: number): Candidate[] {
  // The owner of a video is the first source (in priority order) that returned it; TAKEN once out.
  // (Plain loops and one Map: this runs on every request over ~600 candidates.)
  const owner = new Map<number, number>();
  for (let s = 0; s < lists.length; s++) {
    const list = lists[s];
    for (let i = 0; i < list.length; i++) {
      const v = list[i].video;
      if (owner.get(v) === undefined) owner.set(v, s);
    }
  }
  return interleave(
    lists,
    limit,
    (v) => owner.get(v),
    (v) => owner.set(v, TAKEN),
  );
}

/**
 * The round-robin of `mergeCandidates` over an owner store: each source in turn gives its next
 * candidate that it owns (`ownerOf(video) === source`), which is then marked taken.
 */
function interleave(
  lists: readonly (readonly Candidate[])[],
  limit: number,
  ownerOf: (video: number) => number | undefined,
  take: (video: number) => void,
): Candidate[] {
  const out: Candidate[] = [];
  const cursors = new Array<number>(lists.length).fill(0);
  let progressed = true;
  while (out.length < limit && progressed) {
    progressed = false;
    for (let s = 0; s < lists.length && out.length < limit; s++) {
      const list = lists[s];
      let at = cursors[s];
      while (at < list.length) {
        const c = list[at++];
        if (ownerOf(c.video) !== s) continue; // another source's, or already taken
        take(c.video);
        out.push(c);
        progressed = true;
        break;
      }
      cursors[s] = at;
    }
  }
  return out;
}

/** Owner mark of a video already merged (no source has this index). */
const TAKEN = -1;
