/**
 * Integration: the core's `OnnxRanker` loads both exported rankers with the same call — the MMoE
 * `ranker.onnx` (required outputs plus p_like / p_finish) and the light
 * `light_ranker.onnx` (required outputs only) — and returns what tfjs computes.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxRanker } from '../../core/adapters/onnx/onnx-models.ts';
import { ReclabError } from '../../core/errors.ts';
import { RANKER_INPUT_DIM } from '../../core/features/schema.ts';
import { seededRandom } from '../../core/random/seeded-random.ts';
import { exportRankerOnnx, predictRanker, type RankerData, trainRanker } from '../../sim/models/index.ts';

let dir: string;

function rows(n: number, seed: number): Float32Array {
  const rng = seededRandom(seed).stream('test.rows');
  return Float32Array.from({ length: n * RANKER_INPUT_DIM }, () => rng.next());
}

const n = 512;
const data: RankerData = {
  rows: n,
  x: rows(n, 1),
  clicked: Uint8Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 1 : 0)),
  watchTimeS: Float32Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 20 + i : 0)),
  position: Uint8Array.from({ length: n }, (_, i) => i % 10),
  liked: Uint8Array.from({ length: n }, (_, i) => (i % 10 === 0 ? 1 : 0)),
  finished: Uint8Array.from({ length: n }, (_, i) => (i % 15 === 0 ? 1 : 0)),
  disliked: Uint8Array.from({ length: n }, (_, i) => (i % 35 === 5 ? 1 : 0)),
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reclab-models-onnx-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('OnnxRanker with the exported rankers', () => {
  it.each([
    ['ranker.onnx', 'mmoe'],
    ['light_ranker.onnx', 'mlp'],
  ] as const)('%s loads through OnnxRanker.load and scores like tfjs', async (file, arch) => {
    const { model } = await trainRanker(data, { seed: 3, epochs: 1, batchSize: 64, arch });
    model.platt.click = { a: 0.9, b: -0.1 };
    const path = join(dir, file);
    await writeFile(path, exportRankerOnnx(model));
    const ranker = await OnnxRanker.load(path, 'm-test', 1);
    try {
      const x = rows(300, 2);
      const got = await ranker.score(x, 300);
      const want = predictRanker(model, x);
      expect(got.pClick).toHaveLength(300);
      for (let i = 0; i < 300; i++) {
        expect(Math.abs(got.pClick[i] - want.pClick[i])).toBeLessThan(1e-4);
        expect(
          Math.abs(got.watchTimeS[i] - want.watchTimeS[i]) / Math.max(1, want.watchTimeS[i]),
        ).toBeLessThan(1e-4);
      }
      if (arch === 'mmoe') {
        expect(ranker.outputNames).toEqual(['p_click', 'watch_time_s', 'p_like', 'p_finish']);
        expect(got.pDislike).toBeUndefined();
        for (const key of ['pLike', 'pFinish'] as const) {
          expect(got[key]).toHaveLength(300);
          for (let i = 0; i < 300; i++) expect(Math.abs(got[key]![i] - want[key]![i])).toBeLessThan(1e-4);
        }
      } else {
        expect(ranker.outputNames).toEqual(['p_click', 'watch_time_s']);
        expect(got.pLike).toBeUndefined();
      }
    } finally {
      await ranker.release();
    }
  });

  it('rejects a model without the required outputs (RECLAB_ERR_ARTIFACT_INVALID)', async () => {
    const path = join(dir, 'missing.onnx');
    await expect(OnnxRanker.load(path, 'm-test', 1)).rejects.toBeInstanceOf(ReclabError);
  });
});
