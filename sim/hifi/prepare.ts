/**
 * The inputs of a high-fidelity run (sim/hifi/simulate-high.ts) for a scenario's world: the world
 * and its models as a live run prepares them (loadtest/prepare-world.ts, cached under `cacheDir`,
 * without Redis), the feature store's contents in memory on the virtual clock
 * (sim/hifi/world-data.ts), and the real model set.
 */
import { join } from 'node:path';
import { prepareWorld, readF32 } from '../../loadtest/prepare-world.ts';
import type { ScenarioDefinition } from '../../scenarios/define.ts';
import { ARTIFACT_FILES } from '../models/index.ts';
import { SIM_EPOCH_MS } from '../run/simulate.ts';
import { type HifiInputs, loadHifiModels } from './simulate-high.ts';
import { worldData } from './world-data.ts';

/**
 * Prepares world `seed` at the scenario's size. Call `release()` after the run (ONNX sessions).
 * @throws what prepareWorld and loadArtifacts throw (RECLAB_ERR_ARTIFACT_INVALID, …)
 */
export async function prepareHifi(o: {
  scenario: ScenarioDefinition;
  seed: number;
  cacheDir: string;
  coreEnv: Readonly<Record<string, string>>;
  log: (line: string) => void;
}): Promise<HifiInputs & { release(): Promise<void> }> {
  const prepared = await prepareWorld({
    seed: o.seed,
    users: o.scenario.world.users,
    videos: o.scenario.world.videos,
    cacheDir: o.cacheDir,
    log: o.log,
  });
  const dir = prepared.artifactsDir;
  const records = {
    userRecords: await readF32(join(dir, ARTIFACT_FILES.userRecords)),
    videoRecords: await readF32(join(dir, ARTIFACT_FILES.videoRecords)),
  };
  const data = worldData(prepared.world, records, prepared.info.worldHash, Math.round(SIM_EPOCH_MS / 1000));
  const models = await loadHifiModels(dir, o.coreEnv);
  return {
    world: prepared.world,
    data,
    models,
    editorial: prepared.editorial,
    release: () => models.release(),
  };
}
