/**
 * `--pin-core` (loadtest/cpu-pinning.ts): the core process alone on the last CPU, every thread of
 * the lab's processes on the others. Checked on real processes through /proc (Cpus_allowed_list):
 * a child standing in for the core (a main thread plus a worker thread) and a second child standing
 * in for the lab; then `unpin` gives the lab every CPU back.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { applyPinning, CpuPinningError, cpuPinningPlan, unpin } from '../../loadtest/cpu-pinning.ts';

const canPin = process.platform === 'linux' && os.availableParallelism() >= 2;

function allowed(pid: number, tid: number): string {
  const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
  return /Cpus_allowed_list:\s*(\S+)/.exec(status)![1];
}
function threads(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map(Number);
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** A Node process with a worker thread, alive until killed; resolves once both threads run. */
async function idleProcess(): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      "const { Worker } = require('node:worker_threads'); new Worker('setInterval(() => {}, 1000)', { eval: true }).on('online', () => console.log('up')); setInterval(() => {}, 1000);",
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  return child;
}

describe('cpuPinningPlan', () => {
  it('gives the last CPU to the core and the others to the lab', () => {
    expect(cpuPinningPlan(2, 'linux')).toEqual({ core: '1', lab: '0' });
    expect(cpuPinningPlan(8, 'linux')).toEqual({ core: '7', lab: '0-6' });
  });

  it('refuses one CPU and non-Linux machines with RECLAB_ERR_PIN_UNAVAILABLE', () => {
    expect(() => cpuPinningPlan(1, 'linux')).toThrow(CpuPinningError);
    expect(() => cpuPinningPlan(1, 'linux')).toThrow(/at least 2 CPUs/);
    expect(() => cpuPinningPlan(4, 'darwin')).toThrow(/needs Linux/);
    try {
      cpuPinningPlan(1, 'linux');
    } catch (err) {
      expect((err as CpuPinningError).code).toBe('RECLAB_ERR_PIN_UNAVAILABLE');
    }
  });
});

describe.runIf(canPin)('applyPinning on live processes', () => {
  it("puts every thread of the core on its CPU, every thread of the lab on the lab's, and unpins", async () => {
    const plan = cpuPinningPlan();
    const core = await idleProcess();
    const lab = await idleProcess();
    const pinned = await applyPinning(plan, { corePid: core.pid!, labPids: [lab.pid!], containers: [] });
    expect(pinned).toEqual({ core: core.pid, lab: [lab.pid] });

    const coreThreads = threads(core.pid!);
    expect(coreThreads.length).toBeGreaterThan(2); // V8's helpers and the worker exist
    for (const tid of coreThreads) expect(allowed(core.pid!, tid)).toBe(plan.core);
    for (const tid of threads(lab.pid!)) expect(allowed(lab.pid!, tid)).toBe(plan.lab);

    await unpin(lab.pid!);
    const all = `0-${os.cpus().length - 1}`;
    for (const tid of threads(lab.pid!)) expect(allowed(lab.pid!, tid)).toBe(all);
  });

  it('skips a process that has exited instead of failing the run', async () => {
    const gone = await idleProcess();
    gone.kill('SIGKILL');
    await new Promise((r) => gone.once('exit', r));
    const pinned = await applyPinning(cpuPinningPlan(), {
      corePid: gone.pid!,
      labPids: [gone.pid!],
      containers: [],
    });
    expect(pinned).toEqual({ core: undefined, lab: [] });
  });
});
