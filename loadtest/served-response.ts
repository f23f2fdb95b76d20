/** The parts of a 200 recommendation response the lab reads (core/app.ts documents the shape). */
export interface ServedResponse {
  items?: { video_id?: unknown }[];
  meta?: {
    rung?: unknown;
    reasons?: { stage?: unknown; code?: unknown }[];
    /** Wall time of each pipeline stage and `total`, ms (core/pipeline/recommend.ts). */
    timings_ms?: Record<string, unknown>;
  };
}

/**
 * Parses one response body once for everything the runner does with it (quality scoring,
 * degradation reasons, the simulated users' reactions). Undefined when it is not JSON.
 */
export function parseServed(body: Buffer | string): ServedResponse | undefined {
  try {
    const parsed = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
    return parsed !== null && typeof parsed === 'object' ? (parsed as ServedResponse) : undefined;
  } catch {
    return undefined;
  }
}
