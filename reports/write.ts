/**
 * Every report of a run, written together: summary.json (the RunResult), junit.xml and index.html.
 * The views are rendered from summary.json as stored on disk, never from the in-memory result, so
 * `reclab report <run-dir>` (rerenderReports) gives the same junit.xml and index.html byte for byte.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderHtmlReport } from './html.ts';
import { writeSummaryJson } from './json.ts';
import { writeJUnit } from './junit.ts';
import type { RunResult } from './model.ts';

export interface RunReportPaths {
  summary: string;
  junit: string;
  html: string;
}

/** Writes `<dir>/index.html` for a run (temporary file, then rename). Returns the path. */
export async function writeHtmlReport(dir: string, result: unknown): Promise<string> {
  const html = renderHtmlReport(result);
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'index.html');
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, html, 'utf8');
  await rename(tmp, path);
  return path;
}

/** Reads and parses `<dir>/summary.json` (JSON only; the renderers validate it). */
export async function readStoredSummary(dir: string): Promise<unknown> {
  return JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8'));
}

/**
 * Writes summary.json, then junit.xml and index.html from it. Throws ReportError
 * (`RECLAB_ERR_REPORT_INVALID`) before touching the disk when `result` does not match the schema.
 */
export async function writeRunReports(dir: string, result: RunResult): Promise<RunReportPaths> {
  await writeSummaryJson(dir, result);
  return rerenderReports(dir);
}

/**
 * Re-renders junit.xml and index.html of a run directory from its stored summary.json (as Gatling's
 * `-ro`). Throws ENOENT when there is no summary.json, SyntaxError when it is not JSON, ReportError
 * (`RECLAB_ERR_REPORT_INVALID`) when it does not match the schema.
 */
export async function rerenderReports(dir: string): Promise<RunReportPaths> {
  const stored = (await readStoredSummary(dir)) as RunResult;
  const junit = await writeJUnit(dir, stored);
  const html = await writeHtmlReport(dir, stored);
  return { summary: join(dir, 'summary.json'), junit, html };
}
