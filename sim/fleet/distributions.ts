/**
 * Service-time distributions of the fleet model, in µs (SIMULATOR-NOTES; issue 13 "service times
 * are distributions"). Each is plain data in a fleet file and becomes a sampler over a named random
 * stream, so a pool's draws do not shift when another pool is added.
 *
 * - `constant`: always `us`;
 * - `exponential`: mean `meanUs` (memoryless; M/M/1 checks use it);
 * - `lognormal`: median `medianUs` and 99th percentile `p99Us` (σ = ln(p99/median) / 2.3263), the
 *   usual shape of measured latencies;
 * - `empirical`: `quantilesUs[i]` is the i/(n−1) quantile, sampled by linear interpolation
 *   (what `reclab calibrate` writes from measured histograms).
 */
import { z } from 'zod';
import type { RandomStream } from '../../core/ports/random.ts';

const us = z.number().nonnegative();

export const DistributionSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('constant'), us }).strict(),
  z.object({ kind: z.literal('exponential'), meanUs: us }).strict(),
  z
    .object({ kind: z.literal('lognormal'), medianUs: z.number().positive(), p99Us: z.number().positive() })
    .strict()
    .refine((d) => d.p99Us >= d.medianUs, { message: 'p99Us must be ≥ medianUs' }),
  z
    .object({ kind: z.literal('empirical'), quantilesUs: z.array(us).min(2) })
    .strict()
    .refine((d) => d.quantilesUs.every((q, i) => i === 0 || q >= d.quantilesUs[i - 1]), {
      message: 'quantilesUs must be non-decreasing',
    }),
]);

export type Distribution = z.infer<typeof DistributionSchema>;

/** z(0.99) of the standard normal. */
const Z99 = 2.3263478740408408;

/** A sampler: one draw in µs (≥ 0) per call. */
export type Sampler = () => number;

/** Turns a distribution into a sampler over `stream`. */
export function samplerOf(d: Distribution, stream: RandomStream): Sampler {
  switch (d.kind) {
    case 'constant': {
      const v = d.us;
      return () => v;
    }
    case 'exponential': {
      const mean = d.meanUs;
      return () => -mean * Math.log(1 - stream.next());
    }
    case 'lognormal': {
      const mu = Math.log(d.medianUs);
      const sigma = Math.log(d.p99Us / d.medianUs) / Z99;
      return () => Math.exp(mu + sigma * stream.normal());
    }
    case 'empirical': {
      const q = d.quantilesUs;
      const last = q.length - 1;
      return () => {
        const x = stream.next() * last;
        const i = Math.floor(x);
        return i >= last ? q[last] : q[i] + (q[i + 1] - q[i]) * (x - i);
      };
    }
  }
}

/** The mean of a distribution, µs (for utilisation estimates and `reclab plan`'s first guess). */
export function meanOf(d: Distribution): number {
  switch (d.kind) {
    case 'constant':
      return d.us;
    case 'exponential':
      return d.meanUs;
    case 'lognormal': {
      const sigma = Math.log(d.p99Us / d.medianUs) / Z99;
      return d.medianUs * Math.exp((sigma * sigma) / 2);
    }
    case 'empirical': {
      const q = d.quantilesUs;
      let s = 0;
      for (let i = 1; i < q.length; i++) s += (q[i] + q[i - 1]) / 2;
      return s / (q.length - 1);
    }
  }
}
