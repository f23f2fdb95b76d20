import { RANKER_INPUT_DIM, USER_FEATURE_DIM } from '../features/schema.ts';
import type { Ranker, UserEncoder } from '../ports/ranker.ts';
import type { AnnSearcher } from '../retrieval/two-tower-source.ts';

/** What warm-up exercises: the user tower, the ANN index and the in-process rankers of one model set. */
export interface WarmUpTarget {
  userEncoder: UserEncoder;
  index: AnnSearcher;
  ranker: Ranker;
  lightRanker?: Ranker;
  /**
   * True when `ranker` is the ranker tier's client: the tier warms its own sessions (it preloads
   * versions), and a tier that is down must not stop the core from starting — it serves on the
   * light ranker instead (the `light_ranker` rung).
   */
  rankerRemote?: boolean;
}

/**
 * Runs dummy inferences and searches before a model set takes traffic (seed 000 §7: "Warm up: run
 * dummy inferences to fill caches"): the first ONNX Runtime run and the first FAISS searches are
 * many times slower than later ones, and would otherwise land on the first users' requests — at
 * start-up and after every hot swap. `rounds` rounds of encode → search(200) → score(300 rows).
 * @returns wall time of the first and of the last round (ms), for the log
 * @throws whatever the models throw (a hot swap reports it as RECLAB_ERR_MODEL_LOAD_FAILED)
 */
export async function warmUp(a: WarmUpTarget, rounds = 20): Promise<{ firstMs: number; lastMs: number }> {
  const rows = 300;
  const features = new Float32Array(rows * RANKER_INPUT_DIM);
  const user = new Float32Array(USER_FEATURE_DIM);
  const rankers = [...(a.rankerRemote ? [] : [a.ranker]), ...(a.lightRanker ? [a.lightRanker] : [])];
  let firstMs = 0;
  let lastMs = 0;
  for (let round = 0; round < rounds; round++) {
    const t0 = performance.now();
    const emb = await a.userEncoder.encode(user);
    a.index.search(emb, 200);
    for (const ranker of rankers) {
      const p = await ranker.score(features, rows);
      if (p.pClick.length !== rows) throw new Error(`ranker returned ${p.pClick.length} rows for ${rows}`);
    }
    // The tier warms its own sessions; the core warms its connections to it. A tier that is down
    // must not stop the core from starting (it serves on the light ranker meanwhile).
    if (a.rankerRemote && round < 3) await a.ranker.score(features, rows).catch(() => undefined);
    lastMs = performance.now() - t0;
    if (round === 0) firstMs = lastMs;
    // Yield between rounds: during a hot swap the active set keeps serving on this event loop.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return { firstMs: Math.round(firstMs * 100) / 100, lastMs: Math.round(lastMs * 100) / 100 };
}
