/**
 * The per-phase CPU meter (loadtest/phase-cpu.ts): /proc/<pid>/stat read right (it agrees with
 * process.cpuUsage for this process), per-request figures, no core figures without a pid.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  foreignCpuShare,
  machineCpuMs,
  processCpuMs,
  reapedChildrenMs,
  startCpuMeter,
} from '../../loadtest/phase-cpu.ts';
import { descendantPids } from '../../loadtest/proc-tree.ts';

/** Spins until this thread has used `ms` of CPU (not wall time: the machine may be shared). */
function burn(ms: number): void {
  const t0 = process.cpuUsage();
  let x = 0;
  for (;;) {
    for (let i = 0; i < 10_000; i++) x += Math.sqrt(x + i);
    const d = process.cpuUsage(t0);
    if ((d.user + d.system) / 1000 >= ms) break;
  }
  if (x < 0) throw new Error('unreachable');
}

describe('phase CPU meter', () => {
  it('reads a process CPU time from /proc that agrees with process.cpuUsage', () => {
    const proc0 = processCpuMs(process.pid);
    const own0 = process.cpuUsage();
    burn(300);
    const proc1 = processCpuMs(process.pid);
    const own = process.cpuUsage(own0);
    expect(proc0).toBeDefined();
    const ownMs = (own.user + own.system) / 1000;
    expect(ownMs).toBeGreaterThan(200);
    // /proc counts clock ticks (10 ms at USER_HZ 100); other threads of this process may add a little.
    expect(proc1! - proc0!).toBeGreaterThan(ownMs - 30);
    expect(proc1! - proc0!).toBeLessThan(ownMs + 100);
  });

  it("counts this process's CPU in the machine's busy time, and steal apart from it", () => {
    const m0 = machineCpuMs();
    const meter = startCpuMeter(undefined);
    burn(300);
    const cpu = meter.stop(1);
    const m1 = machineCpuMs();
    expect(m0).toBeDefined();
    // The machine was busy at least while this thread spun (10 ms ticks), whatever else ran.
    expect(m1!.busyMs - m0!.busyMs).toBeGreaterThan(250);
    expect(cpu.machineBusyMs).toBeGreaterThan(250);
    // Steal is part of busy here, never more than it, and never negative.
    expect(cpu.machineStealMs).toBeGreaterThanOrEqual(0);
    expect(cpu.machineStealMs!).toBeLessThanOrEqual(cpu.machineBusyMs!);
  });

  it('is undefined for no pid or a pid that does not exist', () => {
    expect(processCpuMs(undefined)).toBeUndefined();
    expect(processCpuMs(2 ** 30)).toBeUndefined();
  });

  it('gives CPU per request for the runner, and for the core only with its pid', () => {
    const meter = startCpuMeter(process.pid);
    burn(100);
    const cpu = meter.stop(50);
    expect(cpu.requests).toBe(50);
    expect(cpu.runnerMs).toBeGreaterThan(80);
    // Both figures are rounded (0.1 ms, 0.1 µs): within 0.1 ms ÷ 50 requests.
    expect(Math.abs(cpu.runnerUsPerRequest - (cpu.runnerMs * 1000) / 50)).toBeLessThanOrEqual(2.1);
    expect(cpu.coreMs).toBeGreaterThan(50);
    // The burn ran on this process's main thread (vitest's forks pool): its CPU is the main thread's.
    expect(cpu.runnerMainThreadMs).toBeGreaterThan(70);
    expect(cpu.runnerMainThreadMs!).toBeLessThanOrEqual(cpu.runnerMs + 20);
    expect(
      Math.abs(cpu.runnerMainThreadUsPerRequest! - (cpu.runnerMainThreadMs! * 1000) / 50),
    ).toBeLessThanOrEqual(2.1);
    const noCore = startCpuMeter(undefined).stop(0);
    expect(noCore.coreMs).toBeUndefined();
    expect(noCore.runnerUsPerRequest).toBeGreaterThanOrEqual(0);
  });

  it("counts a process outside the run's as foreign CPU, and the same process as the run's when given", async () => {
    // A child that spins for 600 ms of CPU, then exits.
    const child = spawn(process.execPath, [
      '-e',
      'const t=process.cpuUsage();let x=0;while(true){for(let i=0;i<1e5;i++)x+=Math.sqrt(i);const d=process.cpuUsage(t);if(d.user+d.system>6e5)break}',
    ]);
    const done = new Promise((r) => child.on('exit', r));
    expect(descendantPids(process.pid)).toContain(child.pid);
    // Two meters over the same window: the child is foreign to one, the run's own to the other.
    const foreign = startCpuMeter(undefined, () => [process.pid]);
    const own = startCpuMeter(undefined, () => [process.pid, child.pid!]);
    await new Promise((r) => setTimeout(r, 400));
    const a = foreign.stop(1);
    const b = own.stop(1);
    await done;
    expect(a.foreignMs).toBeDefined();
    // The child ran ≈ 400 ms in the window (a CPU of its own on this 2-CPU machine, or less when
    // shared): the difference is its CPU, whatever else the machine ran.
    expect(a.foreignMs! - b.foreignMs!).toBeGreaterThan(150);
    expect(foreignCpuShare(a)).toBeGreaterThan(0);
    expect(startCpuMeter(undefined).stop(1).foreignMs).toBeUndefined();
  });

  it("counts a process that started during the phase as the run's, from its first tick", async () => {
    // Two meters over one window; to one, this process's descendants are its own (looked up at
    // both ends), to the other only this process. The child starts after both meters, spins
    // 300 ms of CPU and stays alive past the stop, as a driver process started by a phase does.
    const withChildren = startCpuMeter(undefined, () => descendantPids(process.pid));
    const selfOnly = startCpuMeter(undefined, () => [process.pid]);
    const child = spawn(process.execPath, [
      '-e',
      'const t=process.cpuUsage();let x=0;while(true){for(let i=0;i<1e5;i++)x+=Math.sqrt(i);const d=process.cpuUsage(t);if(d.user+d.system>3e5)break}process.stdout.write("done");setTimeout(()=>{},2000)',
    ]);
    await new Promise((r) => child.stdout.once('data', r));
    const a = withChildren.stop(1);
    const b = selfOnly.stop(1);
    child.kill();
    expect(b.foreignMs! - a.foreignMs!).toBeGreaterThan(200);
  });

  it("counts the CPU of children this process waited for (the kernel's cutime and cstime)", async () => {
    const before = reapedChildrenMs();
    const child = spawn(process.execPath, [
      '-e',
      'const t=process.cpuUsage();let x=0;while(true){for(let i=0;i<1e5;i++)x+=Math.sqrt(i);const d=process.cpuUsage(t);if(d.user+d.system>3e5)break}',
    ]);
    await new Promise((r) => child.on('exit', r));
    expect(reapedChildrenMs()! - before!).toBeGreaterThan(250);
  });
});
