import { baseline } from './baseline.ts';
import { coldStart } from './cold-start.ts';
import type { ScenarioDefinition } from './define.ts';
import { gpuOutage } from './gpu-outage.ts';
import { gpuSlow } from './gpu-slow.ts';
import { kafkaOutage } from './kafka-outage.ts';
import { redisFailure } from './redis-failure.ts';
import { viralSpike } from './viral-spike.ts';

/** Every scenario `reclab run` and `reclab sim` know, by name. */
export const scenarios: Record<string, ScenarioDefinition> = {
  [baseline.name]: baseline,
  [redisFailure.name]: redisFailure,
  [kafkaOutage.name]: kafkaOutage,
  [gpuOutage.name]: gpuOutage,
  [gpuSlow.name]: gpuSlow,
  [viralSpike.name]: viralSpike,
  [coldStart.name]: coldStart,
};

/** Old names that still resolve: `ranker-outage` is gpu-outage's name before issue 12. */
export const scenarioAliases: Record<string, string> = {
  'ranker-outage': gpuOutage.name,
};

/** A built-in scenario by name or alias, or undefined. */
export function builtInScenario(name: string): ScenarioDefinition | undefined {
  return scenarios[name] ?? scenarios[scenarioAliases[name] ?? ''];
}
