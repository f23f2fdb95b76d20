import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ScenarioDefinition } from './define.ts';
import { scenarios } from './index.ts';

/** Thrown when a scenario name is unknown or a scenario file has no scenario (exit 2). */
export class ScenarioLoadError extends Error {
  readonly code = 'RECLAB_ERR_SCENARIO_INVALID';
}

/**
 * A built-in scenario by name, or a user's scenario file by path (anything with a `/` or ending in
 * `.ts`/`.js`): its default export, or its only export that looks like a scenario (has `phases`).
 * @throws ScenarioLoadError RECLAB_ERR_SCENARIO_INVALID
 */
export async function loadScenario(nameOrPath: string): Promise<ScenarioDefinition> {
  if (!/[/\\]|\.[cm]?[tj]s$/.test(nameOrPath)) {
    const s = scenarios[nameOrPath];
    if (!s)
      throw new ScenarioLoadError(
        `unknown scenario '${nameOrPath}'; known: ${Object.keys(scenarios).join(', ')}`,
      );
    return s;
  }
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(resolve(nameOrPath)).href);
  } catch (err) {
    throw new ScenarioLoadError(`cannot load scenario file ${nameOrPath}: ${(err as Error).message}`);
  }
  const candidates = (mod.default ? [mod.default] : Object.values(mod)).filter(
    (v): v is ScenarioDefinition =>
      typeof v === 'object' && v !== null && Array.isArray((v as ScenarioDefinition).phases),
  );
  if (candidates.length !== 1)
    throw new ScenarioLoadError(
      `${nameOrPath}: expected one exported scenario (with phases), found ${candidates.length}`,
    );
  return candidates[0];
}
