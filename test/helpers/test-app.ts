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
import { Breakers } from '../../core/pipeline/recommend.ts';
import type { Clock } from '../../core/ports/clock.ts';
import { seededRandom } from '../../core/random/seeded-random.ts';
import { ModelSlots, type SwappableModelSet } from '../../core/registry/model-slots.ts';
import { FaultInjector } from '../../core/resilience/fault-injection.ts';
import type { StreamEvent } from '../../core/streaming/events.ts';
import { emptyFeatureStore, fakeModelSet, pipelineConfig, pipelineDeps } from './core-fixtures.ts';

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
export function buildTestApp(opts: { admin?: AdminAccess; timeouts?: ServerTimeouts } = {}) {
  const cfg = pipelineConfig([{ id: 'e', variants: [{ name: 'control', share: 1 }] }]);
  const published: StreamEvent[][] = [];
  const faults = new FaultInjector(realClock, seededRandom(1).stream('faults'));
  const slots = new ModelSlots(modelSetWithFreshIndex('blue'), {
    // Only `green` is in the "registry".
    load: async (v) => {
      if (v !== 'green') throw new ReclabError('RECLAB_ERR_MODEL_VERSION_UNKNOWN', v);
      return modelSetWithFreshIndex(v);
    },
    warmUp: async () => {},
  });
  const app = buildApp(
    pipelineDeps(realClock, emptyFeatureStore, faults),
    slots,
    cfg,
    new Breakers(realClock, [], cfg.breaker),
    { ready: true, draining: false },
    {
      logLevel: 'silent',
      metrics: new CoreMetrics(),
      admin: opts.admin,
      timeouts: opts.timeouts,
      events: {
        publish: async (events) => {
          published.push([...events]);
        },
      },
    },
  );
  return { app, published };
}
