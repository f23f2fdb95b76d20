/**
 * The state a fault leaves a simulated dependency in (issue 12's fault kinds, as the fleet sees
 * them): `up`; `down` — connections refused, every call fails after one round trip (a stopped
 * container, a killed process); `hang` — calls are accepted and never answered (a paused
 * container, Toxiproxy's timeout toxic); `slow` — service times × `slowFactor` plus
 * `extraLatencyUs` (Toxiproxy's latency toxic, a GPU node under thermal throttling).
 */
export interface Health {
  state: 'up' | 'down' | 'hang' | 'slow';
  slowFactor: number;
  extraLatencyUs: number;
}

export const HEALTHY: Readonly<Health> = Object.freeze({ state: 'up', slowFactor: 1, extraLatencyUs: 0 });
