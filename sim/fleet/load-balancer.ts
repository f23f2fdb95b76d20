import type { RandomStream } from '../../core/ports/random.ts';
import type { FleetSpec } from './fleet-spec.ts';

/** What a balancer needs of a replica. */
interface Balanced {
  outstanding: number;
}

/**
 * Picks the replica for each request: `round_robin`; `least_outstanding` (fewest requests in
 * flight, lowest index on ties: Envoy's LEAST_REQUEST with full information); `p2c` — the
 * less loaded of two replicas drawn at random (Mitzenmacher's power of two choices, Envoy's default
 * LEAST_REQUEST), O(1) per request at any fleet size.
 */
export function loadBalancer(
  policy: FleetSpec['replicas']['lb'],
  replicas: readonly Balanced[],
  random: RandomStream,
): () => number {
  const n = replicas.length;
  switch (policy) {
    case 'round_robin': {
      let next = 0;
      return () => {
        const i = next;
        next = next + 1 === n ? 0 : next + 1;
        return i;
      };
    }
    case 'least_outstanding':
      return () => {
        let best = 0;
        for (let i = 1; i < n; i++) if (replicas[i].outstanding < replicas[best].outstanding) best = i;
        return best;
      };
    case 'p2c':
      return () => {
        if (n === 1) return 0;
        const a = random.int(n);
        let b = random.int(n - 1);
        if (b >= a) b++;
        return replicas[b].outstanding < replicas[a].outstanding ? b : a;
      };
  }
}
