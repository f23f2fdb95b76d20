/**
 * A single non-preemptive FIFO server: one core replica's event loop, or one Redis shard (both
 * single-threaded). Because service is FIFO and never preempted, a job's completion time is known
 * when it is submitted: `max(now, free at) + cost`. So a job costs one scheduler event (its
 * completion), not two, which is what keeps the simulator above real time at 50K QPS.
 *
 * **Wake-ups.** A job that finds the server idle (submitted strictly after the last job's end) first
 * pays `wakeUpUs`: an event loop that blocked in epoll must be scheduled again, run its timers and
 * poll phase and re-warm its caches before the job's own work. A job submitted while others are
 * queued, or at the instant the previous one ends (a continuation in the same turn), pays none. So
 * the CPU a request costs falls as the load rises and turns share wake-ups, as the live core's does
 * (fleet `replicas.wakeUpUs`; `reclab calibrate` fits it from the main thread's measured wake-ups).
 */
export class FifoServer {
  #freeAtUs = 0;
  readonly #wakeUpUs: number;
  /** Total service time given, wake-ups included, µs (utilisation = busy ÷ elapsed). */
  busyUs = 0;
  /** Jobs that found the server idle. */
  wakeUps = 0;

  /** @param wakeUpUs CPU a job pays when it finds the server idle, µs (≥ 0; 0: none). */
  constructor(wakeUpUs = 0) {
    this.#wakeUpUs = wakeUpUs;
  }

  /** Queues a job of `costUs` at `nowUs`; returns when it completes, µs. */
  submit(nowUs: number, costUs: number): number {
    let start = this.#freeAtUs;
    let cost = costUs;
    if (nowUs > start) {
      start = nowUs;
      this.wakeUps++;
      cost += this.#wakeUpUs;
    }
    const end = start + cost;
    this.#freeAtUs = end;
    this.busyUs += cost;
    return end;
  }

  /** Work queued ahead of a job submitted now, µs. */
  backlogUs(nowUs: number): number {
    return this.#freeAtUs > nowUs ? this.#freeAtUs - nowUs : 0;
  }
}
