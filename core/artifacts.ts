import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AnnIndex } from './adapters/faiss/faiss-index.ts';
import { OnnxItemEncoder, OnnxRanker, type OnnxTower, OnnxUserEncoder } from './adapters/onnx/onnx-models.ts';
import { ReclabError } from './errors.ts';
import { VIDEO_FEATURE_DIM } from './features/schema.ts';
import { parseTrainingDistribution } from './observability/drift-monitor.ts';
import { SCORE_WEIGHT_NAMES, type ScoreWeights } from './pipeline/experiments.ts';
import type { ModelSet, RecentActivity } from './pipeline/recommend.ts';
import type { Ranker } from './ports/ranker.ts';
import { ContentSource } from './retrieval/content-source.ts';
import { FreshIndex, MergedAnnSearcher } from './retrieval/fresh-index.ts';
import { TwoTowerSource } from './retrieval/two-tower-source.ts';

/**
 * The files a core instance serves from, in one directory (made by `reclab models build`):
 * - `manifest.json` `{ modelVersion: string, embDim: number, … }`
 * - `user_tower.onnx`, `item_tower.onnx`, `ranker.onnx`, optional `light_ranker.onnx` (contracts in
 *   core/adapters/onnx/onnx-models.ts)
 * - `item_embeddings.f32`: little-endian Float32, videos × embDim, row i = video `v_i`
 * - `editorial.json`: `{ "videos": ["v_12", …] }`, the static last-resort list
 * - optional `content_embeddings.f32`: little-endian Float32, videos × `manifest.content.dim`, row i =
 *   video `v_i` (sim/models/content-embeddings.ts); absent in directories made before it existed
 * A registry version (core/registry/model-registry.ts) is such a directory plus `model-card.json`.
 *
 * Loaded, it is one `ModelSet` (the unit the core swaps, seed 000 §7) whose `sources` are the
 * two-tower retrieval over `index` (`two_tower`) and, with `content_embeddings.f32` and
 * `ArtifactOptions.recentWatches`, the content-based retrieval over `content.index` (`content`).
 */
/** A ranker the model set owns and must release (an ONNX session, a tier client's connections). */
export type OwnedRanker = Ranker & { release(): Promise<void> };

export interface Artifacts extends ModelSet {
  readonly index: AnnIndex;
  readonly ranker: OwnedRanker;
  /** True when `ranker` is the ranker tier's client (`ArtifactOptions.mainRanker`), not a session. */
  readonly rankerRemote: boolean;
  /** `light_ranker.onnx` in process; absent in artifact directories made before it existed. */
  readonly lightRanker?: OnnxRanker;
  readonly userEncoder: OnnxUserEncoder;
  /** The item tower, to embed fresh uploads. */
  readonly itemEncoder: OnnxTower;
  readonly fresh: FreshIndex;
  /** The content-based index over `content_embeddings.f32`, when the directory has that file. */
  readonly content?: { index: AnnIndex; vectors: Float32Array; dim: number; count: number };
  readonly editorial: number[];
  /** Releases the ONNX Runtime sessions (the index is freed when unreferenced). Call once. */
  release(): Promise<void>;
}

export interface ArtifactOptions {
  ann: { factory: string; efSearch: number; nprobe: number };
  ortThreads: number;
  /** Served version name; default the manifest's `modelVersion` (a registry passes its own name). */
  modelVersion?: string;
  /** Videos the fresh-uploads index holds before it evicts the oldest (seed 000 §7: 50K). */
  freshCapacity?: number;
  /**
   * The users' recent watches (streaming features), for the content-based source; without it, or
   * without `content_embeddings.f32`, the set has no `content` source.
   */
  recentWatches?: RecentActivity;
  /**
   * The main ranker for `modelVersion` when it runs outside this process (the ranker tier's
   * client, core/ranker-tier/); default: `ranker.onnx` in process.
   */
  mainRanker?: (modelVersion: string) => OwnedRanker;
}

/** Below this many items an exact search is cheap (≈ 0.2–0.4 ms at 10k × 32-d) and `auto` uses it. */
const AUTO_FLAT_MAX_ITEMS = 50_000;

/**
 * The FAISS factory string for `configured`; `auto` picks by catalogue size: `Flat` (exact) up to
 * 50k items, else `IVF<lists>,Flat` with lists ≈ 4·√n rounded to a power of two. Measured on the
 * item-tower embeddings (bench/out/ann.json, bench/README.md): at 1M items IVF4096,Flat at nprobe 8
 * reaches recall@100 0.967 at ~160× less latency than Flat, while HNSW32 stays near 0.42 — the
 * two-tower user queries sit far from every item, where graph search does poorly.
 */
