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
    expect(cfg.experiment.variants).toEqual([
      { name: 'control', share: 50 },
      { name: 'treatment', share: 50 },
    ]);
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
