import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseScenario, type ScenarioDefinition, ScenarioError } from './define.ts';
import { builtInScenario, scenarioAliases, scenarios } from './index.ts';

/** Kept for callers of the v1 name: the error a bad or missing scenario throws (exit 2). */
export { ScenarioError as ScenarioLoadError } from './define.ts';

/**
 * A built-in scenario by name (or alias: `ranker-outage` → `gpu-outage`), or a user's scenario
 * file by path (anything with a `/` or ending in `.ts`/`.js`): its default export, or its only
 * export that looks like a scenario (has `phases`). The file's scenario is validated again, so a
 * plain object (not made with `defineScenario`) gets the same checks. A `.json` file holds one
 * scenario as data (what `reclab k8s job` puts in its ConfigMap, and what the live runner hands its
 * load processes).
 * @throws ScenarioError RECLAB_ERR_SCENARIO_INVALID (unknown name, unloadable file, invalid scenario:
 *   every problem listed)
 */
export async function loadScenario(nameOrPath: string): Promise<ScenarioDefinition> {
  if (nameOrPath.endsWith('.json')) {
    let value: unknown;
    try {
      value = JSON.parse(await readFile(nameOrPath, 'utf8'));
    } catch (err) {
      throw new ScenarioError(`cannot load scenario file ${nameOrPath}: ${(err as Error).message}`);
    }
    return parseScenario(value, nameOrPath);
  }
  if (!/[/\\]|\.[cm]?[tj]s$/.test(nameOrPath)) {
    const s = builtInScenario(nameOrPath);
    if (!s) {
      const aliases = Object.entries(scenarioAliases).map(([a, n]) => `${a} (= ${n})`);
      throw new ScenarioError(
        `unknown scenario '${nameOrPath}'; known: ${[...Object.keys(scenarios), ...aliases].join(', ')}`,
      );
    }
    return s;
  }
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(resolve(nameOrPath)).href);
  } catch (err) {
    if (err instanceof ScenarioError) throw new ScenarioError(`${nameOrPath}: ${err.message}`);
    const msg = (err as Error).message;
    // Outside a `"type": "module"` package a .ts file is loaded as CommonJS.
    const hint = /require\(\)|ES Module/.test(msg) ? ' (outside this repository, name the file .mts)' : '';
    throw new ScenarioError(`cannot load scenario file ${nameOrPath}: ${msg}${hint}`);
  }
  const candidates = (mod.default ? [mod.default] : Object.values(mod)).filter(
    (v) => typeof v === 'object' && v !== null && Array.isArray((v as { phases?: unknown }).phases),
  );
  if (candidates.length !== 1)
    throw new ScenarioError(
      `${nameOrPath}: expected one exported scenario (with phases), found ${candidates.length}`,
    );
  return parseScenario(candidates[0], nameOrPath);
}
