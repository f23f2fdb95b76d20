import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hasLabGc, LAB_V8_FLAGS } from '../../loadtest/lab-gc.ts';

const LAB_GC = fileURLToPath(new URL('../../loadtest/lab-gc.ts', import.meta.url));

/** Runs a script that calls `ensureLabGc()`, then prints its V8 flags and exits 7. */
function runScript(env: Record<string, string | undefined>) {
  const dir = mkdtempSync(join(tmpdir(), 'lab-gc-'));
  const script = join(dir, 'child.mts');
  writeFileSync(
    script,
    `import { ensureLabGc } from ${JSON.stringify(LAB_GC)};\n` +
      'await ensureLabGc();\n' +
      'process.stdout.write("flags=" + process.execArgv.filter((a) => a.startsWith("--single")).join(",") + ";");\n' +
      'process.exit(7);\n',
  );
  return spawnSync(process.execPath, ['--import', 'tsx', script, 'run', 'x'], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
}

describe('the lab process runs with single-threaded GC (loadtest/lab-gc.ts)', () => {
  it('re-runs the script once with the flags, passing its exit code through', () => {
    const r = runScript({ RECLAB_LAB_GC: undefined });
    // Printed once, by the re-run process only: the first one never goes on.
    expect(r.stdout).toBe(`flags=${LAB_V8_FLAGS.join(',')};`);
    expect(r.status).toBe(7);
  });

  it('keeps V8 default GC with RECLAB_LAB_GC=parallel', () => {
    const r = runScript({ RECLAB_LAB_GC: 'parallel' });
    expect(r.stdout).toBe('flags=;');
    expect(r.status).toBe(7);
  });

  it('knows when the flags are already there', () => {
    expect(hasLabGc(['--single-threaded-gc', '--import', 'tsx'], {})).toBe(true);
    expect(hasLabGc(['--import', 'tsx'], {})).toBe(false);
    expect(hasLabGc([], { RECLAB_LAB_GC: 'parallel' })).toBe(true);
  });
});
