/**
 * Static checks of the core's image definition (images/core/Dockerfile, .dockerignore,
 * images/core/runtime-deps.ts) that need no container engine: what the Dockerfile copies exists and
 * reaches the build context, the runtime stage gets every package core/ imports, core/ imports nothing
 * outside core/, and the environment the image sets is configuration the core accepts.
 * Building and running the image: scripts/build-core-image.sh, docs/deploy.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, loadConfig } from '../../core/config/config.ts';
import { adminAccessOf } from '../../core/http/admin-access.ts';
import {
  coreRoots,
  importSpecifiers,
  type LockPackages,
  packageName,
  runtimeClosure,
} from '../../images/core/runtime-deps.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const dockerfile = readFileSync(resolve(ROOT, 'images/core/Dockerfile'), 'utf8');
// Instructions with their continuation lines joined.
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const lock = JSON.parse(readFileSync(resolve(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: LockPackages;
};
const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};

/** Whether .dockerignore (a `*` then `!path` allow-list) lets `path` into the build context. */
function inContext(path: string): boolean {
  const allowed = readFileSync(resolve(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('!'))
    .map((l) => l.slice(1).replace(/\/$/, ''));
  const p = path.replace(/\/$/, '');
  return allowed.some((a) => p === a || p.startsWith(`${a}/`));
}

describe('images/core/Dockerfile', () => {
  it('copies only paths that exist and that .dockerignore lets into the context', () => {
    const sources = instructions
      .filter((l) => l.startsWith('COPY ') && !l.includes('--from='))
      .flatMap((l) => l.split(/\s+/).slice(1, -1));
    expect(sources.length).toBeGreaterThan(5);
    for (const src of sources) {
      expect(existsSync(resolve(ROOT, src)), `${src} exists`).toBe(true);
      expect(inContext(src), `${src} is in the build context`).toBe(true);
    }
    expect(inContext('node_modules')).toBe(false);
    expect(inContext('.reclab/cache')).toBe(false);
  });

  it('runs core/main.ts with tsx, as a non-root user, on the port it exposes', () => {
    expect(instructions).toContain('ENTRYPOINT ["node", "--import", "tsx"]');
    expect(instructions).toContain('CMD ["core/main.ts"]');
    expect(instructions).toContain('STOPSIGNAL SIGTERM');
    const user = instructions.filter((l) => l.startsWith('USER ')).at(-1);
    expect(user).toBeDefined();
    expect(user).not.toMatch(/\b(root|0)$/);
    expect(instructions).toContain('EXPOSE 8080');
    expect(instructions.some((l) => l.startsWith('HEALTHCHECK') && l.includes('/healthz'))).toBe(true);
  });

  it('sets only RECLAB_* variables the core accepts, with a valid configuration', () => {
    const env = instructions
      .filter((l) => l.startsWith('ENV '))
      .flatMap((l) => [...l.matchAll(/\b(RECLAB_[A-Z0-9_]+)=(\S+)/g)].map((m) => [m[1], m[2]] as const));
    expect(Object.fromEntries(env)).toMatchObject({ RECLAB_HOST: '0.0.0.0', RECLAB_PORT: '8080' });
    for (const [name] of env) expect(CONFIG_VARIABLES, name).toContain(name);
    const cfg = loadConfig({
      ...Object.fromEntries(env),
      RECLAB_REDIS_URL: 'redis://redis:6379',
      RECLAB_KAFKA_BROKERS: 'kafka:9092',
      RECLAB_ARTIFACTS_DIR: '/models',
    });
    expect(cfg.port).toBe(8080);
  });

  it('ships no open admin routes: without a token they are refused', () => {
    const env = Object.fromEntries(
      instructions
        .filter((l) => l.startsWith('ENV '))
        .flatMap((l) => [...l.matchAll(/\b(RECLAB_[A-Z0-9_]+)=(\S+)/g)].map((m) => [m[1], m[2]] as const)),
    );
    expect(env.RECLAB_ADMIN_OPEN).toBeUndefined();
    expect(env.RECLAB_ADMIN_TOKEN).toBeUndefined();
    const cfg = loadConfig({
      ...env,
      RECLAB_REDIS_URL: 'redis://redis:6379',
      RECLAB_KAFKA_BROKERS: 'kafka:9092',
      RECLAB_ARTIFACTS_DIR: '/models',
    });
    expect(adminAccessOf(cfg)).toBe('closed');
  });
});

describe('core/ imports (what the runtime stage must hold)', () => {
  const specifiers = importSpecifiers(resolve(ROOT, 'core'));

  it('finds the imports of core/', () => {
    expect(specifiers.length).toBeGreaterThan(100);
    const roots = coreRoots(resolve(ROOT, 'core'));
    for (const p of ['tsx', 'fastify', 'ioredis', 'onnxruntime-node', 'faiss-node'])
      expect(roots.has(p), p).toBe(true);
  });

  it('imports nothing outside core/ by relative path (the image holds core/ only)', () => {
    const coreDir = resolve(ROOT, 'core');
    const leaving = specifiers
      .filter((s) => s.specifier.startsWith('.'))
      .filter((s) => relative(coreDir, resolve(dirname(s.file), s.specifier)).startsWith('..'));
    expect(leaving).toEqual([]);
  });

  it('imports only packages declared in dependencies (not devDependencies)', () => {
    const names = new Set(specifiers.map((s) => packageName(s.specifier)).filter((n) => n !== undefined));
    for (const name of names) expect(Object.keys(pkg.dependencies), name).toContain(name);
  });

  it('ships the closure of those imports and tsx, without the lab-only packages', () => {
    const closure = runtimeClosure(lock.packages, coreRoots(resolve(ROOT, 'core')));
    for (const p of [
      'tsx',
      'esbuild',
      'fastify',
      'onnxruntime-common',
      'bindings',
      'ioredis',
      '@platformatic/kafka',
    ]) {
      expect(closure, p).toContain(`node_modules/${p}`);
    }
    for (const p of [
      '@tensorflow/tfjs',
      'testcontainers',
      '@faker-js/faker',
      'autocannon',
      'typescript',
      'vitest',
    ]) {
      expect(closure, p).not.toContain(`node_modules/${p}`);
    }
  });

  it('resolves nested installs the way Node does', () => {
    const packages: LockPackages = {
      '': {},
      'node_modules/a': { dependencies: { b: '^2' } },
      'node_modules/a/node_modules/b': { dependencies: { c: '^1' } },
      'node_modules/b': {},
      'node_modules/c': { optionalDependencies: { 'c-linux': '1', 'c-win': '1' } },
      'node_modules/c-linux': {},
    };
    expect(runtimeClosure(packages, ['a'])).toEqual([
      'node_modules/a',
      'node_modules/a/node_modules/b',
      'node_modules/c',
      'node_modules/c-linux',
    ]);
    expect(() => runtimeClosure(packages, ['missing'])).toThrow(/missing/);
  });
});
