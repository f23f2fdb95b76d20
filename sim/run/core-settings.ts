/**
 * The core's pipeline and admission settings for a simulated replica, from the same `RECLAB_*`
 * variables and defaults the deployed core reads (`loadSettings`, core/config/config.ts: the
 * settings without any infrastructure address), so a simulated replica decides with the deployed
 * core's deadlines, breakers, bulkhead and brownout policy.
 */
import { loadSettings } from '../../core/config/config.ts';
import type { PipelineConfig } from '../../core/pipeline/recommend.ts';
import type { BrownoutSettings } from '../../core/resilience/brownout.ts';
import type { BulkheadOptions } from '../../core/resilience/bulkhead.ts';

export interface SimCoreSettings {
  pipeline: PipelineConfig;
  bulkhead: BulkheadOptions;
  brownout: BrownoutSettings;
}

/**
 * @throws ReclabError RECLAB_ERR_CONFIG_INVALID for an unknown or invalid `RECLAB_*` variable
 */
export function simCoreSettings(coreEnv: Readonly<Record<string, string>>): SimCoreSettings {
  const settings = loadSettings(coreEnv);
  return { pipeline: settings.pipeline, bulkhead: settings.bulkhead, brownout: settings.brownout };
}
