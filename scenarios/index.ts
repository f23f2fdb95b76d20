import { baseline } from './baseline.ts';
import type { ScenarioDefinition } from './define.ts';
import { kafkaOutage } from './kafka-outage.ts';
import { rankerOutage } from './ranker-outage.ts';
import { redisFailure } from './redis-failure.ts';

/** Every scenario `reclab run` knows, by name. */
export const scenarios: Record<string, ScenarioDefinition> = {
  [baseline.name]: baseline,
  [redisFailure.name]: redisFailure,
  [kafkaOutage.name]: kafkaOutage,
  [rankerOutage.name]: rankerOutage,
};
