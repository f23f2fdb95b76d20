import { spawn } from 'node:child_process';

/**
 * V8 flags of the lab's load-driving processes (`reclab run`, `reclab calibrate`, `reclab load`,
 * the live benches). `--single-threaded-gc`: the runner's garbage collection runs on its own
 * thread only, never on V8's helper threads.
 *
 * Why (issue 10, "the lab off the core's CPU"; docs/performance.md, "The lab's garbage
 * collection, and foreign CPU"): the runner holds the world and its ground truth, 97–121 MB of live
 * heap. Its major collections (every 22–32 s at 120 requests/s) and idle-time scavenges ran V8's
 * parallel and concurrent helpers beside the runner's main thread, so the runner took 0.9–1.4 CPUs
 * for 100–200 ms. On this 2-vCPU machine that left the core's event loop waiting, and the core
 * took 60–110 ms over the requests of those moments instead of about 5. With the flag the runner
 * takes at most one CPU; its own pauses show in the driver's send lag (`sendLagMs`), not as a
 * slower core.
 *
 * `RECLAB_LAB_GC=parallel` keeps V8's default (e.g. to measure the difference).
 */
export const LAB_V8_FLAGS: readonly string[] = ['--single-threaded-gc'];

/** Whether this process already runs with the lab's V8 flags, or was told to keep V8's default. */
export function hasLabGc(execArgv: readonly string[], env: Record<string, string | undefined>): boolean {
  return env.RECLAB_LAB_GC === 'parallel' || LAB_V8_FLAGS.every((f) => execArgv.includes(f));
}

/**
 * Runs this script again in a child process with `LAB_V8_FLAGS` (V8 reads its GC threading at
 * start-up: `v8.setFlagsFromString` afterwards moved only part of the helper threads' work, and
 * `NODE_OPTIONS` refuses the flag), unless it already has them. The child inherits stdio, the
 * environment and the arguments; SIGINT and SIGTERM are passed on; this process exits with the
 * child's code (1 when the child was killed by a signal). Resolves only when nothing was re-run.
 */
export async function ensureLabGc(): Promise<void> {
  if (hasLabGc(process.execArgv, process.env)) return;
  const child = spawn(process.execPath, [...LAB_V8_FLAGS, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
  await new Promise<never>(() => {
    child.on('exit', (code) => process.exit(code ?? 1));
    child.on('error', (err) => {
      process.stderr.write(`reclab: cannot start the lab process: ${err.message}\n`);
      process.exit(1);
    });
  });
}
