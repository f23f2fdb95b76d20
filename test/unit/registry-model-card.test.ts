import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CORE_RANKER_INPUT_DIM,
  RANKER_INPUT_DIM,
  USER_FEATURE_DIM,
  VIDEO_FEATURE_DIM,
} from '../../core/features/schema.ts';
import { currentInputSchema } from '../../core/registry/input-schema.ts';
import { listVersions, versionDir } from '../../core/registry/model-registry.ts';
import { publishVersion } from '../../sim/registry/publish.ts';

describe('model card input schema', () => {
  it('names every column of the towers and the ranker, once, in the encoders’ widths', () => {
    const s = currentInputSchema(32);
    expect(s.userTower.names).toHaveLength(USER_FEATURE_DIM);
    expect(s.itemTower.names).toHaveLength(VIDEO_FEATURE_DIM);
    expect(s.ranker.names).toHaveLength(RANKER_INPUT_DIM);
    expect(new Set(s.ranker.names).size).toBe(RANKER_INPUT_DIM);
    expect(s.ranker.names[CORE_RANKER_INPUT_DIM - 1]).toBe('two_tower_affinity');
    expect(s.ranker.names.at(-1)).toBe('user.sub_cat_share[video.category]');
  });
});

describe('registry publish and read', () => {
  it('publishes atomically with a card, is idempotent for the same build, and lists versions', async () => {
    const root = await mkdtemp(join(tmpdir(), 'reclab-registry-'));
    try {
      const src = join(root, 'build');
      const { mkdir } = await import('node:fs/promises');
      await mkdir(src);
      const manifest = {
        codeVersion: 'artifacts-x',
        modelVersion: 'm-3-abcdef012345',
        worldHash: 'abcdef0123456789',
        seed: 3,
        world: { users: 10, videos: 5, nowS: 1000 },
        embDim: 4,
        options: { sessions: 100, epochs: 1, maxTwoTowerPairs: 1, maxRankerSessions: 1 },
        logs: { sessions: 100, impressions: 1, clicks: 1, historySessions: 1, trainSessions: 1 },
        metrics: { clickAuc: 0.7, twoTowerRecall100: 0.3 },
        ranker: { calibration: { 'ranker.p_click': { a: 1, b: 0, eceBefore: 0.02, eceAfter: 0.01 } } },
      };
      await writeFile(join(src, 'manifest.json'), JSON.stringify(manifest));
      await writeFile(join(src, 'ranker.onnx'), 'x');
      await writeFile(join(src, 'user_records.f32'), 'training only');
      const reg = join(root, 'registry');
      const code = { package: '0', gitCommit: 'g' };
      const a = await publishVersion({
        registryDir: reg,
        sourceDir: src,
        codeVersion: code,
        createdAt: '2026-01-01T00:00:00Z',
      });
      expect(a.created).toBe(true);
      expect(Object.keys(a.card.files).sort()).toEqual(['manifest.json', 'ranker.onnx']);
      const card = JSON.parse(await readFile(join(a.dir, 'model-card.json'), 'utf8'));
      expect(card).toMatchObject({
        modelVersion: 'm-3-abcdef012345',
        training: { seed: 3 },
        metrics: { clickAuc: 0.7, calibrationEce: { 'ranker.p_click': { before: 0.02, after: 0.01 } } },
      });
      const again = await publishVersion({ registryDir: reg, sourceDir: src, codeVersion: code });
      expect(again.created).toBe(false);
      await publishVersion({
        registryDir: reg,
        sourceDir: src,
        version: 'b',
        codeVersion: code,
        createdAt: '2026-01-02T00:00:00Z',
      });
      expect((await listVersions(reg)).map((c) => c.modelVersion)).toEqual(['m-3-abcdef012345', 'b']);
      await expect(
        publishVersion({ registryDir: reg, sourceDir: src, version: '../x', codeVersion: code }),
      ).rejects.toMatchObject({ code: 'RECLAB_ERR_REGISTRY_VERSION_INVALID' });
      await expect(versionDir(reg, '../build')).rejects.toMatchObject({
        code: 'RECLAB_ERR_MODEL_VERSION_UNKNOWN',
      });
      await expect(versionDir(reg, 'zzz')).rejects.toMatchObject({
        code: 'RECLAB_ERR_MODEL_VERSION_UNKNOWN',
      });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
