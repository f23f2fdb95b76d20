/**
 * The node_modules the serving core needs at run time, for the runtime stage of images/core/Dockerfile.
 *
 * The project's `dependencies` also hold the lab's packages (TensorFlow.js, Testcontainers, faker,
 * autocannon…: about 340 MB more), which `npm prune --omit=dev` would keep. Instead the image gets the
 * closure of what core/ imports: every bare specifier in core/**\/*.ts, plus `tsx` (the loader the
 * entrypoint runs), resolved through package-lock.json the way Node resolves them (nearest
 * `node_modules` first), following `dependencies`, `optionalDependencies` and `peerDependencies`.
 * Packages the lockfile lists but npm did not install (other platforms' optional binaries) are skipped.
 *
 * Run in the build stage: `node --import tsx images/core/runtime-deps.ts <appDir> <outDir>` copies
 * the closure to <outDir>/node_modules, without onnxruntime-node's macOS and Windows binaries.
 */

import { cpSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';

/** The `packages` map of a lockfile v2/v3: install path ("node_modules/a/node_modules/b") → entry. */
export type LockPackages = Record<
  string,
  {
    dependencies?: Record<string, string>;
    optionalDependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
  }
>;

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm;

/** Every import specifier of every `.ts` file under `dir` (static, side-effect and dynamic imports). */
export function importSpecifiers(dir: string): Array<{ file: string; specifier: string }> {
  const out: Array<{ file: string; specifier: string }> = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const file = join(entry.parentPath, entry.name);
    for (const m of readFileSync(file, 'utf8').matchAll(SPECIFIER)) out.push({ file, specifier: m[1] });
  }
  return out;
}

/** The package name of a bare specifier ('@a/b/c' → '@a/b', 'a/b' → 'a'); undefined for relative and built-in ones. */
export function packageName(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:'))
    return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return builtinModules.includes(name) ? undefined : name;
}

/** Resolves `name` as required from the package installed at `from` ('' = the project root). */
function resolveIn(packages: LockPackages, from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = base ? `${base}/node_modules/${name}` : `node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!base) return undefined;
    const cut = base.lastIndexOf('/node_modules/');
    base = cut < 0 ? '' : base.slice(0, cut);
  }
}

/**
 * Install paths (lockfile keys) of `roots` and everything they depend on.
 * @throws Error when a root is not in the lockfile (a core import missing from package.json)
 */
export function runtimeClosure(packages: LockPackages, roots: Iterable<string>): string[] {
  const seen = new Set<string>();
  const queue: string[] = [];
  for (const name of roots) {
    const path = resolveIn(packages, '', name);
    if (!path) throw new Error(`runtime-deps: ${name} is imported by core/ but not in package-lock.json`);
    queue.push(path);
  }
  while (queue.length > 0) {
    const path = queue.pop()!;
    if (seen.has(path)) continue;
    seen.add(path);
    const p = packages[path];
    for (const deps of [p.dependencies, p.optionalDependencies, p.peerDependencies]) {
      for (const name of Object.keys(deps ?? {})) {
        const dep = resolveIn(packages, path, name);
        if (dep && !seen.has(dep)) queue.push(dep);
      }
    }
  }
  return [...seen].sort();
}

/** The packages core/ imports at run time, plus the entrypoint's loader. */
export function coreRoots(coreDir: string): Set<string> {
  const roots = new Set<string>(['tsx']);
  for (const { specifier } of importSpecifiers(coreDir)) {
    const name = packageName(specifier);
    if (name) roots.add(name);
  }
  return roots;
}

/** The `packages` map of `<appDir>/package-lock.json`. */
export function readLockPackages(appDir: string): LockPackages {
  return (JSON.parse(readFileSync(join(appDir, 'package-lock.json'), 'utf8')) as { packages: LockPackages })
    .packages;
}

/**
 * Copies the installed packages at `paths` (lockfile install paths, as `runtimeClosure` gives them)
 * from `appDir` to `outDir`, each without the nested node_modules that are not in `paths`.
 * Returns how many were copied (packages the lockfile lists but npm did not install are skipped).
 */
export function copyPackages(appDir: string, outDir: string, paths: readonly string[]): number {
  let copied = 0;
  // Parents before their nested node_modules: cpSync of a parent must not overwrite a child copied earlier.
  for (const path of [...paths].sort()) {
    const src = join(appDir, path);
    if (!existsSync(src)) continue; // an optional dependency for another platform
    // Nested node_modules of a package come with it only if they are in the closure themselves.
    cpSync(src, join(outDir, path), {
      recursive: true,
      filter: (s) => s === src || !s.startsWith(`${src}/node_modules/`),
    });
    copied++;
  }
  return copied;
}

function main(appDir: string, outDir: string): void {
  const paths = runtimeClosure(readLockPackages(appDir), coreRoots(join(appDir, 'core')));
  const copied = copyPackages(appDir, outDir, paths);
  const ortBin = join(outDir, 'node_modules/onnxruntime-node/bin/napi-v6');
  for (const platform of ['darwin', 'win32'])
    rmSync(join(ortBin, platform), { recursive: true, force: true });
  process.stdout.write(`runtime-deps: ${copied} packages copied to ${outDir}/node_modules\n`);
}

if (process.argv[1]?.endsWith('runtime-deps.ts')) {
  const [appDir, outDir] = process.argv.slice(2);
  if (!appDir || !outDir) {
    process.stderr.write('usage: node --import tsx images/core/runtime-deps.ts <appDir> <outDir>\n');
    process.exit(2);
  }
  main(appDir, outDir);
}
