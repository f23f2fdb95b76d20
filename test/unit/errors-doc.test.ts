import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERRORS } from '../../core/errors.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const doc = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');

/** Every `RECLAB_ERR_*` code written in the source files under `dirs` (prefixes like `_LOADTEST_*` aside). */
function codesInSources(dirs: string[]): Set<string> {
  const codes = new Set<string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && e.name !== 'out') walk(path);
      } else if (/\.(ts|mjs)$/.test(e.name)) {
        for (const m of readFileSync(path, 'utf8').matchAll(/RECLAB_ERR_[A-Z0-9_]*[A-Z0-9]\b(?!_?\*)/g)) {
          codes.add(m[0]);
        }
      }
    }
  };
  for (const d of dirs) walk(join(ROOT, d));
  return codes;
}

describe('docs/errors.md', () => {
  const rows = new Map(
    [...doc.matchAll(/^\|\s*`(RECLAB_ERR_[A-Z_]+)`\s*\|\s*(\d+)\s*\|\s*(yes|no)\s*\|/gm)].map((m) => [
      m[1],
      { status: Number(m[2]), degrades: m[3] === 'yes' },
    ]),
  );
  /** The table of codes outside the HTTP API: `| code | where | meaning |`. */
  const outside = new Set(
    [
      ...doc.matchAll(
        /^\|\s*`(RECLAB_ERR_[A-Z0-9_]+)`\s*\|\s*(core \(FAISS\)|sim|scenarios|loadtest|reports)\s*\|/gm,
      ),
    ].map((m) => m[1]),
  );

  it('documents every code of core/errors.ts with its status and whether it degrades', () => {
    for (const [code, entry] of Object.entries(ERRORS)) {
      expect(rows.get(code), code).toEqual({ status: entry.status, degrades: entry.degrades });
    }
  });

  it('documents no code the table does not have', () => {
    for (const code of rows.keys()) expect(Object.keys(ERRORS)).toContain(code);
  });

  it("documents every code the core's adapters, the lab and the CLI throw outside the table", () => {
    const inSources = codesInSources(['core', 'loadtest', 'scenarios', 'sim', 'bin', 'reports']);
    const notInTable = [...inSources].filter((c) => !(c in ERRORS)).sort();
    // Sanity: the scan finds the lab's codes (a broken pattern would find none and pass).
    expect(notInTable).toContain('RECLAB_ERR_SCENARIO_INVALID');
    expect(notInTable.filter((c) => !outside.has(c))).toEqual([]);
    // And lists none that no source uses (a retired code stays in git history, not in this page).
    expect([...outside].filter((c) => !inSources.has(c) || c in ERRORS)).toEqual([]);
  });
});
