/**
 * A single non-preemptive FIFO server: one core replica's event loop, or one Redis shard (both
 * single-threaded). Because service is FIFO and never preempted, a job's completion time is known
 * when it is submitted: `max(now, free at) + cost`. So a job costs one scheduler event (its
 * completion), not two, which is what keeps the simulator above real time at 50K QPS.
 *
 * **Run-queue delay.** With `wakeDelay`, a job that finds the server idle (submitted strictly after
 * the last job's end) starts only after a delay drawn from it: an event loop blocked in epoll is
 * put back on a CPU by the OS scheduler, and on a machine it shares (with the load generator, Redis,
 * Kafka, the ranker tier, V8's helper threads) it first waits in the run queue. The delay holds the
 * server (nothing else runs on that loop meanwhile) but is not CPU: `busyUs` leaves it out. Work
 * submitted while others are queued, or at the instant the previous job ends (a continuation in the
 * same turn), waits for none. Fleet `replicas.runQueueDelayUs`; `reclab calibrate` measures it.
 */
export class FifoServer {
  #freeAtUs = 0;
  readonly #wakeDelay: (() => number) | undefined;
  /** Total service time given, µs (utilisation = busy ÷ elapsed); run-queue delays left out. */
  busyUs = 0;
  /** Jobs that found the server idle. */
  wakeUps = 0;

  /** @param wakeDelay draws the run-queue delay of a job that finds the server idle, µs (≥ 0). */
  constructor(wakeDelay?: () => number) {
    this.#wakeDelay = wakeDelay;
  }

  /** Queues a job of `costUs` at `nowUs`; returns when it completes, µs. */
  submit(nowUs: number, costUs: number): number {
    let start = this.#freeAtUs;
    if (nowUs > start) {
      this.wakeUps++;
      start = nowUs + (this.#wakeDelay ? Math.round(this.#wakeDelay()) : 0);
    }
    const end = start + costUs;
    this.#freeAtUs = end;
    this.busyUs += costUs;
    return end;
  }

  /** Work queued ahead of a job submitted now, µs. */
  backlogUs(nowUs: number): number {
    return this.#freeAtUs > nowUs ? this.#freeAtUs - nowUs : 0;
  }
}
