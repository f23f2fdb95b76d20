/**
 * The core's HTTP app over in-memory fixtures (test/helpers/core-fixtures.ts), with every optional
 * route present: /metrics, fault injection, the events route (a publisher that keeps what it is given) and
 * fresh uploads (an item tower and a fresh index; the feature store knows no video). For tests of the HTTP layer: limits, auth, errors, timeouts, fuzzing.
 */
import { buildApp } from '../../core/app.ts';
import { ReclabError } from '../../core/errors.ts';
import type { AdminAccess } from '../../core/http/admin-access.ts';
import type { ServerTimeouts } from '../../core/http/server-timeouts.ts';
import { CoreMetrics } from '../../core/observability/metrics.ts';
import type { Clock } from '../../core/ports/clock.ts';
import type { SwappableModelSet } from '../../core/registry/model-slots.ts';
import type { StreamEvent } from '../../core/streaming/events.ts';
import { fakeModelSet, fixtureCore } from './core-fixtures.ts';

/** fakeModelSet with an item tower and a fresh index, so POST /v1/videos/fresh reaches its end. */
function modelSetWithFreshIndex(version: string): SwappableModelSet {
  const vectors = new Map<number, Float32Array>();
  return {
    ...fakeModelSet(version),
    fresh: {
      vectorOf: (video) => vectors.get(video),
      add: (video, vector) => vectors.set(video, vector).size,
    },
    itemEncoder: { encodeBatch: async (_features, n) => new Float32Array(n * 2) },
  };
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimer: (ms, fn) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

/**
 * Builds the app; `published` collects every event batch the events route accepted. Model `blue`
 * serves; `green` is the one other version that loads.
 */
export async function buildTestApp(opts: { admin?: AdminAccess; timeouts?: ServerTimeouts } = {}) {
  const published: StreamEvent[][] = [];
  const core = await fixtureCore({
    clock: realClock,
    experiments: [{ id: 'e', variants: [{ name: 'control', share: 1 }] }],
    faultInjection: true,
    metrics: new CoreMetrics(),
    models: {
      initial: modelSetWithFreshIndex('blue'),
      // Only `green` is in the "registry".
      load: async (v) => {
        if (v !== 'green') throw new ReclabError('RECLAB_ERR_MODEL_VERSION_UNKNOWN', v);
        return modelSetWithFreshIndex(v);
      },
    },
    events: {
      publish: async (events) => {
        published.push([...events]);
      },
    },
  });
  const app = buildApp(core, { logLevel: 'silent', admin: opts.admin, timeouts: opts.timeouts });
  return { app, published };
}
