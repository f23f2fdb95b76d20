/**
 * The state a fault leaves a simulated dependency in (issue 12's fault kinds, as the fleet sees
 * them): `up`; `down` — connections refused, every call fails after one round trip (a stopped
 * container, a killed process); `hang` — calls are accepted and never answered (a paused
 * container, Toxiproxy's timeout toxic); `slow` — service times × `slowFactor` plus
 * `extraLatencyUs` ± `jitterUs` (uniform; Toxiproxy's latency toxic, a GPU node under thermal
 * throttling); `invalid` — calls are answered on time with unusable output (a ranker's NaN scores).
 */
export interface Health {
  state: 'up' | 'down' | 'hang' | 'slow' | 'invalid';
  slowFactor: number;
  extraLatencyUs: number;
  /** Half-width of a uniform jitter around `extraLatencyUs`, µs (0: none). */
  jitterUs?: number;
}

export const HEALTHY: Readonly<Health> = Object.freeze({ state: 'up', slowFactor: 1, extraLatencyUs: 0 });
