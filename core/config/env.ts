import type { z } from 'zod';
import { ReclabError } from '../errors.ts';

/**
 * Parses environment variables with a strict zod object schema, reporting every problem at once —
 * unknown variables by name, invalid ones with the schema's message — the way both the core
 * (core/config/config.ts) and the ranker tier (core/ranker-tier/config.ts) report configuration.
 * @throws ReclabError RECLAB_ERR_CONFIG_INVALID listing every problem, one per line
 */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  vars: Record<string, string | undefined>,
): z.infer<S> {
  const parsed = schema.safeParse(vars);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((i) =>
    i.code === 'unrecognized_keys'
      ? `unknown variable(s): ${i.keys.join(', ')}`
      : `${i.path.join('.')}: ${i.message}`,
  );
  throw new ReclabError('RECLAB_ERR_CONFIG_INVALID', `\n  ${lines.join('\n  ')}`);
}
