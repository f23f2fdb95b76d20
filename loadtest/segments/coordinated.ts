/**
 * The load process's side of the coordinator protocol (instances.ts): before each phase it says
 * `{"type":"ready","phase":P}` on stdout and waits for `{"type":"go","atMs":T}` on stdin, then
 * starts at epoch ms T; after each phase it sends `{"type":"phase","result":…}`, at the end
 * `{"type":"done"}`. Logs go to stderr only (stdout is the protocol).
 */
import { createInterface } from 'node:readline';
import type { Phase } from '../../scenarios/define.ts';
import type { PhaseResult } from '../drivers/autocannon/open-model.ts';
import { sleepUntil } from './segment-run.ts';

export interface CoordinatedIo {
  gate: (phase: Phase) => Promise<void>;
  sendPhase: (r: PhaseResult) => void;
  done: () => void;
}

/**
 * The protocol on this process's stdin and stdout.
 * @throws Error (from `gate`) when stdin closes or sends something else than a go line
 */
export function coordinatedIo(): CoordinatedIo {
  const lines: string[] = [];
  let waiter: ((line: string | undefined) => void) | undefined;
  let closed = false;
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (waiter) {
      const w = waiter;
      waiter = undefined;
      w(line);
    } else lines.push(line);
  });
  rl.on('close', () => {
    closed = true;
    waiter?.(undefined);
  });
  const nextLine = (): Promise<string | undefined> =>
    lines.length
      ? Promise.resolve(lines.shift())
      : closed
        ? Promise.resolve(undefined)
        : new Promise((r) => (waiter = r));
  const send = (m: unknown) => process.stdout.write(`${JSON.stringify(m)}\n`);
  return {
    async gate(phase) {
      send({ type: 'ready', phase: phase.name });
      const line = await nextLine();
      const m = line === undefined ? undefined : (JSON.parse(line) as { type?: string; atMs?: number });
      if (m?.type !== 'go' || typeof m.atMs !== 'number')
        throw new Error(
          `coordinator: expected a go line before phase ${phase.name}, got ${line ?? 'end of input'}`,
        );
      await sleepUntil(m.atMs);
    },
    sendPhase: (result) => send({ type: 'phase', result }),
    done: () => {
      send({ type: 'done' });
      rl.close();
    },
  };
}
