import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config/config.ts';
import { loadRankerTierConfig } from '../../core/ranker-tier/config.ts';
import {
  decodePredictions,
  decodeRows,
  encodePredictions,
  encodeRows,
} from '../../core/ranker-tier/wire-format.ts';

const f32 = (xs: number[]) => Float32Array.from(xs);

describe('ranker tier wire format (RKP1)', () => {
  it('lays out magic, rows, heads mask, then each present head as float32 LE', () => {
    const body = encodePredictions(
      { pClick: f32([0.5, 0.25]), watchTimeS: f32([10, 20]), pFinish: f32([0.1, 0.2]) },
      2,
    );
    expect(body.byteLength).toBe(12 + 3 * 2 * 4);
    expect(Buffer.from(body.subarray(0, 4)).toString('latin1')).toBe('RKP1');
    const view = new DataView(body.buffer, body.byteOffset);
    expect(view.getUint32(4, true)).toBe(2);
    expect(view.getUint32(8, true)).toBe(0b01011); // p_click, watch_time_s, p_finish
    expect(view.getFloat32(12, true)).toBe(0.5);
    expect(view.getFloat32(12 + 8, true)).toBe(10);
    expect(view.getFloat32(12 + 16 + 4, true)).toBeCloseTo(0.2, 6);
  });

  it('round-trips every head, also from an unaligned buffer, and only the first n rows', () => {
    const p = {
      pClick: f32([0.1, 0.2, 0.3, 9]),
      watchTimeS: f32([1, 2, 3, 9]),
      pLike: f32([0.4, 0.5, 0.6, 9]),
      pFinish: f32([0.7, 0.8, 0.9, 9]),
      pDislike: f32([0.01, 0.02, 0.03, 9]),
    };
    const body = encodePredictions(p, 3);
    const unaligned = new Uint8Array(body.byteLength + 1).subarray(1);
    unaligned.set(body);
    const back = decodePredictions(unaligned, 3);
    for (const k of ['pClick', 'watchTimeS', 'pLike', 'pFinish', 'pDislike'] as const) {
      expect(Array.from(back[k]!)).toEqual(Array.from(p[k].subarray(0, 3)));
    }
    const light = decodePredictions(encodePredictions({ pClick: f32([1]), watchTimeS: f32([2]) }, 1), 1);
    expect(light.pLike).toBeUndefined();
  });

  it('rejects malformed replies with RECLAB_ERR_RANKER_INVALID_OUTPUT', () => {
    const good = encodePredictions({ pClick: f32([1, 2]), watchTimeS: f32([3, 4]) }, 2);
    const code = { code: 'RECLAB_ERR_RANKER_INVALID_OUTPUT' };
    expect(() => decodePredictions(good, 3)).toThrow(expect.objectContaining(code)); // row count
    expect(() => decodePredictions(good.subarray(0, good.byteLength - 4), 2)).toThrow(
      expect.objectContaining(code),
    );
    const badMagic = good.slice();
    badMagic[0] = 0;
    expect(() => decodePredictions(badMagic, 2)).toThrow(expect.objectContaining(code));
    const unknownHead = good.slice();
    new DataView(unknownHead.buffer).setUint32(8, 0b100011, true);
    expect(() => decodePredictions(unknownHead, 2)).toThrow(expect.objectContaining(code));
    const noClick = good.slice();
    new DataView(noClick.buffer).setUint32(8, 0b10, true);
    expect(() => decodePredictions(noClick, 2)).toThrow(expect.objectContaining(code));
    expect(() => encodePredictions({ pClick: f32([1]) } as never, 1)).toThrow(expect.objectContaining(code));
  });

  it('request rows: little-endian floats in, exactly rows × width checked', () => {
    const x = f32([1.5, -2, 3, 4, 5, 6]);
    const body = encodeRows(x);
    expect(new DataView(body.buffer, body.byteOffset).getFloat32(4, true)).toBe(-2);
    expect(Array.from(decodeRows(Buffer.from(body), 2, 3))).toEqual(Array.from(x));
    const invalid = { code: 'RECLAB_ERR_REQUEST_INVALID' };
    expect(() => decodeRows(body, 3, 3)).toThrow(expect.objectContaining(invalid));
    expect(() => decodeRows(body, Number.NaN, 3)).toThrow(expect.objectContaining(invalid));
    expect(() => decodeRows(body, 0, 3)).toThrow(expect.objectContaining(invalid));
  });
});

describe('ranker tier config (RECLAB_RANKER_TIER_*)', () => {
  const dir = { RECLAB_RANKER_TIER_REGISTRY_DIR: '/tmp/reg' };

  it('applies defaults, parses the preload list, and ignores other variables', () => {
    const cfg = loadRankerTierConfig(
      {
        ...dir,
        RECLAB_RANKER_TIER_PRELOAD: 'a, b',
        RECLAB_REDIS_URL: 'redis://x',
        RECLAB_RANKER_TIER_URL: 'http://core-side',
      },
      ['RECLAB_RANKER_TIER_URL'],
    );
    expect(cfg).toMatchObject({
      host: '127.0.0.1',
      port: 8090,
      preload: ['a', 'b'],
      maxModels: 2,
      batching: { maxBatchRows: 1200, maxBatchDelayMs: 0, maxInFlightBatches: 1, maxQueueRows: 12000 },
    });
    expect(Object.isFrozen(cfg)).toBe(true);
  });

  it('rejects unknown tier variables and bad values, all at once', () => {
    let message = '';
    try {
      loadRankerTierConfig({ RECLAB_RANKER_TIER_MAX_BATCH_ROW: '5', RECLAB_RANKER_TIER_MAX_MODELS: '9' });
    } catch (err) {
      expect((err as { code: string }).code).toBe('RECLAB_ERR_CONFIG_INVALID');
      message = (err as Error).message;
    }
    expect(message).toContain('RECLAB_RANKER_TIER_MAX_BATCH_ROW');
    expect(message).toContain('RECLAB_RANKER_TIER_MAX_MODELS');
    expect(message).toContain('RECLAB_RANKER_TIER_REGISTRY_DIR');
  });

  it("the core's config ignores the tier's variables in a shared environment", () => {
    expect(() =>
      loadConfig({
        RECLAB_REDIS_URL: 'redis://127.0.0.1:6379',
        RECLAB_KAFKA_BROKERS: '127.0.0.1:9092',
        RECLAB_ARTIFACTS_DIR: '/tmp/a',
        ...dir,
        RECLAB_RANKER_TIER_PORT: '9000',
      }),
    ).not.toThrow();
  });
});
