/**
 * N local load processes for one live run (issue 14, `reclab run --load-instances N`): each is
 * `reclab load <scenario.json> --segment i/N --coordinated` against the core the runner started,
 * the same path a cluster's pods take, with the runner as the coordinator instead of a timetable.
 *
 * Protocol, one JSON object per line (the child's log goes to stderr, into `load-<i>.log`):
 * - child → runner `{"type":"ready","phase":P}` once phase P's connection pool is up;
 * - runner → child `{"type":"go","atMs":T}` once every child is ready: all start P at epoch ms T;
 * - child → runner `{"type":"phase","result":PhaseResult}` once P has drained;
 * - child → runner `{"type":"done"}` after the last phase (its partial result is in its `--out` file).
 * A child that exits early, or sends anything else, fails the run (RECLAB_ERR_LOAD_INSTANCE_FAILED).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ScenarioDefinition } from '../../scenarios/define.ts';
import type { PhaseResult } from '../drivers/autocannon/open-model.ts';
import { LAB_V8_FLAGS } from '../lab-gc.ts';
import { mergePhaseResults } from './merge-phases.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Time from the last "ready" to the common start: the go line's trip to every child. */
const START_DELAY_MS = 150;
/** Bound on a child's start-up (tsx, world generation, first pool) and on each phase's readiness. */
const READY_TIMEOUT_MS = 120_000;

export class LoadInstanceError extends Error {
  readonly code = 'RECLAB_ERR_LOAD_INSTANCE_FAILED';
}

type Message = { type: 'ready'; phase: string } | { type: 'phase'; result: PhaseResult } | { type: 'done' };

interface Instance {
  index: number;
  child: ChildProcess;
  /** Messages not yet taken, and the waiter for the next one. */
  inbox: Message[];
  waiter: ((m: Message | Error) => void) | undefined;
  exited: Error | undefined;
}

export interface LoadInstancesOptions {
  count: number;
  scenario: ScenarioDefinition;
  seed: number;
  target: string;
  /** The run's directory: scenario.json, load-<i>.log, load-<i>.partial.json. */
  outDir: string;
  log: (line: string) => void;
}

export class LoadInstances {
  readonly #instances: Instance[];
  readonly #scenario: ScenarioDefinition;

  private constructor(instances: Instance[], scenario: ScenarioDefinition) {
    this.#instances = instances;
    this.#scenario = scenario;
  }

  /** Writes the scenario as JSON and spawns the N processes (they start preparing at once). */
  static async start(o: LoadInstancesOptions): Promise<LoadInstances> {
    const scenarioFile = join(o.outDir, 'scenario.json');
    await writeFile(scenarioFile, JSON.stringify(o.scenario, null, 2));
    const instances: Instance[] = [];
    for (let i = 0; i < o.count; i++) {
      const child = spawn(
        process.execPath,
        [
          ...LAB_V8_FLAGS,
          '--import',
          'tsx',
          join(ROOT, 'bin/reclab.ts'),
          'load',
          scenarioFile,
          '--segment',
          `${i}/${o.count}`,
          '--target',
          o.target,
          '--seed',
          String(o.seed),
          '--out',
          join(o.outDir, `load-${i}.partial.json`),
          '--coordinated',
        ],
        { cwd: ROOT, env: process.env, stdio: ['pipe', 'pipe', 'pipe'] },
      );
      child.stderr!.pipe(createWriteStream(join(o.outDir, `load-${i}.log`)));
      const inst: Instance = { index: i, child, inbox: [], waiter: undefined, exited: undefined };
      createInterface({ input: child.stdout! }).on('line', (line) => {
        let m: Message;
        try {
          m = JSON.parse(line) as Message;
        } catch {
          const err = new LoadInstanceError(`load instance ${i}: unreadable line ${line.slice(0, 80)}`);
          inst.exited ??= err;
          deliver(inst, err);
          return;
        }
        deliver(inst, m);
      });
      child.on('exit', (code, signal) => {
        inst.exited = new LoadInstanceError(
          `load instance ${i}/${o.count} exited (${signal ?? `code ${code}`}); see ${join(o.outDir, `load-${i}.log`)}`,
        );
        if (inst.waiter) deliver(inst, inst.exited);
      });
      instances.push(inst);
    }
    o.log(`load: ${o.count} load processes (segments 0..${o.count - 1}/${o.count}) against ${o.target}`);
    return new LoadInstances(instances, o.scenario);
  }

  /**
   * Waits until every process has phase `k`'s pool up, then has them all start it at one time.
   * @returns that start time, epoch ms
   * @throws LoadInstanceError RECLAB_ERR_LOAD_INSTANCE_FAILED (a process failed or timed out)
   */
  async startPhase(k: number): Promise<number> {
    const name = this.#scenario.phases[k].name;
    await Promise.all(
      this.#instances.map(async (inst) => {
        const m = await next(inst, READY_TIMEOUT_MS);
        if (m.type !== 'ready' || m.phase !== name)
          throw new LoadInstanceError(
            `load instance ${inst.index}: expected ready for ${name}, got ${m.type}`,
          );
      }),
    );
    const atMs = Date.now() + START_DELAY_MS;
    for (const inst of this.#instances) inst.child.stdin!.write(`${JSON.stringify({ type: 'go', atMs })}\n`);
    return atMs;
  }

  /**
   * Each process's result of phase `k`, and their merge (histograms merged, counts summed).
   * @throws LoadInstanceError RECLAB_ERR_LOAD_INSTANCE_FAILED
   */
  async phaseResult(k: number): Promise<{ merged: PhaseResult; parts: PhaseResult[] }> {
    const phase = this.#scenario.phases[k];
    const boundMs = (phase.durationS + 30) * 1000;
    const parts = await Promise.all(
      this.#instances.map(async (inst) => {
        const m = await next(inst, boundMs);
        if (m.type !== 'phase' || m.result.phase !== phase.name)
          throw new LoadInstanceError(`load instance ${inst.index}: expected the result of ${phase.name}`);
        return m.result;
      }),
    );
    return { merged: mergePhaseResults(parts), parts };
  }

  /** Waits for every process's `done` and exit (bounded), then kills what is left. */
  async close(): Promise<void> {
    await Promise.all(
      this.#instances.map(async (inst) => {
        if (inst.exited) return;
        inst.child.stdin!.end();
        const exited = new Promise<void>((resolve) => inst.child.once('exit', () => resolve()));
        const timer = setTimeout(() => inst.child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  /** Kills every process still running (cleanup on a failed run). */
  kill(): void {
    for (const inst of this.#instances) if (!inst.exited) inst.child.kill('SIGKILL');
  }
}

function deliver(inst: Instance, m: Message | Error): void {
  const w = inst.waiter;
  if (w) {
    inst.waiter = undefined;
    w(m);
  } else if (!(m instanceof Error)) inst.inbox.push(m);
}

function next(inst: Instance, timeoutMs: number): Promise<Message> {
  const queued = inst.inbox.shift();
  if (queued) return Promise.resolve(queued);
  if (inst.exited) return Promise.reject(inst.exited);
  return new Promise<Message>((resolve, reject) => {
    const timer = setTimeout(() => {
      inst.waiter = undefined;
      reject(new LoadInstanceError(`load instance ${inst.index}: no message within ${timeoutMs} ms`));
    }, timeoutMs);
    inst.waiter = (m) => {
      clearTimeout(timer);
      if (m instanceof Error) reject(m);
      else resolve(m);
    };
  });
}
