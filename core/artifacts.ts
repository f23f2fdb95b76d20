import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AnnIndex } from './adapters/faiss/faiss-index.ts';
import { OnnxRanker, OnnxUserEncoder } from './adapters/onnx/onnx-models.ts';
import { ReclabError } from './errors.ts';
import type { ItemEmbeddings } from './pipeline/recommend.ts';

/**
 * The files a core instance serves from, in one directory (made by `reclab models build`):
 * - `manifest.json` `{ modelVersion: string, embDim: number, … }`
 * - `user_tower.onnx`, `ranker.onnx` (contracts in core/adapters/onnx/onnx-models.ts)
 * - `item_embeddings.f32`: little-endian Float32, videos × embDim, row i = video `v_i`
 * - `editorial.json`: `{ "videos": ["v_12", …] }`, the static last-resort list
 */
export interface Artifacts {
  modelVersion: string;
  items: ItemEmbeddings;
  index: AnnIndex;
  ranker: OnnxRanker;
  userEncoder: OnnxUserEncoder;
  editorial: number[];
}

export interface ArtifactOptions {
  ann: { factory: string; efSearch: number; nprobe: number };
  ortThreads: number;
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new ReclabError('RECLAB_ERR_ARTIFACT_INVALID', `${path}: ${(err as Error).message}`);
  }
}

/**
 * Loads models, embeddings and the editorial list from `dir` and builds the ANN index over the item
 * embeddings (seed 000 §2.4; the index type is `opts.ann.factory`).
 * @throws ReclabError RECLAB_ERR_ARTIFACT_INVALID for a missing or malformed file
 */
export async function loadArtifacts(dir: string, opts: ArtifactOptions): Promise<Artifacts> {
  const manifest = await readJson(join(dir, 'manifest.json'));
  const modelVersion = String(manifest.modelVersion ?? '');
  const dim = Number(manifest.embDim);
  if (!modelVersion || !Number.isInteger(dim) || dim <= 0) {
    throw new ReclabError(
      'RECLAB_ERR_ARTIFACT_INVALID',
      `${dir}/manifest.json needs modelVersion and embDim`,
    );
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(join(dir, 'item_embeddings.f32'));
  } catch (err) {
    throw new ReclabError('RECLAB_ERR_ARTIFACT_INVALID', `item_embeddings.f32: ${(err as Error).message}`);
  }
  if (bytes.byteLength === 0 || bytes.byteLength % (4 * dim) !== 0) {
    throw new ReclabError(
      'RECLAB_ERR_ARTIFACT_INVALID',
      `item_embeddings.f32 is not a whole number of ${dim}-d rows`,
    );
  }
  const vectors = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(vectors.buffer).set(bytes);
  const count = vectors.length / dim;

  const editorialJson = await readJson(join(dir, 'editorial.json'));
  const editorial = (Array.isArray(editorialJson.videos) ? editorialJson.videos : [])
    .map((id: unknown) => (typeof id === 'string' && id.startsWith('v_') ? Number(id.slice(2)) : -1))
    .filter((v: number) => Number.isInteger(v) && v >= 0 && v < count);
  if (editorial.length === 0)
    throw new ReclabError('RECLAB_ERR_ARTIFACT_INVALID', 'editorial.json lists no known video');

  const params: Record<string, number> = {};
  if (opts.ann.factory.startsWith('HNSW')) params.efSearch = opts.ann.efSearch;
  if (opts.ann.factory.startsWith('IVF')) params.nprobe = opts.ann.nprobe;
  const index = AnnIndex.build(vectors, dim, { factory: opts.ann.factory, metric: 'ip', params, threads: 1 });

  const [ranker, userEncoder] = await Promise.all([
    OnnxRanker.load(join(dir, 'ranker.onnx'), modelVersion, opts.ortThreads),
    OnnxUserEncoder.load(join(dir, 'user_tower.onnx'), dim, opts.ortThreads),
  ]);
  return { modelVersion, items: { vectors, dim, count }, index, ranker, userEncoder, editorial };
}
