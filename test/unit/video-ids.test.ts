/**
 * Video ids have one canonical form (issue 9, item 8): `v_` + decimal digits without leading zeros,
 * within the int32 catalogue range. `Number()` used to accept `v_`, `v_0x10`, `v_1.0`, `v_1e300`,
 * so fresh-upload announcements indexed aliases of one video.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_VIDEO_INDEX, parseVideoIndex, VIDEO_ID_PATTERN, videoIdOf } from '../../core/features/ids.ts';

describe('parseVideoIndex', () => {
  it('reads canonical ids', () => {
    expect(parseVideoIndex('v_0')).toBe(0);
    expect(parseVideoIndex('v_7')).toBe(7);
    expect(parseVideoIndex('v_1234567')).toBe(1_234_567);
    expect(parseVideoIndex(`v_${MAX_VIDEO_INDEX}`)).toBe(MAX_VIDEO_INDEX);
  });

  it('rejects every other spelling', () => {
    for (const id of [
      'v_',
      'v_0x10',
      'v_1.0',
      'v_1e300',
      'v_1e3',
      'v_007',
      'v_00',
      'v_-1',
      'v_+1',
      'v_ 1',
      'v_1 ',
      'v_Infinity',
      'v_NaN',
      'v_١',
      'v_１',
      `v_${MAX_VIDEO_INDEX + 1}`,
      'v_99999999999',
      'V_1',
      'u_1',
      '1',
      '',
    ]) {
      expect(parseVideoIndex(id), id).toBe(-1);
    }
  });

  it('round-trips with videoIdOf and agrees with VIDEO_ID_PATTERN on any string', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_VIDEO_INDEX }), (v) => parseVideoIndex(videoIdOf(v)) === v),
      { seed: 9 },
    );
    const pattern = new RegExp(VIDEO_ID_PATTERN);
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.stringMatching(/^v_[0-9a-z.+-]{0,12}$/)),
        (id) => parseVideoIndex(id) >= 0 === (pattern.test(id) && Number(id.slice(2)) <= MAX_VIDEO_INDEX),
      ),
      { seed: 9, numRuns: 2000 },
    );
  });
});