export function resolveFactory(configured: string, items: number): string {
  if (configured !== 'auto') return configured;
  if (items <= AUTO_FLAT_MAX_ITEMS) return 'Flat';
  return `IVF${2 ** Math.round(Math.log2(4 * Math.sqrt(items)))},Flat`;
}

/**
 * The index `reclab index rebuild` saved in `dir` (`index.faiss` + `index-card.json`), when its card
 * names the factory and width wanted; otherwise undefined and the caller builds one.
 */
async function loadPrebuiltIndex(
  dir: string,
  factory: string,
  dim: number,
  params: Record<string, number>,
): Promise<AnnIndex | undefined> {
  let card: { factory?: string; dim?: number };
  try {
    card = JSON.parse(await readFile(join(dir, 'index-card.json'), 'utf8'));
  } catch {
    return undefined;
  }
  if (card.factory !== factory || card.dim !== dim) return undefined;
  const index = AnnIndex.load(join(dir, 'index.faiss'), { factory, metric: 'ip', dim });
  for (const [name, value] of Object.entries(params)) index.setParam(name, value);
  return index;
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new ReclabError('RECLAB_ERR_ARTIFACT_INVALID', `${path}: ${(err as Error).message}`);
  }
}

/**
 * The content-based ANN index (seed 000 §2.4 "Content-Based Index") over `content_embeddings.f32`,
 * built with the same factory resolution and search parameters as the two-tower index; undefined
 * when the file does not exist (artifact directories made before it). Width: `manifest.content.dim`,
 * else the file size ÷ (4 × items).
 * @throws ReclabError RECLAB_ERR_ARTIFACT_INVALID when the file is not `items` whole rows
 */
