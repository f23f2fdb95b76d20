import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * The `runScenario` options every live test shares: seed 7, Testcontainers, the shell's
 * environment, reports under a fresh temporary directory named `<prefix>…`, the repository's model
 * cache, and the run's log lines on stdout (indented) unless `quiet`. Tests add the scenario, the
 * world size and the scaling.
 */
export function liveRunOptions(prefix: string, opts: { quiet?: boolean } = {}) {
  return {
    seed: 7,
    infra: 'testcontainers' as const,
    env: process.env,
    outRoot: mkdtempSync(join(tmpdir(), prefix)),
    cacheDir: resolve('.reclab/cache'),
    log: opts.quiet ? () => {} : (line: string) => process.stdout.write(`    ${line}\n`),
  };
}
