/**
 * The model registry, write side (`reclab models train`): publishes a built artifact directory as
 * `<registryDir>/<version>/` with a model card (core/registry/model-card.ts). The core reads it
 * with core/registry/model-registry.ts.
 *
 * Atomic: files are copied into `<registryDir>/.tmp-<version>-<random>/`, the card is written last,
 * and the directory is renamed into place (one rename(2) on the same file system), so a reader sees
 * a version complete or not at all, and a crash leaves only a `.tmp-…` directory (ignored by
 * readers, removed on failure here).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { currentInputSchema } from '../../core/registry/input-schema.ts';
import {
  MODEL_CARD_FILE,
  MODEL_CARD_FORMAT_VERSION,
  type ModelCard,
} from '../../core/registry/model-card.ts';
import { isVersionName, readModelCard } from '../../core/registry/model-registry.ts';
import { ARTIFACT_FILES, type ArtifactManifest } from '../models/manifest.ts';

/** Training-time records: the world loader needs them, the serving core does not. */
const NOT_PUBLISHED = new Set<string>([ARTIFACT_FILES.userRecords, ARTIFACT_FILES.videoRecords]);

export type RegistryErrorCode = 'RECLAB_ERR_REGISTRY_VERSION_EXISTS' | 'RECLAB_ERR_REGISTRY_VERSION_INVALID';

/** A publish that cannot proceed; callers match on `code`. */
export class RegistryError extends Error {
  readonly code: RegistryErrorCode;

  constructor(code: RegistryErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'RegistryError';
    this.code = code;
  }
}

export interface PublishOptions {
  registryDir: string;
  /** A finished artifact directory (manifest.json, ONNX files, embeddings, editorial.json). */
  sourceDir: string;
  /** Version name; default the manifest's `modelVersion` (`m-<seed>-<hash12>`). */
  version?: string;
  codeVersion: { package: string; gitCommit: string };
  /** ISO 8601 publication time (default now). */
  createdAt?: string;
}

export interface PublishResult {
  card: ModelCard;
  dir: string;
  /** False when the same build was already published under this name (nothing written). */
  created: boolean;
}

/**
 * Publishes `sourceDir` as a registry version.
 * @throws RegistryError RECLAB_ERR_REGISTRY_VERSION_INVALID (bad name),
 *   RECLAB_ERR_REGISTRY_VERSION_EXISTS (the name holds a different build)
 */
export async function publishVersion(opts: PublishOptions): Promise<PublishResult> {
  const manifest = JSON.parse(
    await readFile(join(opts.sourceDir, ARTIFACT_FILES.manifest), 'utf8'),
  ) as ArtifactManifest;
  const version = opts.version ?? manifest.modelVersion;
  if (!isVersionName(version)) {
    throw new RegistryError(
      'RECLAB_ERR_REGISTRY_VERSION_INVALID',
      `'${version}': use [A-Za-z0-9._-], ≤ 128 chars`,
    );
  }
  const dir = join(opts.registryDir, version);
  const existing = await readModelCard(opts.registryDir, version).catch(() => undefined);
  if (existing) {
    // The same name, world and options but other building code (e.g. another EMB_DIM) is another build.
    const same =
      existing.codeVersion.artifacts === manifest.codeVersion &&
      existing.training.worldHash === manifest.worldHash &&
      existing.training.manifestModelVersion === manifest.modelVersion &&
      JSON.stringify(existing.training.options) === JSON.stringify(manifest.options);
    if (same) return { card: existing, dir, created: false };
    throw new RegistryError(
      'RECLAB_ERR_REGISTRY_VERSION_EXISTS',
      `${dir} holds another build; pick a --name`,
    );
  }

  await mkdir(opts.registryDir, { recursive: true });
  const tmp = join(opts.registryDir, `.tmp-${version}-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp);
  try {
    const files: ModelCard['files'] = {};
    const names = (await readdir(opts.sourceDir, { withFileTypes: true }))
      .filter((d) => d.isFile() && !NOT_PUBLISHED.has(d.name))
      .map((d) => d.name)
      .sort();
    for (const name of names) {
      const bytes = await readFile(join(opts.sourceDir, name));
      await writeFile(join(tmp, name), bytes);
      files[name] = { sizeBytes: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') };
    }
    const card: ModelCard = {
      formatVersion: MODEL_CARD_FORMAT_VERSION,
      modelVersion: version,
      createdAt: opts.createdAt ?? new Date().toISOString(),
      codeVersion: { artifacts: manifest.codeVersion, ...opts.codeVersion },
      training: {
        seed: manifest.seed,
        worldHash: manifest.worldHash,
        world: manifest.world,
        manifestModelVersion: manifest.modelVersion,
        options: { ...manifest.options },
        logs: { ...manifest.logs },
      },
      metrics: {
        ...manifest.metrics,
        calibrationEce: calibrationEce(manifest),
        ...(manifest.offlineLists ? { offlineLists: manifest.offlineLists } : {}),
      },
      ...(manifest.ranker?.scoreWeights && manifest.ranker.lightScoreWeights
        ? {
            ranking: {
              scoreFormula: manifest.ranker.scoreFormula,
              scoreWeights: { ...manifest.ranker.scoreWeights },
              lightScoreWeights: { ...manifest.ranker.lightScoreWeights },
              tuning: { ...manifest.ranker.scoreTuning },
            },
          }
        : {}),
      inputSchema: currentInputSchema(manifest.embDim),
      files,
    };
    await writeFile(join(tmp, MODEL_CARD_FILE), `${JSON.stringify(card, null, 2)}\n`);
    await rename(tmp, dir);
    return { card, dir, created: true };
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Expected calibration error (15 bins, Guo et al. 2017) of every probability head, before and after
 * its Platt map, from the build's manifest: `{ "ranker.p_click": { before, after }, … }`. Empty for
 * builds whose manifest has no calibration section.
 */
function calibrationEce(manifest: {
  ranker?: { calibration?: Record<string, { eceBefore: number; eceAfter: number }> };
}): Record<string, { before: number; after: number }> {
  return Object.fromEntries(
    Object.entries(manifest.ranker?.calibration ?? {}).map(([head, c]) => [
      head,
      { before: c.eceBefore, after: c.eceAfter },
    ]),
  );
}
