import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const TIER_MAIN = fileURLToPath(new URL('../core/ranker-tier/main.ts', import.meta.url));

/** A running ranker tier (core/ranker-tier/main.ts) in its own process, with fault controls. */
export interface RankerProcess {
  /** Base URL, e.g. `http://127.0.0.1:41234`: give it to `RemoteRanker`. */
  url: string;
  /** Versions loaded at start (RECLAB_RANKER_TIER_PRELOAD). */
  models: string[];
  pid: number;
  child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal) once the process has exited. */
  exited: Promise<number | null>;
  /** SIGTERM (queued requests run), then wait for the exit; SIGKILL after `timeoutMs` (default 20 s). */
  stop(timeoutMs?: number): Promise<number | null>;
  /** SIGKILL (a crashed GPU host: connections reset, nothing drained); resolves once it has exited. */
  kill(): Promise<void>;
  /** SIGSTOP: the process keeps its sockets but answers nothing (a stalled GPU host). */
  pause(): void;
  /** SIGCONT after `pause`. */
  resume(): void;
  /**
   * A new tier process on the same port and environment, so clients keep their URL (SIGKILLs this one
   * first if it still runs).
   */
  restart(timeoutMs?: number): Promise<RankerProcess>;
}

/** The tier did not start (exited, or not healthy in time). */
export class RankerStartError extends Error {
  readonly code = 'RECLAB_ERR_RANKER_START';
}

/**
 * Starts the ranker tier as its own process, the way it is deployed: config only through
 * RECLAB_RANKER_TIER_* variables (`env`; RECLAB_RANKER_TIER_REGISTRY_DIR is required), on an
 * ephemeral port unless `env` names one, on 127.0.0.1. Its stderr (pino logs) is appended to
 * `logPath`. Resolves once it prints its `listening` line (after preloading) and GET /healthz
 * answers 200.
 *
 * @throws RankerStartError (code RECLAB_ERR_RANKER_START) when it exits or is not healthy in `timeoutMs`
 */
export async function startRankerTier(
  env: Record<string, string>,
  logPath: string,
  timeoutMs = 60_000,
): Promise<RankerProcess> {
  const log = createWriteStream(logPath, { flags: 'a' });
  const child = spawn(process.execPath, ['--import', 'tsx', TIER_MAIN], {
    env: {
      ...process.env,
      RECLAB_RANKER_TIER_HOST: '127.0.0.1',
      RECLAB_RANKER_TIER_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr!.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  void exited.then(() => log.end());

  const listening = new Promise<{ url: string; models: string[] }>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      let msg: { event?: string; url?: string; models?: string[] } | undefined;
      try {
        msg = JSON.parse(line);
      } catch {
        msg = undefined;
      }
      if (msg?.event === 'listening') resolve({ url: msg.url!, models: msg.models ?? [] });
      else if (log.writable) log.write(`${line}\n`);
    });
    exited.then((code) =>
      reject(new RankerStartError(`ranker tier exited with code ${code} before listening; see ${logPath}`)),
    );
    setTimeout(
      () => reject(new RankerStartError(`ranker tier not listening after ${timeoutMs} ms; see ${logPath}`)),
      timeoutMs,
    ).unref();
  });

  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = async (stopTimeoutMs = 20_000): Promise<number | null> => {
    if (!running()) return exited;
    child.kill('SIGCONT'); // a paused process cannot handle SIGTERM
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
    const { url, models } = await listening;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const res = await fetch(`${url}/healthz`).catch(() => undefined);
      await res?.body?.cancel();
      if (res?.status === 200) break;
      if (Date.now() > deadline)
        throw new RankerStartError(`ranker tier at ${url} not healthy in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return {
      url,
      models,
      pid: child.pid!,
      child,
      exited,
      stop,
      kill,
      pause: () => {
        if (running()) child.kill('SIGSTOP');
      },
      resume: () => {
        if (running()) child.kill('SIGCONT');
      },
      restart: async (restartTimeoutMs = timeoutMs) => {
        await kill();
        return startRankerTier(
          { ...env, RECLAB_RANKER_TIER_PORT: new URL(url).port },
          logPath,
          restartTimeoutMs,
        );
      },
    };
  } catch (err) {
    await stop(2000);
    throw err;
  }
}
