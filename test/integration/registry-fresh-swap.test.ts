/**
 * Fresh uploads survive a blue/green model swap (seed 000 §7): a video announced to version A's
 * fresh index is, after activating version B, in B's fresh index, embedded by B's item tower (not
 * A's vector copied), and retrievable through B's merged main + fresh index. Real parts: two
 * registry-style artifact directories (two seeds of one world size, the same ones as
 * registry-hot-swap.test.ts, cached in .reclab/cache), ONNX Runtime towers, FAISS indexes,
 * `ModelSlots` with its default carry-over and the warm-up the core runs; the announcement goes
 * through `indexFreshUploads`, what `POST /v1/videos/fresh` calls after reading the records.
 *
 * The first run builds both worlds' models (1–3 min each on 2 busy cores); later runs take seconds.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Artifacts, loadArtifacts } from '../../core/artifacts.ts';
import {
  VIDEO_FEATURE_DIM,
  VIDEO_RECORD,
  VIDEO_RECORD_LEN,
  videoModelInput,
} from '../../core/features/schema.ts';
import { indexFreshUploads, ModelSlots } from '../../core/registry/model-slots.ts';
import { warmUp } from '../../core/registry/warm-up.ts';
import { FreshIndex, MergedAnnSearcher } from '../../core/retrieval/fresh-index.ts';
import { prepareWorld } from '../../loadtest/prepare-world.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const USERS = 2000;
const VIDEOS = 1500;
const options = { ann: { factory: 'Flat', efSearch: 64, nprobe: 8 }, ortThreads: 1 };

let dirA = '';
let dirB = '';
let slots: ModelSlots<Artifacts> | undefined;
let nowS = 0;
let videoRecords: Float32Array;

beforeAll(async () => {
  const cacheDir = join(ROOT, '.reclab/cache');
  const a = await prepareWorld({ seed: 21, users: USERS, videos: VIDEOS, cacheDir, log: () => {} });
  const b = await prepareWorld({ seed: 22, users: USERS, videos: VIDEOS, cacheDir, log: () => {} });
  dirA = a.artifactsDir;
  dirB = b.artifactsDir;
  nowS = a.world.config.nowS;
  const bytes = await readFile(join(dirA, 'video_records.f32'));
  videoRecords = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}, 600_000);

afterAll(async () => {
  await slots?.close();
});

/** Item-tower input of a new video: catalogue video `like`'s record under a new creator, uploaded now. */
function freshFeatures(like: number): Float32Array {
  const record = videoRecords.slice(like * VIDEO_RECORD_LEN, (like + 1) * VIDEO_RECORD_LEN);
  record[VIDEO_RECORD.creator] = 999_999;
  record[VIDEO_RECORD.uploadTsS] = nowS;
  const out = new Float32Array(VIDEO_FEATURE_DIM);
  videoModelInput(record, nowS, out);
  return out;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

describe('fresh uploads across a model swap', () => {
  it('re-embeds announced fresh videos with the new version’s item tower before the swap', async () => {
    const a = await loadArtifacts(dirA, { ...options, modelVersion: 'blue' });
    slots = new ModelSlots<Artifacts>(a, {
      load: (version) => loadArtifacts(dirB, { ...options, modelVersion: version }),
      warmUp: (set) => warmUp(set, 2),
    });
    const video = VIDEOS; // beyond the catalogue the main indexes were built on
    const features = freshFeatures(3);
    const lease = slots.acquire();
    expect(await indexFreshUploads(slots, lease.models, [video], features)).toEqual(['blue']);
    lease.release();
    const vectorA = Float32Array.from(a.fresh.vectorOf(video)!);

    const swap = await slots.activate('green');
    expect(swap).toMatchObject({ kind: 'activate', from: 'blue', to: 'green' });
    expect(swap.fresh).toMatchObject({ videos: 1, skipped: 0 });
    const b = slots.active;
    expect(b.modelVersion).toBe('green');
    expect(b.fresh).toBeInstanceOf(FreshIndex);
    const vectorB = b.fresh.vectorOf(video);
    expect(vectorB).toBeDefined();
    // B's own tower on the announced features, not A's vector.
    const expected = await b.itemEncoder.encodeBatch(features, 1);
    expect(maxDiff(vectorB!, expected)).toBeLessThan(1e-6);
    expect(maxDiff(vectorB!, vectorA)).toBeGreaterThan(1e-3);
    // Retrievable through B's merged index: its nearest neighbour, among the whole catalogue.
    const found = new MergedAnnSearcher(b.index, b.fresh).search(expected, 10);
    expect(Array.from(found.ids)).toContain(video);

    // Announced while B serves: the standby (A) indexes it too, with A's tower, so a rollback keeps it.
    const second = video + 1;
    const lease2 = slots.acquire();
    expect(await indexFreshUploads(slots, lease2.models, [second], freshFeatures(5))).toEqual([
      'green',
      'blue',
    ]);
    lease2.release();
    const back = slots.rollback();
    expect(back).toMatchObject({ kind: 'rollback', to: 'blue' });
    expect(slots.active.fresh.has(video)).toBe(true);
    const onA = await a.itemEncoder.encodeBatch(freshFeatures(5), 1);
    expect(maxDiff(slots.active.fresh.vectorOf(second)!, onA)).toBeLessThan(1e-6);
  }, 120_000);
});
