import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { promisify } from 'node:util';
import { getContainerRuntimeClient, type StartedTestContainer } from 'testcontainers';
import { descendantPids } from './proc-tree.ts';

const run = promisify(execFile);

/**
 * Which CPUs the core's event loop and the lab get with `--pin-core` (issue 10, "the lab off the
 * core's CPU"; issue 13, the simulated replica is one event loop on a CPU of its own).
 */
export interface CpuPinning {
  /**
   * The core process, every thread, alone, e.g. `"1"`: its event loop with its own helpers (V8's
   * GC and compiler threads, libuv's pool), as a replica deployed with one CPU. (Its main thread
   * alone on the CPU, the helpers with the lab, was tried: the event loop then waited for its GC
   * helpers on the lab's busy CPU and cost 8.1 ms a request at 50 QPS against 5.2–6.0 unpinned.)
   */
  core: string;
  /** Everything else the run started, e.g. `"0"`: the runner (driver, simulated users), the ranker tier, Redis and Kafka. */
  lab: string;
}

export class CpuPinningError extends Error {
  readonly code = 'RECLAB_ERR_PIN_UNAVAILABLE';
}

/**
 * The split for a machine with `cpus` CPUs (all of them, whatever this process's own affinity: a
 * runner pinned by an earlier run must not see one CPU): the last one for the core, the others for
 * the lab. Linux CPU lists (`taskset -c`): `"0-2"`, `"0"`.
 * @throws CpuPinningError (RECLAB_ERR_PIN_UNAVAILABLE) with fewer than 2 CPUs or off Linux
 */
export function cpuPinningPlan(cpus: number = os.cpus().length, platform = process.platform): CpuPinning {
  if (platform !== 'linux') throw new CpuPinningError(`--pin-core needs Linux (taskset), not ${platform}`);
  if (!(cpus >= 2)) throw new CpuPinningError(`--pin-core needs at least 2 CPUs; this machine has ${cpus}`);
  const last = cpus - 1;
  return { core: String(last), lab: last === 1 ? '0' : `0-${last - 1}` };
}

/** What one `apply` pinned: process ids by role, for the log and the summary. */
export interface PinnedProcesses {
  core: number | undefined;
  lab: number[];
}

/** The processes one run pins, looked up again at each `apply` (a restarted container has a new pid). */
export interface PinTargets {
  corePid: number | undefined;
  /** The ranker tier, the runner itself (`process.pid`), any helper process of the lab. */
  labPids: number[];
  containers: StartedTestContainer[];
}

/** Host pid of a running container's init (undefined when the engine does not say). */
export async function containerRootPid(c: StartedTestContainer): Promise<number | undefined> {
  const engine = await getContainerRuntimeClient();
  const info = (await engine.container.getById(c.getId()).inspect()) as { State?: { Pid?: number } };
  return info.State?.Pid || undefined;
}

/** Host pids of every process in a running container: its init and all of its descendants. */
async function containerPids(c: StartedTestContainer): Promise<number[]> {
  const root = await containerRootPid(c);
  return root ? descendantPids(root) : [];
}

/** `taskset -p -c <cpus> <pid>`, with `-a` for every thread of the process; a vanished pid is skipped. */
async function taskset(cpus: string, pid: number, allThreads: boolean): Promise<boolean> {
  // `taskset -a` on a pid that has gone pins no thread and still exits 0.
  if (!existsSync(`/proc/${pid}/task`)) return false;
  try {
    await run('taskset', [...(allThreads ? ['-a'] : []), '-p', '-c', cpus, String(pid)]);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new CpuPinningError('--pin-core needs taskset (util-linux) on PATH');
    return false; // the process (or a thread) ended between the lookup and the call
  }
}

/**
 * Pins the run's processes to `plan`: every thread of the lab's processes and of the containers to
 * `plan.lab`, every thread of the core to `plan.core`. Called at each phase's start, because a
 * restarted container has new processes. Processes that end meanwhile are skipped.
 * @throws CpuPinningError (RECLAB_ERR_PIN_UNAVAILABLE) when taskset is missing
 */
export async function applyPinning(plan: CpuPinning, t: PinTargets): Promise<PinnedProcesses> {
  const lab = [...t.labPids];
  for (const c of t.containers) lab.push(...(await containerPids(c).catch(() => [])));
  const pinned: number[] = [];
  for (const pid of lab) if (await taskset(plan.lab, pid, true)) pinned.push(pid);
  const core = t.corePid !== undefined && (await taskset(plan.core, t.corePid, true)) ? t.corePid : undefined;
  return { core, lab: pinned };
}

/** Gives process `pid` (every thread) every CPU of the machine again: the runner after a pinned run. */
export async function unpin(pid: number, cpus: number = os.cpus().length): Promise<void> {
  await taskset(cpus === 1 ? '0' : `0-${cpus - 1}`, pid, true);
}
