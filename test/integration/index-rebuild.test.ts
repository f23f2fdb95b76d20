import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type AnnBuildProgress, AnnIndex } from '../../core/adapters/faiss/faiss-index.ts';
import { seededRandom } from '../../core/random/seeded-random.ts';
import { rebuildIndex } from '../../sim/index/rebuild-index.ts';
import { progressFactory } from '../../sim/progress.ts';

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

  it('reports build progress: the train stage, then chunked adds with done/total, rate and ETA', async () => {
    const dir = artifactDir();
    const items = new Float32Array(readFileSync(join(dir, 'item_embeddings.f32')).buffer.slice(0));
    const events: AnnBuildProgress[] = [];
    AnnIndex.build(items, 16, { factory: 'IVF32,Flat', metric: 'ip', onProgress: (e) => events.push(e) });
    expect(events[0]).toEqual({ stage: 'train', rows: 4000, finished: false, elapsedS: 0 });
    expect(events[1]).toMatchObject({ stage: 'train', rows: 4000, finished: true });
    const adds = events.slice(2);
    expect(adds.every((e) => e.stage === 'add')).toBe(true);
    const done = adds.map((e) => (e.stage === 'add' ? e.done : -1));
    expect(done.at(-1)).toBe(4000);
    for (let i = 1; i < done.length; i++) expect(done[i]).toBeGreaterThan(done[i - 1]!);
    const last = adds.at(-1)!;
    expect(last).toMatchObject({ stage: 'add', total: 4000, etaS: 0 });
    if (last.stage === 'add') expect(last.ratePerS).toBeGreaterThan(0);

    // Through `reclab index rebuild`: CI lines for the index's train and add stages and the Flat reference.
    const chunks: string[] = [];
    const stream = { isTTY: false, write: (c: string) => chunks.push(c) > 0 };
    await rebuildIndex({
      ...base,
      dir,
      factory: 'IVF32,Flat',
      minRecall: 0,
      progress: progressFactory({ stream, env: { CI: 'true' } }),
    });
    const lines = chunks.join('').trim().split('\n');
    expect(lines[0]).toBe('index.train: training on 4000 rows');
    expect(lines[1]).toMatch(/^index\.train: 1 steps in [\d.]+ s/);
    expect(lines[2]).toMatch(/^index\.add: 4000 rows in [\d.]+ s \(\d+\/s\)$/);
    expect(lines[3]).toMatch(/^index\.flat\.add: 4000 rows in /);
    expect(lines).toHaveLength(4);
  });
});
