import { describe, expect, it } from 'vitest';
import { REGIONS } from '../../core/features/schema.ts';
import { PAGE_COUNT, recommendationBody } from '../../loadtest/recommendation-request.ts';

describe('recommendationBody', () => {
  it('is JSON.stringify of the request object, for every region', () => {
    for (const [k, region] of REGIONS.entries()) {
      const u = k * 4_321 + 7;
      expect(recommendationBody(u, region, PAGE_COUNT)).toBe(
        JSON.stringify({ user_id: `u_${u}`, count: PAGE_COUNT, context: { region } }),
      );
    }
  });
});