async function loadContentIndex(
  dir: string,
  manifest: Record<string, unknown>,
  items: number,
  ann: ArtifactOptions['ann'],
): Promise<Artifacts['content']> {
  let bytes: Buffer;
  try {
    bytes = await readFile(join(dir, 'content_embeddings.f32'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ReclabError('RECLAB_ERR_ARTIFACT_INVALID', `content_embeddings.f32: ${(err as Error).message}`);
  }
  const declared = Number((manifest.content as { dim?: unknown } | undefined)?.dim);
  const dim = Number.isInteger(declared) && declared > 0 ? declared : bytes.byteLength / (4 * items);
  if (!Number.isInteger(dim) || dim <= 0 || bytes.byteLength !== 4 * dim * items) {
    throw new ReclabError(
      'RECLAB_ERR_ARTIFACT_INVALID',
      `content_embeddings.f32 has ${bytes.byteLength} bytes, not ${items} rows of ${declared || '?'} floats`,
    );
  }
  const vectors = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(vectors.buffer).set(bytes);
  const factory = resolveFactory(ann.factory, items);
  const params: Record<string, number> = {};
  if (factory.startsWith('HNSW')) params.efSearch = ann.efSearch;
  if (factory.startsWith('IVF')) params.nprobe = ann.nprobe;
  const index = AnnIndex.build(vectors, dim, { factory, metric: 'ip', params, threads: 1 });
  return { index, vectors, dim, count: items };
}

/**
 * The ranking-score weights tuned for the version's rankers on validation data, from its manifest
 * (the model card's source): `ranker.scoreWeights` (main) and `ranker.lightScoreWeights` (light);
 * only known, finite weights are kept, and a missing section means none (the defaults apply:
 * core/pipeline/experiments.ts).
 */
export function tunedScoreWeights(manifest: Record<string, unknown>): {
  main?: Partial<ScoreWeights>;
  light?: Partial<ScoreWeights>;
} {
  const section = (manifest.ranker ?? {}) as Record<string, unknown>;
  const pick = (raw: unknown): Partial<ScoreWeights> | undefined => {
    if (!raw || typeof raw !== 'object') return undefined;
    const out: Partial<ScoreWeights> = {};
    for (const name of SCORE_WEIGHT_NAMES) {
      const v = (raw as Record<string, unknown>)[name];
      if (typeof v === 'number' && Number.isFinite(v)) out[name] = v;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  };
  return { main: pick(section.scoreWeights), light: pick(section.lightScoreWeights) };
}

/** `r` carrying `weights` as its `scoreWeights` (for a ranker made elsewhere, e.g. the tier's client). */
function withScoreWeights(r: OwnedRanker, weights: Partial<ScoreWeights> | undefined): OwnedRanker {
  if (!weights) return r;
  return {
    modelVersion: r.modelVersion,
    scoreWeights: weights,
    score: (features, n) => r.score(features, n),
    release: () => r.release(),
  };
}

/**
 * Loads models, embeddings and the editorial list from `dir` and builds the ANN index over the item
 * embeddings (seed 000 §2.4; the index type is `opts.ann.factory`).
 * @throws ReclabError RECLAB_ERR_ARTIFACT_INVALID for a missing or malformed file
 */
export async function loadArtifacts(dir: string, opts: ArtifactOptions): Promise<Artifacts> {
  const manifest = await readJson(join(dir, 'manifest.json'));
  const modelVersion = opts.modelVersion ?? String(manifest.modelVersion ?? '');
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

  const factory = resolveFactory(opts.ann.factory, count);
  const params: Record<string, number> = {};
  if (factory.startsWith('HNSW')) params.efSearch = opts.ann.efSearch;
  if (factory.startsWith('IVF')) params.nprobe = opts.ann.nprobe;
  const index =
    (await loadPrebuiltIndex(dir, factory, dim, params)) ??
    AnnIndex.build(vectors, dim, { factory, metric: 'ip', params, threads: 1 });
  const content = await loadContentIndex(dir, manifest, count, opts.ann);

  const weights = tunedScoreWeights(manifest);
  const lightPath = join(dir, 'light_ranker.onnx');
  const hasLight = await access(lightPath).then(
    () => true,
    () => false,
  );
  const loads = await Promise.allSettled([
    opts.mainRanker
      ? Promise.resolve<OwnedRanker>(withScoreWeights(opts.mainRanker(modelVersion), weights.main))
      : OnnxRanker.load(join(dir, 'ranker.onnx'), modelVersion, opts.ortThreads, weights.main),
    OnnxUserEncoder.load(join(dir, 'user_tower.onnx'), dim, opts.ortThreads),
    OnnxItemEncoder.load(join(dir, 'item_tower.onnx'), dim, opts.ortThreads),
    hasLight
      ? OnnxRanker.load(lightPath, modelVersion, opts.ortThreads, weights.light)
      : Promise.resolve(undefined),
  ] as const);
  const [ranker, userEncoder, itemEncoder, lightRanker] = loads;
  if (
    ranker.status === 'rejected' ||
    userEncoder.status === 'rejected' ||
    itemEncoder.status === 'rejected' ||
    lightRanker.status === 'rejected'
  ) {
    // Do not leak the sessions that did load (a hot swap retries loads in a long-lived process).
    await Promise.allSettled(loads.map((r) => (r.status === 'fulfilled' ? r.value?.release() : undefined)));
    const reason = loads.find((r) => r.status === 'rejected')!.reason;
    throw reason instanceof ReclabError
      ? reason
      : new ReclabError('RECLAB_ERR_ARTIFACT_INVALID', `${dir}: ${(reason as Error).message}`, {
          cause: reason,
        });
  }
  const r = ranker.value;
  const u = userEncoder.value;
  const it = itemEncoder.value;
  const light = lightRanker.value;
  // Fresh uploads (seed 000 §7): a small exact index searched together with the main one, so a
  // video uploaded after the main index was built is retrievable at once. Per model set: embeddings
  // of one version's item tower are not comparable with another's.
  // It keeps each video's item-tower input so a swapped-in version can re-embed them (model-slots.ts).
  const fresh = new FreshIndex({
    dim,
    capacity: opts.freshCapacity ?? 50_000,
    featureDim: VIDEO_FEATURE_DIM,
  });
  const trainingDistribution = parseTrainingDistribution(manifest.trainingDistribution);
  return {
    modelVersion,
    ...(trainingDistribution ? { trainingDistribution } : {}),
    items: { vectors, dim, count },
    index,
    ranker: r,
    rankerRemote: opts.mainRanker !== undefined,
    lightRanker: light,
    userEncoder: u,
    itemEncoder: it,
    fresh,
    editorial,
    content,
    sources: [
      new TwoTowerSource(new MergedAnnSearcher(index, fresh)),
      ...(content && opts.recentWatches
        ? [new ContentSource(content.index, content, opts.recentWatches)]
        : []),
    ],
    release: async () => {
      await Promise.all([r.release(), u.release(), it.release(), light?.release()]);
    },
  };
}
