/**
 * Waiting for a CPU (issue 13, "Validation against live"): on a machine it shares, the live core's
 * event loop is often ready to run while another process has the CPU. schedstat measures it per
 * phase (loadtest/phase-cpu.ts `coreMainThreadRunDelayMs`): on this project's 2-vCPU machine the
 * main thread waited 0.24–0.36 µs per µs of CPU at 50 QPS and 0.10–0.11 at 150 (docs/simulator.md),
 * beside Redis, Kafka and the load runner. A simulated replica has a CPU of its own, so without
 * this it runs every job too fast at low rates and its p50 misses the live one by that share.
 *
 * The model is mean-field: each CPU job of a replica takes `cost × (1 + w(λ))`, where λ is the
 * replica's arrival rate over the last second of virtual time and w the measured wait per µs of CPU
 * at that rate, interpolated linearly between calibrated rates and held flat outside them. The
 * wait is time, not CPU: the replica's utilisation then counts it as busy, as the live loop's
 * lag does. A replica with a core of its own (the fleet a capacity plan sizes) has no such wait:
 * the default profile's table is empty.
 */

/** One calibrated point: at `rateQps` (requests/s reaching the replica), µs waited per µs of CPU. */
export interface RunQueuePoint {
  rateQps: number;
  waitPerCpu: number;
}

/** Buckets of the arrival-rate window, and their width: 10 × 100 ms = the last second. */
const BUCKETS = 10;
const BUCKET_US = 100_000;

/**
 * Arrivals of one replica over the last second of virtual time, in fixed buckets (no per-request
 * memory). Deterministic: it reads only the times it is given.
 */
export class ArrivalRate {
  readonly #counts = new Float64Array(BUCKETS);
  /** Index (time ÷ BUCKET_US) of the newest bucket written. */
  #newest = 0;
  #sum = 0;

  /** Counts one arrival at `nowUs`. */
  add(nowUs: number): void {
    this.#advance(nowUs);
    this.#counts[this.#newest % BUCKETS]++;
    this.#sum++;
  }

  /**
   * Arrivals per second over the last second before `nowUs`, at 100 ms resolution (the current
   * bucket and the 9 before it; over the time elapsed at the very start).
   */
  perSecond(nowUs: number): number {
    this.#advance(nowUs);
    const spanUs = Math.min(BUCKETS * BUCKET_US, Math.max(BUCKET_US, nowUs + 1));
    return (this.#sum * 1e6) / spanUs;
  }

  #advance(nowUs: number): void {
    const idx = Math.floor(nowUs / BUCKET_US);
    if (idx <= this.#newest) return;
    // Empty every bucket between the newest written and now (at most all of them).
    const steps = Math.min(BUCKETS, idx - this.#newest);
    for (let k = 1; k <= steps; k++) {
      const b = (this.#newest + k) % BUCKETS;
      this.#sum -= this.#counts[b];
      this.#counts[b] = 0;
    }
    this.#newest = idx;
  }
}

/**
 * `w(λ)`: the table's wait per µs of CPU at rate `rateQps`, linear between points (sorted by rate),
 * the nearest point's outside them; 0 for an empty table.
 */
export function waitPerCpuAt(table: readonly RunQueuePoint[], rateQps: number): number {
  if (table.length === 0) return 0;
  if (rateQps <= table[0].rateQps) return table[0].waitPerCpu;
  for (let i = 1; i < table.length; i++) {
    const b = table[i];
    if (rateQps <= b.rateQps) {
      const a = table[i - 1];
      return a.waitPerCpu + ((b.waitPerCpu - a.waitPerCpu) * (rateQps - a.rateQps)) / (b.rateQps - a.rateQps);
    }
  }
  return table[table.length - 1].waitPerCpu;
}

/** The factor a replica's CPU jobs are stretched by now: `1 + w(λ)` (1 without a table). */
export function runQueueStretch(
  table: readonly RunQueuePoint[],
  rate: ArrivalRate,
): (nowUs: number) => number {
  if (table.length === 0) return () => 1;
  return (nowUs) => 1 + waitPerCpuAt(table, rate.perSecond(nowUs));
}
