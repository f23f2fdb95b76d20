/**
 * What the load-generator image (images/loadgen/Dockerfile; docs/distributed-load.md) holds: the
 * source files and the node_modules that `reclab load` and `reclab merge` run — what the pods of
 * the Indexed Job written by `reclab k8s job` run (loadtest/export/k8s-manifests.ts) — and nothing
 * of the rest of the lab (Testcontainers, TensorFlow.js, ONNX Runtime, FAISS…).
 *
 * The files are the import closure of two sets of entry modules:
 * - the CLI (`bin/reclab.mjs`, `bin/reclab.ts`, `bin/distributed-commands.ts`): only their static
 *   imports are followed, because each command imports its own modules when it runs;
 * - the modules the `load` and `merge` commands import when they run (COMMAND_MODULES, read from
 *   their actions in bin/distributed-commands.ts): static and dynamic imports are followed.
 * `import type` and `export type` are skipped (erased by tsx). Bare specifiers name the packages,
 * whose closure (images/core/runtime-deps.ts, plus `tsx`, the loader bin/reclab.mjs registers) goes
 * to node_modules. Other commands are not in the image: they fail with ERR_MODULE_NOT_FOUND.
 *
 * test/unit/loadgen-image.test.ts builds this tree in a temporary directory, outside any
 * node_modules, and runs `reclab load` and `reclab merge` from it against a loopback server.
 *
 * Run in the image's build stage: `node --import tsx images/loadgen/loadgen-tree.ts <appDir> <outDir>`
 * copies the tree to <outDir> (package.json, tsconfig.json, the source files, node_modules).
 */

import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { copyPackages, packageName, readLockPackages, runtimeClosure } from '../core/runtime-deps.ts';

/** The CLI's files: their static imports only (commands import their modules when they run). */
export const CLI_FILES: readonly string[] = [
  'bin/reclab.mjs',
  'bin/reclab.ts',
  'bin/distributed-commands.ts',
];

/** The modules the `load` and `merge` actions of bin/distributed-commands.ts import. */
export const COMMAND_MODULES: readonly string[] = [
  // load
  'scenarios/load.ts',
  'scenarios/scale.ts',
  'scenarios/segments.ts',
  'loadtest/segments/segment-run.ts',
  'loadtest/segments/coordinated.ts',
  // merge
  'loadtest/segments/partial-result.ts',
  'reports/json.ts',
  'reports/junit.ts',
  'reports/console.ts',
];

/** Files read at run time besides the modules (bin/ reads package.json for the version). */
export const DATA_FILES: readonly string[] = ['package.json', 'tsconfig.json'];

// `import … from 'x'`, `import 'x'`, `export … from 'x'` at the start of a statement, not `… type …`.
const STATIC_IMPORT =
  /^\s*(?:import\s+(?!type\s)(?:[\w*${}\s,]+?\s+from\s*)?|export\s+(?!type\s)[\w*${}\s,]*?\s*from\s*)['"]([^'"]+)['"]/gm;
const DYNAMIC_IMPORT = /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g;

export interface LoadgenTree {
  /** Source files, relative to the app directory, sorted. */
  files: string[];
  /** Package names imported by those files, plus tsx. */
  packages: string[];
}

/**
 * The source files and packages of the load generator under `appDir`.
 * @throws Error when an entry module or a relatively imported file does not exist
 */
export function loadgenTree(appDir: string): LoadgenTree {
  const files = new Set<string>();
  const packages = new Set<string>(['tsx']);
  const cli = new Set(CLI_FILES.map((f) => resolve(appDir, f)));
  const queue = [...cli, ...COMMAND_MODULES.map((f) => resolve(appDir, f))];
  while (queue.length > 0) {
    const file = queue.pop()!;
    const rel = relative(appDir, file);
    if (files.has(rel)) continue;
    if (!existsSync(file)) throw new Error(`loadgen-tree: ${rel} does not exist`);
    files.add(rel);
    if (!/\.(ts|mts|js|mjs)$/.test(file)) continue; // JSON and other data: copied, not parsed
    const src = readFileSync(file, 'utf8');
    const specifiers = [...src.matchAll(STATIC_IMPORT)].map((m) => m[1]);
    if (!cli.has(file)) specifiers.push(...[...src.matchAll(DYNAMIC_IMPORT)].map((m) => m[1]));
    for (const s of specifiers) {
      if (s.startsWith('.')) queue.push(resolve(dirname(file), s));
      else {
        const name = packageName(s);
        if (name) packages.add(name);
      }
    }
  }
  return { files: [...files].sort(), packages: [...packages].sort() };
}

/** Copies the load generator's tree from `appDir` to `outDir`; returns what it copied. */
export function copyLoadgenTree(appDir: string, outDir: string): LoadgenTree & { installed: number } {
  const tree = loadgenTree(appDir);
  for (const f of [...DATA_FILES, ...tree.files]) {
    mkdirSync(dirname(join(outDir, f)), { recursive: true });
    cpSync(join(appDir, f), join(outDir, f));
  }
  const installed = copyPackages(appDir, outDir, runtimeClosure(readLockPackages(appDir), tree.packages));
  return { ...tree, installed };
}

if (process.argv[1]?.endsWith('loadgen-tree.ts')) {
  const [appDir, outDir] = process.argv.slice(2);
  if (!appDir || !outDir) {
    process.stderr.write('usage: node --import tsx images/loadgen/loadgen-tree.ts <appDir> <outDir>\n');
    process.exit(2);
  }
  const t = copyLoadgenTree(appDir, outDir);
  process.stdout.write(
    `loadgen-tree: ${t.files.length} source files, ${t.installed} packages (from ${t.packages.join(', ')}) copied to ${outDir}\n`,
  );
}
