/**
 * A single non-preemptive FIFO server: one core replica's event loop, or one Redis shard (both
 * single-threaded). Because service is FIFO and never preempted, a job's completion time is known
 * when it is submitted: `max(now, free at) + cost`. So a job costs one scheduler event (its
 * completion), not two, which is what keeps the simulator above real time at 50K QPS.
 */
export class FifoServer {
  #freeAtUs = 0;
  /** Total service time given, µs (utilisation = busy ÷ elapsed). */
  busyUs = 0;
  readonly #stretch: ((nowUs: number) => number) | undefined;

  /**
   * @param stretch factor a job started at a time takes longer (or shorter) than its cost: a
   *   replica's speed at its load (load-profile.ts); none for a Redis shard
   */
  constructor(stretch?: (nowUs: number) => number) {
    this.#stretch = stretch;
  }

  /** Queues a job of `costUs` at `nowUs`; returns when it completes, µs. */
  submit(nowUs: number, costUs: number): number {
    const start = nowUs > this.#freeAtUs ? nowUs : this.#freeAtUs;
    return this.#occupy(start, this.#stretch ? costUs * this.#stretch(start) : costUs);
  }

  /**
   * A synchronous continuation of the job that just completed (called from its callback at
   * `nowUs`): it runs at once, as code after an `await` whose promise is already settled runs in
   * the same turn of the live loop (a microtask), not behind the work queued meanwhile. The jobs
   * already queued keep their completion times and the server's free time moves by the cost, so
   * the CPU is conserved over a busy period: a preemptive priority for continuations, exact when
   * nothing is queued. Returns when it completes.
   */
  submitNext(nowUs: number, costUs: number): number {
    const timeUs = this.#stretch ? costUs * this.#stretch(nowUs) : costUs;
    this.#freeAtUs = (this.#freeAtUs > nowUs ? this.#freeAtUs : nowUs) + timeUs;
    this.busyUs += timeUs;
    return nowUs + timeUs;
  }

  /**
   * Queues a job that takes `timeUs` whatever the server's speed (a GC pause: measured as the
   * time the loop stood still, not as CPU that the load profile scales); returns when it completes.
   */
  submitFixed(nowUs: number, timeUs: number): number {
    return this.#occupy(nowUs > this.#freeAtUs ? nowUs : this.#freeAtUs, timeUs);
  }

  /** Holds the server from `startUs` for `timeUs`; returns the end. */
  #occupy(startUs: number, timeUs: number): number {
    const end = startUs + timeUs;
    this.#freeAtUs = end;
    this.busyUs += timeUs;
    return end;
  }

  /** Work queued ahead of a job submitted now, µs. */
  backlogUs(nowUs: number): number {
    return this.#freeAtUs > nowUs ? this.#freeAtUs - nowUs : 0;
  }
}
