import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/**
 * CPU spent during one phase by the runner (this process: driver, response handling, simulated
 * users; every thread, V8's GC helpers included) and by the core (its process, read from
 * /proc/<pid>/stat), per response of the phase. Issue 10: the lab must stay off the core's CPU
 * (runner ≤ 0.2 ms per request during a measured phase).
 */
export interface PhaseCpu {
  /** Responses the phase received (any status, warm-up window included): the divisor. */
  requests: number;
  /** Wall time from the phase's first slot to the end of its drain, s. */
  wallS: number;
  /** Runner process CPU (user + system), ms, and per request, µs. */
  runnerMs: number;
  runnerUsPerRequest: number;
  /** The runner's system (kernel) share of `runnerMs`, ms: system calls, loopback TCP. */
  runnerSystemMs: number;
  /**
   * CPU of the runner's main thread alone (/proc/self/task/<pid>/stat: user + system, 10 ms
   * ticks), ms and µs per request: the driver, the response handling and the simulated users all
   * run there; the rest of `runnerMs` is V8's helper threads (compilation; with the lab's
   * single-threaded GC, no collection). Absent without /proc.
   */
  runnerMainThreadMs?: number;
  runnerMainThreadUsPerRequest?: number;
  /** Core process CPU (utime + stime from /proc), ms, and per request, µs; absent without /proc. */
  coreMs?: number;
  coreUsPerRequest?: number;
  /** The core's system (kernel) share of `coreMs`, ms. */
  coreSystemMs?: number;
  /**
   * CPU of the core's main thread alone (its event loop: /proc/<pid>/task/<pid>/stat), ms and µs
   * per request. Requests queue for this thread; the rest of `coreMs` is V8's GC and compiler
   * helper threads, which run beside it on a second core (the simulator's calibration needs both).
   */
  coreMainThreadMs?: number;
  coreMainThreadUsPerRequest?: number;
  /**
   * Time the core's main thread was ready to run but waited for a CPU (the run-queue delay of
   * /proc/<pid>/task/<pid>/schedstat), ms: the machine's other work (the runner, Redis, Kafka, the
   * core's helper threads) taking the cores. Divided by `coreMainThreadMs`, it is how much longer a
   * job on the event loop takes than its CPU.
   */
  coreMainThreadRunDelayMs?: number;
  /** Times the main thread was put on a CPU (schedstat's third field): its wake-ups, roughly. */
  coreMainThreadRuns?: number;
  /** Runner CPU spent after the phase scoring its served lists (moved out of the phase), ms. */
  scoringAfterPhaseMs?: number;
  /**
   * The whole machine over the phase, from the first line of /proc/stat (all CPUs, ms): time the
   * CPUs were busy (everything but idle and iowait), and **steal**, time a virtual CPU was ready but
   * the hypervisor ran something else. Steal is outside the lab's control and moves latency between
   * runs of the same code: 0–2% of the 2 vCPUs in calm phases here, 8–24% in three of nine
   * validation runs at 120–200 QPS (docs/simulator.md). `machineStealShare` gives it as a share.
   */
  machineBusyMs?: number;
  machineStealMs?: number;
  /**
   * **Foreign CPU**, ms: the machine's process time (user, nice and system of /proc/stat, all CPUs)
   * less the CPU of the run's own processes (the runner and every process it started — the core,
   * the ranker tier, load processes — and the run's containers, read from /proc at the phase's
   * start and end). What something else on the machine took: another job, a build, kernel
   * threads; docs/performance.md, "The lab's garbage collection, and foreign CPU", for what it
   * did to the core's tail. `foreignCpuShare` gives it as a share. Absent when the run's
   * processes were not given.
   */
  foreignMs?: number;
}

let clockTicksPerS: number | undefined;

/** The kernel's clock tick rate (USER_HZ) for /proc times; 100 when `getconf` is not available. */
function ticksPerS(): number {
  if (clockTicksPerS === undefined) {
    try {
      clockTicksPerS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicksPerS = 100;
    }
  }
  return clockTicksPerS;
}

/**
 * CPU time (user + system, all threads) of process `pid` so far, in ms, from `/proc/<pid>/stat`
 * (fields 14 and 15, clock ticks: 10 ms resolution at USER_HZ 100). Undefined when the process or
 * /proc is not there.
 */
export function processCpuMs(pid: number | undefined): number | undefined {
  return processCpuTimesMs(pid)?.total;
}

/**
 * User, system and total CPU ms of process `pid` (as `processCpuMs`), or with `mainThread` of its
 * main thread only (`/proc/<pid>/task/<pid>/stat`, same fields), and the CPU of the children it
 * has waited for (`cutime` + `cstime`); undefined without /proc.
 */
