import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { coreEnv, labAdminToken } from './lab-env.ts';
import { startService } from './service-process.ts';

const CORE_MAIN = fileURLToPath(new URL('../core/main.ts', import.meta.url));

export interface CoreProcess {
  url: string;
  modelVersion: string;
  /** The core's RECLAB_ADMIN_TOKEN: send `authorization: Bearer <adminToken>` to /admin/* and POST /v1/videos/fresh. */
  adminToken: string;
  child: ChildProcess;
  /** Resolves with the exit code (null when a signal ended it) once the process has exited. */
  exited: Promise<number | null>;
  /**
   * SIGTERM, then wait for the graceful exit (impressions and events flushed); SIGKILL after
   * `timeoutMs` (default 20 s, above the core's own bound RECLAB_SHUTDOWN_TIMEOUT_MS + 2 s).
   * @returns the exit code: 0 clean stop, 4 records dropped, 1 crash or overrun, null when killed
   */
  stop(timeoutMs?: number): Promise<number | null>;
}

export class CoreStartError extends Error {
  readonly code = 'RECLAB_ERR_CORE_START';
}

/**
 * Starts the serving core (core/main.ts) as its own process, the way it is deployed: its own event
 * loop and CPU, config only through RECLAB_* variables, on 127.0.0.1 and an ephemeral port. It gets
 * the OS environment and exactly its own RECLAB_* variables (loadtest/lab-env.ts): those of this
 * process, overridden by `env` (core variables only). Its admin token is `env`'s, else this
 * process's RECLAB_ADMIN_TOKEN, else `labAdminToken(0)`. Its stderr (pino logs) goes to `logPath`.
 * Resolves once it prints its `listening` line and /readyz answers 200.
 *
 * @throws CoreStartError (code RECLAB_ERR_CORE_START) when it exits or is not ready in `timeoutMs`
 */
export async function startCore(
  env: Record<string, string>,
  logPath: string,
  timeoutMs = 120_000,
): Promise<CoreProcess> {
  const adminToken = env.RECLAB_ADMIN_TOKEN ?? process.env.RECLAB_ADMIN_TOKEN ?? labAdminToken(0);
  const svc = await startService({
    main: CORE_MAIN,
    env: coreEnv(process.env, {
      ...env,
      RECLAB_ADMIN_TOKEN: adminToken,
      RECLAB_HOST: '127.0.0.1',
      RECLAB_PORT: '0',
    }),
    logPath,
    timeoutMs,
    label: 'core',
    healthPath: '/readyz',
    healthWord: 'ready',
    startError: (message) => new CoreStartError(message),
  });
  return {
    url: svc.url,
    modelVersion: svc.listening.modelVersion as string,
    adminToken,
    child: svc.child,
    exited: svc.exited,
    stop: svc.stop,
  };
}
