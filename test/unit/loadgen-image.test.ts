/**
 * The load-generator image (images/loadgen/Dockerfile, images/loadgen/loadgen-tree.ts) without a
 * container engine: what the Dockerfile copies reaches its build context, and the tree the image
 * holds — built here in a temporary directory outside any node_modules — runs what the pods of
 * `reclab k8s job` run (the Job's own command and args) against a loopback server, and
 * `reclab merge` of their stdout. Building and running the image itself:
 * scripts/build-loadgen-image.sh, docs/distributed-load.md (a cold build takes minutes: not in CI).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyLoadgenTree, loadgenTree } from '../../images/loadgen/loadgen-tree.ts';
import { loadJobManifests, PARTIAL_LINE_PREFIX } from '../../loadtest/export/k8s-manifests.ts';
import { defineScenario } from '../../scenarios/define.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const dockerfile = readFileSync(resolve(ROOT, 'images/loadgen/Dockerfile'), 'utf8');
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

/** Whether images/loadgen/Dockerfile.dockerignore (`*`, `!path` allow-list, then exclusions) lets `path` in. */
function inContext(path: string): boolean {
  const rules = readFileSync(resolve(ROOT, 'images/loadgen/Dockerfile.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && l !== '*');
  const p = path.replace(/\/$/, '');
  let inside = false; // `*` first: nothing is in until allowed; the last matching rule wins
  for (const r of rules) {
    const allow = r.startsWith('!');
    const pattern = (allow ? r.slice(1) : r).replace(/\/$/, '');
    if (p === pattern || p.startsWith(`${pattern}/`)) inside = allow;
  }
  return inside;
}

describe('images/loadgen/Dockerfile', () => {
  it('copies only paths that exist and that its ignore file lets into the context', () => {
    const sources = instructions
      .filter((l) => l.startsWith('COPY ') && !l.includes('--from='))
      .flatMap((l) => l.split(/\s+/).slice(1, -1));
    expect(sources.length).toBeGreaterThan(5);
    for (const src of sources) {
      expect(existsSync(resolve(ROOT, src)), `${src} exists`).toBe(true);
      expect(inContext(src), `${src} is in the build context`).toBe(true);
    }
    for (const out of ['node_modules', '.reclab/cache', 'reports/out', 'test', 'images/core/Dockerfile'])
      expect(inContext(out), `${out} stays out`).toBe(false);
    // Every file of the tree is in the context (the image cannot copy what the context lacks).
    for (const f of loadgenTree(ROOT).files) expect(inContext(f), f).toBe(true);
  });

  it('puts reclab on the PATH as the Job runs it, as a non-root user', () => {
    const [, job] = loadJobManifests({
      scenario: defineScenario({
        name: 'x',
        description: 'x',
        world: { users: 10, videos: 10 },
        phases: [{ name: 'p', arrivals: { kind: 'constant', rateQps: 1 }, durationS: 1 }],
        assertions: [],
      }),
      seed: 7,
      parallelism: 2,
      target: 'http://core:8080',
      image: 'reclab-load:latest',
    });
    const container = (job as { spec: { template: { spec: { containers: { command: string[] }[] } } } }).spec
      .template.spec.containers[0];
    expect(container.command).toEqual(['reclab']);
    expect(
      instructions.some((l) => /ln -s \/app\/bin\/reclab\.mjs \/usr\/local\/bin\/reclab\b/.test(l)),
    ).toBe(true);
    expect(instructions).toContain('ENTRYPOINT ["reclab"]');
    const user = instructions.filter((l) => l.startsWith('USER ')).at(-1);
    expect(user).toBeDefined();
    expect(user).not.toMatch(/\b(root|0)$/);
  });
});

describe('the load generator tree (what the image holds)', () => {
  let dir: string;
  beforeAll(() => {
    // Outside any node_modules: a package missing from the tree cannot be found elsewhere.
    dir = mkdtempSync(join(tmpdir(), 'reclab-loadgen-'));
    copyLoadgenTree(ROOT, join(dir, 'app'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('holds the load and merge modules and their packages, not the rest of the lab', () => {
    const tree = loadgenTree(ROOT);
    for (const f of [
      'bin/reclab.mjs',
      'loadtest/segments/segment-run.ts',
      'loadtest/segments/merge-phases.ts',
    ])
      expect(tree.files).toContain(f);
    for (const f of ['loadtest/run.ts', 'loadtest/infra/redis.ts', 'sim/models/tf-runtime.ts'])
      expect(tree.files).not.toContain(f);
    for (const p of ['tsx', 'commander', 'autocannon', 'hdr-histogram-js'])
      expect(tree.packages).toContain(p);
    for (const p of ['testcontainers', '@tensorflow/tfjs', 'onnxruntime-node', 'faiss-node', 'ioredis'])
      expect(tree.packages).not.toContain(p);
    expect(existsSync(join(dir, 'app/node_modules/tsx'))).toBe(true);
    expect(existsSync(join(dir, 'app/node_modules/testcontainers'))).toBe(false);
  });

  it("runs the Job's command for two segments against a loopback server, and merges their stdout", async () => {
    const app = Fastify();
    let requests = 0;
    app.post('/v1/recommendations', async () => {
      requests++;
      return { items: [], meta: { rung: 'full' } };
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const target = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const scenario = defineScenario({
        name: 'loadgen-image',
        description: 'two short phases',
        world: { users: 500, videos: 200 },
        phases: [
          { name: 'warm', arrivals: { kind: 'constant', rateQps: 20 }, durationS: 1, warmup: true },
          { name: 'steady', arrivals: { kind: 'constant', rateQps: 50 }, durationS: 1 },
        ],
        assertions: [
          { metric: 'http_req_duration', phase: 'steady', stat: 'p(99)', op: '<=', value: 2000 },
          { metric: 'errors_5xx', stat: 'count', op: '==', value: 0 },
        ],
      });
      const [cm, job] = loadJobManifests({
        scenario,
        seed: 7,
        parallelism: 2,
        target,
        image: 'reclab-load:latest',
        startAt: new Date(Date.now() + 8000).toISOString(),
      });
      // The ConfigMap's scenario where the Job mounts it, relative to the tree.
      mkdirSync(join(dir, 'scenario'), { recursive: true });
      const scenarioFile = join(dir, 'scenario/scenario.json');
      writeFileSync(scenarioFile, (cm as { data: Record<string, string> }).data['scenario.json']);
      const container = (job as { spec: { template: { spec: { containers: { args: string[] }[] } } } }).spec
        .template.spec.containers[0];
      const argsOf = (i: number) =>
        container.args.map((a) =>
          a === '/scenario/scenario.json' ? scenarioFile : a.replace('$(SEGMENT_INDEX)', String(i)),
        );
      const pods = await Promise.all([0, 1].map((i) => reclab(dir, argsOf(i))));
      for (const pod of pods) expect(pod.code, pod.stderr).toBe(0);
      // Each pod prints its partial result as one JSON line on stdout, as `kubectl logs` returns it.
      const parts = pods.map((pod, i) => {
        const line = pod.stdout.split('\n').find((l) => l.startsWith(PARTIAL_LINE_PREFIX));
        expect(line, `segment ${i}'s partial result on stdout`).toBeDefined();
        const file = join(dir, `part-${i}.json`);
        writeFileSync(file, `${line}\n`);
        return file;
      });
      expect(requests).toBe(20 + 50);

      const merged = await reclab(dir, ['merge', ...parts, '--out', join(dir, 'merged')]);
      expect(merged.code, merged.stderr).toBe(0);
      const summary = JSON.parse(readFileSync(join(dir, 'merged/summary.json'), 'utf8')) as {
        phases: { name: string; statusCounts: Record<string, number> }[];
      };
      expect(summary.phases.find((p) => p.name === 'steady')?.statusCounts['2xx']).toBe(50);
    } finally {
      await app.close();
    }
  }, 60_000);
});

/** `reclab …` from the tree at `<dir>/app`, with a bare environment (no NODE_OPTIONS, no RECLAB_*). */
function reclab(
  dir: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [join(dir, 'app/bin/reclab.mjs'), ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}
