/**
 * A single non-preemptive FIFO server: one core replica's event loop, or one Redis shard (both
 * single-threaded). Because service is FIFO and never preempted, a job's completion time is known
 * when it is submitted: `max(now, free at) + cost`. So a job costs one scheduler event (its
 * completion), not two, which is what keeps the simulator above real time at 50K QPS.
 *
 * A job that finds the server idle first pays its wake-up: `wakeCpuUs` of CPU (the loop leaving
 * epoll_wait, libuv's phases, cold caches) and `wakeDelayUs` of waiting for a core (the kernel's
 * run-queue delay when the thread is woken), both measured by `reclab calibrate` from the live
 * core's main thread (/proc schedstat). A busy server pays neither: that is why the live core's CPU
 * per request falls as its rate rises (requests share the loop's wake-ups).
 */
export class FifoServer {
  #freeAtUs = 0;
  /** Total service time given, µs (utilisation = busy ÷ elapsed): jobs and wake-up CPU. */
  busyUs = 0;
  /** Jobs that found the server idle. */
  wakeUps = 0;
  readonly #wakeCpuUs: number;
  readonly #wakeDelayUs: number;

  constructor(wakeCpuUs = 0, wakeDelayUs = 0) {
    this.#wakeCpuUs = wakeCpuUs;
    this.#wakeDelayUs = wakeDelayUs;
  }

  /** Queues a job of `costUs` at `nowUs`; returns when it completes, µs. */
  submit(nowUs: number, costUs: number): number {
    let start = this.#freeAtUs;
    if (nowUs >= start) {
      this.wakeUps++;
      start = nowUs + this.#wakeDelayUs;
      costUs += this.#wakeCpuUs;
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
