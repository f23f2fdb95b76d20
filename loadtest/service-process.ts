import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';

/** How to start one service entry point (core/main.ts, core/ranker-tier/main.ts) as a child process. */
export interface ServiceSpec {
  /** Absolute path of the entry module, run as `node --import tsx <main>`. */
  main: string;
  /** The child's whole environment (loadtest/lab-env.ts: the OS's variables and the service's own). */
  env: NodeJS.ProcessEnv;
  /** The child's stderr, and any stdout line other than `listening`, are appended here. */
  logPath: string;
  /** Budget, ms, for the `listening` line and, separately, for the health route to answer 200. */
  timeoutMs: number;
  /** Name used in error messages, e.g. `core`, `ranker tier`. */
  label: string;
  /** Route polled (every 100 ms) after `listening`, e.g. `/readyz`. */
  healthPath: string;
  /** Word for the health state in the timeout message, e.g. `ready`, `healthy`. */
  healthWord: string;
  /** Builds the coded start error (e.g. RECLAB_ERR_CORE_START) thrown on early exit or timeout. */
  startError(message: string): Error;
}

/** The `listening` line a service prints on stdout once it accepts connections. */
export interface ListeningLine {
  event: 'listening';
  url: string;
  [field: string]: unknown;
}

/** A started service process. */
export interface ServiceProcess {
  /** Base URL from the `listening` line. */
  url: string;
  /** The whole parsed `listening` line (service-specific fields such as `modelVersion`, `models`). */
  listening: ListeningLine;
  child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal) once the process has exited. */
  exited: Promise<number | null>;
  /** True while the process has neither exited nor been killed by a signal. */
  running(): boolean;
  /** SIGCONT (a paused process cannot handle SIGTERM), SIGTERM, wait for the exit; SIGKILL after `timeoutMs` (default 20 s). */
  stop(timeoutMs?: number): Promise<number | null>;
  /** SIGKILL; resolves once the process has exited. */
  kill(): Promise<void>;
}

/**
 * Spawns `node --import tsx <main>` with `spec.env`, pipes its stderr to `spec.logPath`, waits for
 * its JSON `{"event":"listening","url":…}` stdout line, then polls `<url><healthPath>` until it
 * answers 200. On failure the child is stopped (2 s grace) before the error is thrown.
 *
 * @throws the error from `spec.startError` when the child exits before listening, does not print
 *   `listening` within `timeoutMs`, or its health route does not answer 200 within `timeoutMs`
 */
export async function startService(spec: ServiceSpec): Promise<ServiceProcess> {
  const { label, logPath, timeoutMs } = spec;
  const log = createWriteStream(logPath, { flags: 'a' });
  // RECLAB_CPU_PROFILE_DIR (docs/performance.md, "Profiling a run"): each service writes a V8 CPU
  // profile there when it exits; Node refuses --cpu-prof in NODE_OPTIONS, so it goes on the command line.
  const profileDir = process.env.RECLAB_CPU_PROFILE_DIR;
  const profile = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', spec.main], {
    env: spec.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr!.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  void exited.then(() => log.end());

  const listening = new Promise<ListeningLine>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      let msg: Partial<ListeningLine> | undefined;
      try {
        msg = JSON.parse(line);
      } catch {
        msg = undefined;
      }
      if (msg?.event === 'listening') resolve(msg as ListeningLine);
      else if (log.writable) log.write(`${line}\n`); // anything else on stdout belongs with the logs
    });
    exited.then((code) =>
      reject(spec.startError(`${label} exited with code ${code} before listening; see ${logPath}`)),
    );
    setTimeout(
      () => reject(spec.startError(`${label} not listening after ${timeoutMs} ms; see ${logPath}`)),
      timeoutMs,
    ).unref();
  });

  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = async (stopTimeoutMs = 20_000): Promise<number | null> => {
    if (!running()) return exited;
    child.kill('SIGCONT');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  const kill = async (): Promise<void> => {
    if (running()) child.kill('SIGKILL');
    await exited;
  };

  try {
    const line = await listening;
    const { url } = line;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const res = await fetch(`${url}${spec.healthPath}`).catch(() => undefined);
      await res?.body?.cancel();
      if (res?.status === 200) break;
      if (Date.now() > deadline)
        throw spec.startError(`${label} at ${url} not ${spec.healthWord} in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { url, listening: line, child, exited, running, stop, kill };
  } catch (err) {
    await stop(2000);
    throw err;
  }
}