export function processCpuTimesMs(
  pid: number | undefined,
  mainThread = false,
): { user: number; system: number; total: number; reapedChildren: number } | undefined {
  if (pid === undefined) return undefined;
  let stat: string;
  try {
    stat = readFileSync(mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: split after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so utime (14), stime (15), cutime (16) and cstime (17) are
  // fields[11] to fields[14].
  const [user, system, cuser, csystem] = fields.slice(11, 15).map(Number);
  if (!Number.isFinite(user + system + cuser + csystem)) return undefined;
  const ms = 1000 / ticksPerS();
  return {
    user: user * ms,
    system: system * ms,
    total: (user + system) * ms,
    reapedChildren: (cuser + csystem) * ms,
  };
}

/**
 * Time on a CPU (ms: the first field of `/proc/<pid>/task/<pid>/schedstat`, ns, so finer than
 * `/proc/<pid>/stat`'s ticks), run-queue delay (the second) and times put on a CPU (the third) of
 * the main thread of process `pid` so far. Undefined without /proc or schedstats.
 */
export function mainThreadSchedStat(
  pid: number | undefined,
): { cpuMs: number; delayMs: number; runs: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const f = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ');
    const cpuMs = Number(f[0]) / 1e6;
    const delayMs = Number(f[1]) / 1e6;
    const runs = Number(f[2]);
    return Number.isFinite(cpuMs + delayMs + runs) ? { cpuMs, delayMs, runs } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The machine's busy and steal time so far, ms over all CPUs, from the `cpu` line of /proc/stat
 * (user nice system idle iowait irq softirq steal …, clock ticks); undefined without /proc.
 */
export function machineCpuMs(): { busyMs: number; stealMs: number; processesMs: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    if (f.length < 8 || f.some((x) => !Number.isFinite(x))) return undefined;
    const ms = 1000 / ticksPerS();
    // Busy = every state but idle (f[3]) and iowait (f[4]); guest time is already inside user.
    const busy = f[0] + f[1] + f[2] + f[5] + f[6] + f[7];
    // Time charged to processes (their utime and stime): user, nice, system; not interrupts.
    return { busyMs: busy * ms, stealMs: f[7] * ms, processesMs: (f[0] + f[1] + f[2]) * ms };
  } catch {
    return undefined;
  }
}

/**
 * Steal above which a phase measured the machine's neighbours rather than the core: calm phases
 * here had 0–2%, and one phase at 150 QPS with 19.3% had a p50 of 64 ms against 9 ms at 120 QPS
 * in the same run (docs/simulator.md, 2026-12-07). `reclab calibrate` leaves such a phase out; the
 * benches list such runs and take them again or judge without them.
 */
export const STEAL_SHARE_MAX = 0.05;

/** `ms` of CPU time as a share of the machine's over `wallS` (all CPUs); undefined when either is missing. */
function machineShare(ms: number | undefined, wallS: number): number | undefined {
  return ms === undefined || !(wallS > 0) ? undefined : ms / (wallS * 1000 * cpus().length);
}

/**
 * The share of the machine's CPU time (all CPUs) the hypervisor took during a phase, in [0, 1];
 * undefined when steal was not measured.
 */
export function machineStealShare(cpu: Pick<PhaseCpu, 'machineStealMs' | 'wallS'>): number | undefined {
  return machineShare(cpu.machineStealMs, cpu.wallS);
}

/**
 * Foreign CPU above which a phase measured what else ran on the machine rather than the core
 * (as `STEAL_SHARE_MAX`): 5% of all CPUs, a tenth of a CPU on average on this 2-vCPU machine.
 * The benches and `reclab calibrate` treat such a phase like one with steal.
 */
export const FOREIGN_SHARE_MAX = 0.05;

/**
 * The share of the machine's CPU time (all CPUs) that processes outside the run took during a
 * phase, in [0, 1]; undefined when it was not measured.
 */
export function foreignCpuShare(cpu: Pick<PhaseCpu, 'foreignMs' | 'wallS'>): number | undefined {
  return machineShare(cpu.foreignMs, cpu.wallS);
}

/**
 * Why a phase measured the machine's neighbours rather than the core — the hypervisor took more
 * than `STEAL_SHARE_MAX` of the machine, or processes outside the run more than
 * `FOREIGN_SHARE_MAX` — or undefined when neither did (or neither was measured). The one verdict
 * `reclab calibrate`, `bench/knee.ts` and `bench/sim-validation.ts` apply.
 */
export function disturbance(shares: {
  stealShare?: number | null;
  foreignShare?: number | null;
}): string | undefined {
  const { stealShare, foreignShare } = shares;
  if ((stealShare ?? 0) > STEAL_SHARE_MAX)
    return `the hypervisor took ${(stealShare! * 100).toFixed(1)}% of the machine (steal > ${STEAL_SHARE_MAX * 100}%)`;
  if ((foreignShare ?? 0) > FOREIGN_SHARE_MAX)
    return `processes outside the run took ${(foreignShare! * 100).toFixed(1)}% of the machine (foreign CPU > ${FOREIGN_SHARE_MAX * 100}%)`;
  return undefined;
}

/** CPU ms of this process's children that it has waited for (`processCpuTimesMs`); undefined without /proc. */
export function reapedChildrenMs(): number | undefined {
  return processCpuTimesMs(process.pid)?.reapedChildren;
}

/** CPU ms so far of each pid in `pids` that /proc still has. */
function pidsCpuMs(pids: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    const ms = processCpuMs(pid);
    if (ms !== undefined) out.set(pid, ms);
  }
  return out;
}

/** A started CPU measurement; `stop(requests)` closes it. */
export interface CpuMeter {
  stop(requests: number): PhaseCpu;
}

/**
 * Starts measuring this process's CPU and, when `corePid` is given, the core's. With `ownPids`
 * (the run's processes — this one, its descendants, its containers' — looked up at the start and
 * again at the stop) the stop also gives `foreignMs`. The run's CPU is: for a pid seen at both
 * ends, its difference; for one that appeared during the phase (a driver process such as
 * `vegeta attack`, a restarted container), all of its CPU; for children this process waited for
 * during the phase, their CPU as the kernel adds it to this process's (`cutime`, `cstime`). A pid
 * that was there at the start and ended unwaited (a container's process) is left out, so its CPU
 * counts as foreign.
 */
export function startCpuMeter(corePid: number | undefined, ownPids?: () => readonly number[]): CpuMeter {
  const wall0 = performance.now();
  const runner0 = process.cpuUsage();
  const runnerMain0 = processCpuTimesMs(process.pid, true);
  const core0 = processCpuTimesMs(corePid);
  const coreMain0 = processCpuTimesMs(corePid, true);
  const sched0 = mainThreadSchedStat(corePid);
  const machine0 = machineCpuMs();
  const own0 = ownPids ? pidsCpuMs(ownPids()) : undefined;
  const reaped0 = reapedChildrenMs();
  return {
    stop(requests: number): PhaseCpu {
      const d = process.cpuUsage(runner0);
      const runnerMs = (d.user + d.system) / 1000;
      const runnerMain1 = processCpuTimesMs(process.pid, true);
      const core1 = processCpuTimesMs(corePid);
      const coreMain1 = processCpuTimesMs(corePid, true);
      const sched1 = mainThreadSchedStat(corePid);
      const per = (ms: number) => Number(((ms * 1000) / Math.max(1, requests)).toFixed(1));
      const out: PhaseCpu = {
        requests,
        wallS: Number(((performance.now() - wall0) / 1000).toFixed(3)),
        runnerMs: Number(runnerMs.toFixed(1)),
        runnerUsPerRequest: per(runnerMs),
        runnerSystemMs: Number((d.system / 1000).toFixed(1)),
      };
      if (runnerMain0 !== undefined && runnerMain1 !== undefined) {
        out.runnerMainThreadMs = Number((runnerMain1.total - runnerMain0.total).toFixed(1));
        out.runnerMainThreadUsPerRequest = per(runnerMain1.total - runnerMain0.total);
      }
      if (core0 !== undefined && core1 !== undefined) {
        out.coreMs = Number((core1.total - core0.total).toFixed(1));
        out.coreUsPerRequest = per(core1.total - core0.total);
        out.coreSystemMs = Number((core1.system - core0.system).toFixed(1));
      }
      if (coreMain0 !== undefined && coreMain1 !== undefined) {
        out.coreMainThreadMs = Number((coreMain1.total - coreMain0.total).toFixed(1));
        out.coreMainThreadUsPerRequest = per(coreMain1.total - coreMain0.total);
      }
      if (sched0 !== undefined && sched1 !== undefined) {
        out.coreMainThreadRunDelayMs = Number((sched1.delayMs - sched0.delayMs).toFixed(1));
        out.coreMainThreadRuns = sched1.runs - sched0.runs;
      }
      const machine1 = machineCpuMs();
      if (machine0 !== undefined && machine1 !== undefined) {
        out.machineBusyMs = Number((machine1.busyMs - machine0.busyMs).toFixed(1));
        out.machineStealMs = Number((machine1.stealMs - machine0.stealMs).toFixed(1));
        if (own0 !== undefined) {
          let ownMs = 0;
          for (const [pid, ms] of pidsCpuMs(ownPids!())) ownMs += ms - (own0.get(pid) ?? 0);
          const reaped1 = reapedChildrenMs();
          if (reaped0 !== undefined && reaped1 !== undefined) ownMs += reaped1 - reaped0;
          const foreign = machine1.processesMs - machine0.processesMs - ownMs;
          // Clock ticks of a few processes against the machine's: never below 0.
          out.foreignMs = Number(Math.max(0, foreign).toFixed(1));
        }
      }
      return out;
    },
  };
}
