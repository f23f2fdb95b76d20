import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

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
  const log = createWriteStream(logPath, { flags: 'a' });
  const child = spawn(process.execPath, ['--import', 'tsx', CORE_MAIN], {
    env: { ...process.env, ...env, RECLAB_HOST: '127.0.0.1', RECLAB_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr!.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const listening = new Promise<{ url: string; modelVersion: string }>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      let msg: { event?: string; url?: string; modelVersion?: string } | undefined;
      try {
        msg = JSON.parse(line);
      } catch {
        msg = undefined;
      }
      if (msg?.event === 'listening') resolve({ url: msg.url!, modelVersion: msg.modelVersion! });
      else log.write(`${line}\n`); // anything else on stdout belongs with the logs
    });
    exited.then((code) =>
      reject(new CoreStartError(`core exited with code ${code} before listening; see ${logPath}`)),
    );
    setTimeout(
      () => reject(new CoreStartError(`core not listening after ${timeoutMs} ms; see ${logPath}`)),
      timeoutMs,
    ).unref();
  });

  const stop = async (stopTimeoutMs = 20_000): Promise<number | null> => {
    if (child.exitCode !== null) return child.exitCode;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
    const code = await exited;
    clearTimeout(timer);
    log.end();
    return code;
  };

  try {
    const { url, modelVersion } = await listening;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const res = await fetch(`${url}/readyz`).catch(() => undefined);
      if (res?.status === 200) break;
      if (Date.now() > deadline) throw new CoreStartError(`core at ${url} not ready in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { url, modelVersion, child, stop };
  } catch (err) {
    await stop(2000);
    throw err;
  }
}
