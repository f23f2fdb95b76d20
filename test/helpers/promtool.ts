import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The promtool that scripts/setup/34-promtool.sh builds (github.com/prometheus/prometheus). */
export const PROMTOOL_VERSION = 'v0.316.0';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Where scripts/setup/34-promtool.sh puts the binary. */
export const promtoolBinary = (root = ROOT): string =>
  join(root, `.reclab/tools/promtool-${PROMTOOL_VERSION}/promtool`);

/**
 * Runs promtool with `args` (and `input` on stdin), at most 60 s.
 * @throws Error when the binary is missing (run scripts/setup.sh: its step 34 builds it)
 */
export function promtool(args: string[], input?: string): { code: number | null; output: string } {
  const bin = promtoolBinary();
  if (!existsSync(bin)) {
    throw new Error(
      `${bin} is missing: run scripts/setup.sh (step 34-promtool.sh builds it with go install)`,
    );
  }
  const r = spawnSync(bin, args, { input, encoding: 'utf8', timeout: 60_000, cwd: ROOT });
  if (r.error) throw r.error;
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

/**
 * Metric names a PromQL expression reads: every identifier of the core's or prom-client's families
 * (`reclab_*`, `process_*`, `nodejs_*`). Label names never start so, so a plain scan suffices.
 */
export function metricNamesIn(expr: string): string[] {
  return [...new Set(expr.match(/\b(?:reclab|process|nodejs)_[a-zA-Z0-9_:]*/g) ?? [])];
}

/**
 * The sample names an exposition text can hold: each `# TYPE` family, plus `_bucket`, `_sum` and
 * `_count` for histograms and `_sum`, `_count` for summaries.
 */
export function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m;
    names.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(name + s);
  }
  return names;
}
