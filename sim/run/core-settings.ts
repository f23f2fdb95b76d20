/**
 * The core's pipeline and admission settings for a simulated replica, from the same `RECLAB_*`
 * variables and defaults the deployed core reads (core/config/config.ts), so a simulated replica
 * decides with the deployed core's deadlines, breakers and bulkhead.
 *
 * The core's config also requires infrastructure addresses (Redis, Kafka) and a model location that a simulation does
 * not have; they are filled with placeholders that nothing dials. (Issue 13 asks for the
 * pipeline's settings to be buildable without them; this one function is what changes then.)
 */
import { loadConfig, pipelineConfigOf } from '../../core/config/config.ts';
import type { PipelineConfig } from '../../core/pipeline/recommend.ts';
import type { BulkheadOptions } from '../../core/resilience/bulkhead.ts';

const PLACEHOLDERS = {
  RECLAB_REDIS_URL: 'redis://simulated.invalid:6379',
  RECLAB_KAFKA_BROKERS: 'simulated.invalid:9092',
  RECLAB_ARTIFACTS_DIR: '/simulated/artifacts',
};

export interface SimCoreSettings {
  pipeline: PipelineConfig;
  bulkhead: BulkheadOptions;
}

/**
 * @throws ReclabError RECLAB_ERR_CONFIG_INVALID for an unknown or invalid `RECLAB_*` variable
 */
export function simCoreSettings(coreEnv: Readonly<Record<string, string>>): SimCoreSettings {
  const cfg = loadConfig({ ...coreEnv, ...PLACEHOLDERS });
  return { pipeline: pipelineConfigOf(cfg), bulkhead: cfg.bulkhead };
}
