import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config/config.ts';

const conn = { RECLAB_REDIS_URL: 'redis://127.0.0.1:6379', RECLAB_KAFKA_BROKERS: '127.0.0.1:9092' };

describe('model source configuration', () => {
  it('serves a registry version, or one artifact directory (with an optional registry to swap from)', () => {
    const reg = loadConfig({ ...conn, RECLAB_MODEL_REGISTRY_DIR: '/r', RECLAB_MODEL_VERSION: 'v1' });
    expect(reg.models).toEqual({ artifactsDir: undefined, registryDir: '/r', version: 'v1' });
    const dir = loadConfig({ ...conn, RECLAB_ARTIFACTS_DIR: '/a', RECLAB_MODEL_REGISTRY_DIR: '/r' });
    expect(dir.models).toEqual({ artifactsDir: '/a', registryDir: '/r', version: undefined });
  });

  it('rejects a missing or contradictory model source', () => {
    const code = (env: Record<string, string>) => {
      try {
        loadConfig({ ...conn, ...env });
      } catch (err) {
        return `${(err as { code: string }).code} ${(err as Error).message}`;
      }
      return 'ok';
    };
    expect(code({})).toMatch(/RECLAB_ERR_CONFIG_INVALID[\s\S]*RECLAB_ARTIFACTS_DIR or RECLAB_MODEL_VERSION/);
    expect(code({ RECLAB_MODEL_VERSION: 'v1' })).toMatch(/needs RECLAB_MODEL_REGISTRY_DIR/);
    expect(
      code({ RECLAB_MODEL_VERSION: 'v1', RECLAB_MODEL_REGISTRY_DIR: '/r', RECLAB_ARTIFACTS_DIR: '/a' }),
    ).toMatch(/not both/);
    expect(code({ RECLAB_ARTIFACTS_DIR: '/a', RECLAB_ADMIN_TOKEN: 'short' })).toMatch(/RECLAB_ADMIN_TOKEN/);
  });
});
