import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, CORE_VARIABLES, loadConfig } from '../../core/config/config.ts';
import { loadRankerTierConfig } from '../../core/ranker-tier/config.ts';
import { coreEnv, LAB_VARIABLES, rankerTierEnv, unknownReclabVariables } from '../../loadtest/lab-env.ts';

const required = {
  RECLAB_REDIS_URL: 'redis://127.0.0.1:6379',
  RECLAB_KAFKA_BROKERS: '127.0.0.1:9092, 127.0.0.1:9093',
  RECLAB_ARTIFACTS_DIR: '/tmp/a',
};

describe('loadConfig', () => {
  it('applies defaults with units and parses lists, and freezes the result', () => {
    const cfg = loadConfig({ ...required, PATH: '/bin', RECLAB_DEADLINE_RANKING_MS: '75' });
    expect(cfg.deadlines.rankingMs).toBe(75);
    expect(cfg.deadlines.retrievalMs).toBe(30);
    expect(cfg.kafka.brokers).toEqual(['127.0.0.1:9092', '127.0.0.1:9093']);
    expect(cfg.experiments).toEqual([
      {
        id: 'exp_ranking_v1',
        variants: [
          { name: 'control', share: 50 },
          { name: 'treatment', share: 50 },
        ],
      },
    ]);
    // No overrides: every weight of the ranking score comes from the model card (else the defaults).
    expect(cfg.rankingWeights).toEqual({});
    expect(cfg.cascadeTopN).toBe(0);
    expect(cfg.rankerTier).toBeUndefined();
    expect(Object.isFrozen(cfg)).toBe(true);
  });

  it('reads the rate-based breaker settings (docs/fallback.md) and rejects a rate out of range', () => {
    expect(loadConfig(required).breaker).toEqual({
      windowMs: 5000,
      windowBuckets: 10,
      minimumCalls: 100,
      failureRatePct: 50,
      slowCallRatePct: 80,
      openMs: 5000,
      halfOpenCalls: 10,
    });
    const cfg = loadConfig({
      ...required,
      RECLAB_BREAKER_WINDOW_MS: '2000',
      RECLAB_BREAKER_WINDOW_BUCKETS: '20',
      RECLAB_BREAKER_MIN_CALLS: '8',
      RECLAB_BREAKER_FAILURE_RATE_PCT: '25.5',
      RECLAB_BREAKER_SLOW_RATE_PCT: '100',
      RECLAB_BREAKER_OPEN_MS: '500',
      RECLAB_BREAKER_HALF_OPEN_CALLS: '3',
    });
    expect(cfg.breaker).toEqual({
      windowMs: 2000,
      windowBuckets: 20,
      minimumCalls: 8,
      failureRatePct: 25.5,
      slowCallRatePct: 100,
      openMs: 500,
      halfOpenCalls: 3,
    });
    expect(() =>
      loadConfig({ ...required, RECLAB_BREAKER_SLOW_RATE_PCT: '120', RECLAB_BREAKER_WINDOW_BUCKETS: '0' }),
    ).toThrow(
      /RECLAB_BREAKER_WINDOW_BUCKETS[\s\S]*RECLAB_BREAKER_SLOW_RATE_PCT|RECLAB_BREAKER_SLOW_RATE_PCT[\s\S]*RECLAB_BREAKER_WINDOW_BUCKETS/,
    );
    // The consecutive-failure setting is gone: a launcher still passing it learns so at start.
    expect(() => loadConfig({ ...required, RECLAB_BREAKER_FAILURE_THRESHOLD: '5' })).toThrow(
      /RECLAB_BREAKER_FAILURE_THRESHOLD/,
    );
  });

  it('rejects unknown RECLAB_ variables and reports every problem at once', () => {
    let message = '';
    try {
      loadConfig({ ...required, RECLAB_DEADLINE_RANKNG_MS: '5', RECLAB_PORT: '-1', RECLAB_MMR_LAMBDA: '2' });
    } catch (err) {
      expect((err as { code: string }).code).toBe('RECLAB_ERR_CONFIG_INVALID');
      message = (err as Error).message;
    }
    expect(message).toContain('RECLAB_DEADLINE_RANKNG_MS');
    expect(message).toContain('RECLAB_PORT');
    expect(message).toContain('RECLAB_MMR_LAMBDA');
  });

  it('parses layered experiments with variant params, and rejects bad ones with every problem', () => {
    const layers = [
      {
        id: 'exp_weights',
        variants: [
          { name: 'a', share: 1 },
          { name: 'b', share: 1, params: { ranking_weights: { like: 0.5 } } },
        ],
      },
      {
        id: 'exp_model',
        variants: [
          { name: 'old', share: 9 },
          { name: 'new', share: 1, params: { model_version: 'v2' } },
        ],
      },
    ];
    const cfg = loadConfig({
      ...required,
      RECLAB_MODEL_REGISTRY_DIR: '/reg',
      RECLAB_MODEL_VERSION: 'v1',
      RECLAB_ARTIFACTS_DIR: undefined,
      RECLAB_EXPERIMENTS_JSON: JSON.stringify(layers),
      RECLAB_RANKING_WEIGHTS: 'dislike:2,watchTime:1.5,watchBaseline:300',
    });
    expect(cfg.experiments.map((e) => e.id)).toEqual(['exp_weights', 'exp_model']);
    expect(cfg.experiments[0].variants[1].params?.rankingWeights).toEqual({ like: 0.5 });
    expect(cfg.experiments[1].variants[1].params?.modelVersion).toBe('v2');
    expect(cfg.rankingWeights).toEqual({ dislike: 2, watchTime: 1.5, watchBaseline: 300 });
    expect(cfg.rerank.mmrRelevance).toBe('minmax');

    let message = '';
    try {
      loadConfig({
        ...required,
        RECLAB_EXPERIMENT_ID: 'x',
        RECLAB_EXPERIMENTS_JSON: '[{"id":"e","variants":[{"name":"a","share":0}]}]',
        RECLAB_RANKING_WEIGHTS: 'likes:1,watchBaseline:-5',
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('RECLAB_EXPERIMENTS_JSON.0.variants.0.share');
    expect(message).toContain('not both');
    expect(message).toContain(
      "RECLAB_RANKING_WEIGHTS: expected click|watchTime|like|finish|dislike|clickbait|watchBaseline:number,… got 'likes:1'",
    );
    expect(message).toContain("got 'watchBaseline:-5'");
    expect(() => loadConfig({ ...required, RECLAB_MMR_RELEVANCE: 'zscore' })).toThrow(/RECLAB_MMR_RELEVANCE/);
  });

  it('requires the connection settings', () => {
    expect(() => loadConfig({})).toThrow(/RECLAB_REDIS_URL[\s\S]*RECLAB_KAFKA_BROKERS/);
  });
});

describe('docs/configuration.md', () => {
  const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  const LAB_HEADING = '## Variables of the lab and the set-up';
  const [services, lab] = doc.split(LAB_HEADING);
  const names = (text: string) => [...text.matchAll(/^\|\s*`([A-Z][A-Z_0-9]+)`/gm)].map((m) => m[1]).sort();

  it('lists every variable the core and the ranker tier read, and no other', () => {
    expect(lab).toBeDefined();
    expect(names(services)).toEqual([...CONFIG_VARIABLES].sort());
  });

  it("lists the lab's and the set-up's variables as the lab's, none of them the core's", () => {
    expect(names(lab)).toEqual([...LAB_VARIABLES].sort());
    for (const name of ['REDIS_URL', 'KAFKA_BROKERS', 'RECLAB_REDIS_IMAGE', 'RECLAB_KAFKA_IMAGE'])
      expect(LAB_VARIABLES).toContain(name);
    for (const name of LAB_VARIABLES) expect(CONFIG_VARIABLES).not.toContain(name);
  });

  it('knows every RECLAB_* name the scripts read', () => {
    const dir = new URL('../../scripts/', import.meta.url);
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.sh'));
    expect(files.length).toBeGreaterThan(5);
    const used = new Set(
      files.flatMap((f) =>
        [...readFileSync(new URL(f, dir), 'utf8').matchAll(/\bRECLAB_[A-Z0-9_]*[A-Z0-9]\b/g)].map(
          (m) => m[0],
        ),
      ),
    );
    expect(used.has('RECLAB_REDIS_IMAGE')).toBe(true);
    for (const name of used) expect([...LAB_VARIABLES, ...CONFIG_VARIABLES], name).toContain(name);
  });
});

describe('the environment a launcher gives the core and the ranker tier (loadtest/lab-env.ts)', () => {
  const shell = {
    PATH: '/usr/bin',
    HOME: '/root',
    ...Object.fromEntries(LAB_VARIABLES.map((k) => [k, 'lab'])),
    RECLAB_DEADLINE_RANKING_MS: '75',
    RECLAB_RANKER_TIER_MAX_BATCH_ROWS: '600',
  };

  it("passes the core the OS variables and its own, none of the lab's or the tier's, and the core accepts it", () => {
    const env = coreEnv(shell, required);
    expect(env).toMatchObject({
      PATH: '/usr/bin',
      HOME: '/root',
      RECLAB_DEADLINE_RANKING_MS: '75',
      ...required,
    });
    for (const k of Object.keys(env).filter((k) => k.startsWith('RECLAB_')))
      expect(CORE_VARIABLES).toContain(k);
    expect(env.RECLAB_REDIS_IMAGE).toBeUndefined();
    expect(env.RECLAB_RANKER_TIER_MAX_BATCH_ROWS).toBeUndefined();
    // The crash of issue 9: the whole shell's environment stops the core; the allow-listed one does not.
    expect(() => loadConfig({ ...shell, ...required })).toThrow(/RECLAB_REDIS_IMAGE/);
    expect(loadConfig(env).deadlines.rankingMs).toBe(75);
  });

  it("passes the ranker tier only the tier's variables", () => {
    const env = rankerTierEnv(shell, { RECLAB_RANKER_TIER_REGISTRY_DIR: '/reg' });
    const reclab = Object.keys(env).filter((k) => k.startsWith('RECLAB_'));
    expect(reclab.sort()).toEqual(['RECLAB_RANKER_TIER_MAX_BATCH_ROWS', 'RECLAB_RANKER_TIER_REGISTRY_DIR']);
    expect(loadRankerTierConfig(env).batching.maxBatchRows).toBe(600);
  });

  it('refuses an override that is not the service’s, and names unknown RECLAB_* variables', () => {
    expect(() => coreEnv({}, { RECLAB_REDIS_IMAGE: 'x' })).toThrow(/RECLAB_REDIS_IMAGE/);
    expect(unknownReclabVariables({ ...shell, RECLAB_DEADLINE_RANKNG_MS: '5' })).toEqual([
      'RECLAB_DEADLINE_RANKNG_MS',
    ]);
  });
});

describe('resolveFactory (RECLAB_ANN_FACTORY=auto)', () => {
  it('uses exact search for small catalogues and IVF-Flat with ~4·√n lists for large ones', async () => {
    const { resolveFactory } = await import('../../core/artifacts.ts');
    expect(resolveFactory('auto', 10_000)).toBe('Flat');
    expect(resolveFactory('auto', 1_000_000)).toBe('IVF4096,Flat');
    expect(resolveFactory('HNSW32', 10)).toBe('HNSW32');
  });
});
