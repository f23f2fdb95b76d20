/**
 * `reclab index rebuild`: builds the ANN index of an artifact directory offline, measures it against
 * exact search, and keeps it only if it is good enough (seed 000 §2.4 index comparison, §7 index
 * rebuilds). The core then loads `index.faiss` instead of building at start-up, when the card's
 * factory is the one it is configured for.
 */
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type AnnBuildProgress, AnnIndex } from '../../core/adapters/faiss/faiss-index.ts';
import { type IndexCard, indexCard } from '../../core/adapters/faiss/index-card.ts';
import { OnnxUserEncoder } from '../../core/adapters/onnx/onnx-models.ts';
import { resolveFactory } from '../../core/artifacts.ts';
import { USER_FEATURE_DIM, USER_RECORD_LEN, userModelInput } from '../../core/features/schema.ts';
import { seededRandom } from '../../core/random/seeded-random.ts';
import { type Progress, type ProgressFactory, silentProgress } from '../progress.ts';

export const INDEX_FILE = 'index.faiss';
export const INDEX_CARD_FILE = 'index-card.json';

export interface RebuildOptions {
  dir: string;
  /** FAISS factory string or `auto` (core/artifacts.ts resolveFactory). */
  factory: string;
  nprobe: number;
  efSearch: number;
  /** Keep the index only when mean recall@100 against Flat is at least this. */
  minRecall: number;
  queries: number;
  seed: number;
  /**
   * Progress of the build (sim/progress.ts; default none): `<label>.train` (IVF/PQ training, one
   * native call: a status line when it starts, the summary when done), then `<label>.add` (rows
   * added: done/total, rate, ETA), for the index (`index`) and the exact reference (`index.flat`).
   */
  progress?: ProgressFactory;
}

/**
 * An `AnnBuildProgress` listener that drives `factory` stages `<label>.train` and `<label>.add`.
 * Call `stop()` after the build (also ends a stage a failed build left open).
 */
export function annBuildProgress(
  factory: ProgressFactory,
  label: string,
): { onProgress: (e: AnnBuildProgress) => void; stop: () => void } {
  let train: Progress | undefined;
  let add: Progress | undefined;
  let added = 0;
  return {
    onProgress(e) {
      if (e.stage === 'train') {
        if (!e.finished) {
          train = factory(`${label}.train`, 1, 'steps');
          train.status(`training on ${e.rows} rows`, true);
        } else {
          train?.tick(1);
          train?.stop();
        }
        return;
      }
      add ??= factory(`${label}.add`, e.total, 'rows');
      add.tick(e.done - added);
      added = e.done;
      add.status(`${Math.round(e.ratePerS)} rows/s · ETA ${Math.ceil(e.etaS)} s`);
      if (e.done === e.total) add.stop();
    },
    stop() {
      train?.stop();
      add?.stop();
    },
  };
}

export interface RebuildResult {
  card: IndexCard & { query: 'user_tower' | 'items'; minRecall: number; builtS: number; createdAt: string };
  saved: boolean;
}

async function readF32(path: string): Promise<Float32Array> {
  const bytes = await readFile(path);
  const out = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/**
 * Queries like the core's: user-tower embeddings of sampled users when the directory holds their
 * records (a build cache), otherwise sampled item embeddings (a registry version ships no user data).
 */
async function sampleQueries(
  dir: string,
  items: Float32Array,
  dim: number,
  n: number,
  seed: number,
): Promise<{ queries: Float32Array; kind: 'user_tower' | 'items' }> {
  const rnd = seededRandom(seed).stream('index.rebuild.queries');
  const queries = new Float32Array(n * dim);
  const usersPath = join(dir, 'user_records.f32');
  if (existsSync(usersPath) && existsSync(join(dir, 'user_tower.onnx'))) {
    const users = await readF32(usersPath);
    const encoder = await OnnxUserEncoder.load(join(dir, 'user_tower.onnx'), dim, 1);
    const features = new Float32Array(USER_FEATURE_DIM);
    const count = users.length / USER_RECORD_LEN;
    for (let q = 0; q < n; q++) {
      const u = rnd.int(count);
      userModelInput(users.subarray(u * USER_RECORD_LEN, (u + 1) * USER_RECORD_LEN), features);
      queries.set(await encoder.encode(features), q * dim);
    }
    await encoder.release();
    return { queries, kind: 'user_tower' };
  }
  const count = items.length / dim;
  for (let q = 0; q < n; q++) {
    const v = rnd.int(count);
    queries.set(items.subarray(v * dim, (v + 1) * dim), q * dim);
  }
  return { queries, kind: 'items' };
}

/**
 * Builds `o.factory` over `o.dir/item_embeddings.f32` (2 build threads), measures recall@100 against
 * an exact index on `o.queries` queries and saves `index.faiss` + `index-card.json` (write beside,
 * then rename) when the mean recall reaches `o.minRecall`.
 * @throws AnnIndexError from the build (bad factory, training failure); fs errors for a missing file
 */
export async function rebuildIndex(o: RebuildOptions): Promise<RebuildResult> {
  const manifest = JSON.parse(await readFile(join(o.dir, 'manifest.json'), 'utf8')) as { embDim: number };
  const dim = manifest.embDim;
  const items = await readF32(join(o.dir, 'item_embeddings.f32'));
  const count = items.length / dim;
  const factory = resolveFactory(o.factory, count);
  const params: Record<string, number> = {};
  if (factory.startsWith('IVF')) params.nprobe = o.nprobe;
  if (factory.startsWith('HNSW')) params.efSearch = o.efSearch;
  const progress = o.progress ?? silentProgress;
  const t0 = performance.now();
  const main = annBuildProgress(progress, 'index');
  let index: AnnIndex;
  try {
    index = AnnIndex.build(items, dim, {
      factory,
      metric: 'ip',
      params,
      threads: 2,
      onProgress: main.onProgress,
    });
  } finally {
    main.stop();
  }
  const builtS = (performance.now() - t0) / 1000;
  AnnIndex.setNumThreads(1);
  const reference = annBuildProgress(progress, 'index.flat');
  let flat: AnnIndex;
  try {
    flat = AnnIndex.build(items, dim, { factory: 'Flat', metric: 'ip', onProgress: reference.onProgress });
  } finally {
    reference.stop();
  }
  const { queries, kind } = await sampleQueries(o.dir, items, dim, o.queries, o.seed);
  const card = {
    ...indexCard(index, flat, queries, 100),
    query: kind,
    minRecall: o.minRecall,
    builtS: Math.round(builtS * 100) / 100,
    createdAt: new Date().toISOString(),
  };
  const saved = card.recall.mean >= o.minRecall;
  if (saved) {
    // Write beside, then rename: a core starting meanwhile never reads a half-written index.
    index.save(join(o.dir, `${INDEX_FILE}.tmp`));
    await writeFile(join(o.dir, `${INDEX_CARD_FILE}.tmp`), `${JSON.stringify(card, null, 2)}\n`);
    await rename(join(o.dir, `${INDEX_FILE}.tmp`), join(o.dir, INDEX_FILE));
    await rename(join(o.dir, `${INDEX_CARD_FILE}.tmp`), join(o.dir, INDEX_CARD_FILE));
  }
  return { card, saved };
}
