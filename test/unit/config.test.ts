import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, loadConfig } from '../../core/config/config.ts';

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
    expect(cfg.rankingWeights).toEqual({ like: 0, finish: 0, dislike: 0 });
    expect(cfg.cascadeTopN).toBe(0);
    expect(cfg.rankerTier).toBeUndefined();
    expect(Object.isFrozen(cfg)).toBe(true);
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
      RECLAB_RANKING_WEIGHTS: 'dislike:2',
    });
    expect(cfg.experiments.map((e) => e.id)).toEqual(['exp_weights', 'exp_model']);
    expect(cfg.experiments[0].variants[1].params?.rankingWeights).toEqual({ like: 0.5 });
    expect(cfg.experiments[1].variants[1].params?.modelVersion).toBe('v2');
    expect(cfg.rankingWeights).toEqual({ like: 0, finish: 0, dislike: 2 });

    let message = '';
    try {
      loadConfig({
        ...required,
        RECLAB_EXPERIMENT_ID: 'x',
        RECLAB_EXPERIMENTS_JSON: '[{"id":"e","variants":[{"name":"a","share":0}]}]',
        RECLAB_RANKING_WEIGHTS: 'likes:1',
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('RECLAB_EXPERIMENTS_JSON.0.variants.0.share');
    expect(message).toContain('not both');
    expect(message).toContain("RECLAB_RANKING_WEIGHTS: expected like|finish|dislike:number,… got 'likes:1'");
  });

  it('requires the connection settings', () => {
    expect(() => loadConfig({})).toThrow(/RECLAB_REDIS_URL[\s\S]*RECLAB_KAFKA_BROKERS/);
  });
});

describe('docs/configuration.md', () => {
  it('lists every variable the core reads, and no other', () => {
    const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    const documented = [...doc.matchAll(/^\|\s*`(RECLAB_[A-Z_0-9]+)`/gm)].map((m) => m[1]);
    expect([...documented].sort()).toEqual([...CONFIG_VARIABLES].sort());
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
