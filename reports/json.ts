/**
 * summary.json: the RunResult itself, validated against schema v1 (reports/model.ts) before it is
 * written, so a file that exists is a file that parses.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseRunResult, type RunResult } from './model.ts';

/**
 * Writes `<dir>/summary.json` (2-space indented, UTF-8, trailing newline), creating `dir` if needed.
 * Written to a temporary file and renamed, so readers never see half a file. Returns the path.
 * Throws ReportError (`RECLAB_ERR_REPORT_INVALID`) before touching the disk when `result` does not
 * match the schema; file-system errors propagate with their Node `code`.
 */
export async function writeSummaryJson(dir: string, result: RunResult): Promise<string> {
  const valid = parseRunResult(result);
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'summary.json');
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(valid, null, 2)}\n`, 'utf8');
  await rename(tmp, path);
  return path;
}
