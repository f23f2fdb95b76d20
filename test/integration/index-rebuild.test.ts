import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../core/random/seeded-random.ts';
import { rebuildIndex } from '../../sim/index/rebuild-index.ts';

/** An artifact directory with only what the rebuild reads: 4000 clustered unit vectors, 16-d. */
function artifactDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'reclab-index-'));
  const dim = 16;
  const n = 4000;
  const rnd = seededRandom(3).stream('test.vectors');
  const centroids = Array.from({ length: 20 }, () => Array.from({ length: dim }, () => rnd.normal()));
  const v = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = centroids[i % 20];
    let norm = 0;
    for (let d = 0; d < dim; d++) {
      v[i * dim + d] = c[d] + 0.3 * rnd.normal();
      norm += v[i * dim + d] ** 2;
    }
    for (let d = 0; d < dim; d++) v[i * dim + d] /= Math.sqrt(norm);
  }
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ embDim: dim }));
  writeFileSync(join(dir, 'item_embeddings.f32'), Buffer.from(v.buffer));
  return dir;
}

const base = { nprobe: 1, efSearch: 16, queries: 100, seed: 7 };

describe('reclab index rebuild', () => {
  it('saves an index and its card when recall@100 clears the floor', async () => {
    const dir = artifactDir();
    const r = await rebuildIndex({ ...base, dir, factory: 'auto', minRecall: 0.95 });
    expect(r.card.factory).toBe('Flat');
    expect(r.card.recall.mean).toBe(1);
    expect(r.card.query).toBe('items');
    expect(r.saved).toBe(true);
    expect(existsSync(join(dir, 'index.faiss'))).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'index-card.json'), 'utf8')).recall.k).toBe(100);
  });

  it('refuses an index below the floor and leaves the directory untouched', async () => {
    const dir = artifactDir();
    const r = await rebuildIndex({ ...base, dir, factory: 'IVF64,Flat', minRecall: 0.999 });
    expect(r.card.recall.mean).toBeLessThan(0.999);
    expect(r.saved).toBe(false);
    expect(existsSync(join(dir, 'index.faiss'))).toBe(false);
  });
});
