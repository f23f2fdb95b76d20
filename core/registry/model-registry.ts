import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ReclabError } from '../errors.ts';
import { MODEL_CARD_FILE, type ModelCard, parseModelCard } from './model-card.ts';

/**
 * The on-disk model registry (seed 000 §7), read side: one directory per version,
 * `<registryDir>/<modelVersion>/` holding the files `loadArtifacts` reads and `model-card.json`.
 * Versions are published by renaming a finished temporary directory (`.tmp-…`, ignored here), so a
 * version directory is either complete or absent.
 */

/** Version names: a letter or digit, then letters, digits, `.`, `_`, `-`; at most 128 characters. */
const VERSION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** True when `name` can name a registry version (no path separators, no leading dot). */
export function isVersionName(name: string): boolean {
  return VERSION_NAME.test(name) && !name.includes('..');
}

/**
 * The directory of `version` in `registryDir`, after checking it holds a model card.
 * @throws ReclabError RECLAB_ERR_MODEL_VERSION_UNKNOWN for a bad name or a version not published
 */
export async function versionDir(registryDir: string, version: string): Promise<string> {
  if (!isVersionName(version)) {
    throw new ReclabError('RECLAB_ERR_MODEL_VERSION_UNKNOWN', `'${version}' is not a version name`);
  }
  const dir = join(registryDir, version);
  const ok = await stat(join(dir, MODEL_CARD_FILE)).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!ok) throw new ReclabError('RECLAB_ERR_MODEL_VERSION_UNKNOWN', `${version} is not in ${registryDir}`);
  return dir;
}

/**
 * Reads the model card of `version`.
 * @throws ReclabError RECLAB_ERR_MODEL_VERSION_UNKNOWN (not published), RECLAB_ERR_ARTIFACT_INVALID
 *   (card unreadable or malformed)
 */
export async function readModelCard(registryDir: string, version: string): Promise<ModelCard> {
  const dir = await versionDir(registryDir, version);
  let card: ModelCard | undefined;
  try {
    card = parseModelCard(JSON.parse(await readFile(join(dir, MODEL_CARD_FILE), 'utf8')));
  } catch (err) {
    throw new ReclabError(
      'RECLAB_ERR_ARTIFACT_INVALID',
      `${dir}/${MODEL_CARD_FILE}: ${(err as Error).message}`,
    );
  }
  if (!card) throw new ReclabError('RECLAB_ERR_ARTIFACT_INVALID', `${dir}/${MODEL_CARD_FILE} is malformed`);
  return card;
}

/**
 * Every published version with its card, oldest first (by `createdAt`, then name). Directories
 * without a readable card are skipped. A registry directory that does not exist is empty.
 */
export async function listVersions(registryDir: string): Promise<ModelCard[]> {
  let names: string[];
  try {
    names = (await readdir(registryDir, { withFileTypes: true }))
      .filter((d) => d.isDirectory() && isVersionName(d.name))
      .map((d) => d.name);
  } catch {
    return [];
  }
  const cards = await Promise.all(names.map((n) => readModelCard(registryDir, n).catch(() => undefined)));
  return cards
    .filter((c): c is ModelCard => c !== undefined)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.modelVersion.localeCompare(b.modelVersion));
}
