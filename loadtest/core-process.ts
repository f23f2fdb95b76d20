import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startService } from './service-process.ts';

const CORE_MAIN = fileURLToPath(new URL('../core/main.ts', import.meta.url));

export interface CoreProcess {
  url: string;
  modelVersion: string;
  child: ChildProcess;
  /** SIGTERM, then wait for a graceful exit (impressions flushed); SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<number | null>;
}

export class CoreStartError extends Error {
  readonly code = 'RECLAB_ERR_CORE_START';
}

/**
 * Starts the serving core (core/main.ts) as its own process, the way it is deployed: its own event
 * loop and CPU, config only through RECLAB_* variables, on an ephemeral port. Its stderr (pino logs)
 * goes to `logPath`. Resolves once it prints its `listening` line and /readyz answers 200.
 *
 * @throws CoreStartError (code RECLAB_ERR_CORE_START) when it exits or is not ready in `timeoutMs`
 */
export async function startCore(
  env: Record<string, string>,
  logPath: string,
  timeoutMs = 120_000,
): Promise<CoreProcess> {
  const svc = await startService({
    main: CORE_MAIN,
    env: { ...process.env, ...env, RECLAB_HOST: '127.0.0.1', RECLAB_PORT: '0' },
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
    child: svc.child,
    stop: svc.stop,
  };
}
