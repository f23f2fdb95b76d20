import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS } from '../../core/errors.ts';

describe('docs/errors.md', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const rows = new Map(
    [...doc.matchAll(/^\|\s*`(RECLAB_ERR_[A-Z_]+)`\s*\|\s*(\d+)\s*\|\s*(yes|no)\s*\|/gm)].map((m) => [
      m[1],
      { status: Number(m[2]), degrades: m[3] === 'yes' },
    ]),
  );

  it('documents every code of core/errors.ts with its status and whether it degrades', () => {
    for (const [code, entry] of Object.entries(ERRORS)) {
      expect(rows.get(code), code).toEqual({ status: entry.status, degrades: entry.degrades });
    }
  });

  it('documents no code the table does not have', () => {
    for (const code of rows.keys()) expect(Object.keys(ERRORS)).toContain(code);
  });
});
