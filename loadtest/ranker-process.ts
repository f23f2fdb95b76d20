import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { rankerTierEnv } from './lab-env.ts';
import { startService } from './service-process.ts';

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
 * RECLAB_RANKER_TIER_* variables (`env`; RECLAB_RANKER_TIER_REGISTRY_DIR is required; with the OS
 * environment and this process's tier variables, and no other RECLAB_*: loadtest/lab-env.ts), on an
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
  const svc = await startService({
    main: TIER_MAIN,
    env: rankerTierEnv(process.env, {
      RECLAB_RANKER_TIER_HOST: '127.0.0.1',
      RECLAB_RANKER_TIER_PORT: '0',
      ...env,
    }),
    logPath,
    timeoutMs,
    label: 'ranker tier',
    healthPath: '/healthz',
    healthWord: 'healthy',
    startError: (message) => new RankerStartError(message),
  });
  const { url, child, running } = svc;
  return {
    url,
    models: (svc.listening.models as string[] | undefined) ?? [],
    pid: child.pid!,
    child,
    exited: svc.exited,
    stop: svc.stop,
    kill: svc.kill,
    pause: () => {
      if (running()) child.kill('SIGSTOP');
    },
    resume: () => {
      if (running()) child.kill('SIGCONT');
    },
    restart: async (restartTimeoutMs = timeoutMs) => {
      await svc.kill();
      return startRankerTier(
        { ...env, RECLAB_RANKER_TIER_PORT: new URL(url).port },
        logPath,
        restartTimeoutMs,
      );
    },
  };
}
