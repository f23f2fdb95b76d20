import { describe, expect, it } from 'vitest';
import {
  formatTrainProgress,
  type TrainProgress,
  TrainReporter,
  trainProgressView,
} from '../../sim/models/train-progress.ts';
import { progressFactory } from '../../sim/progress.ts';

/** A manual clock in ms. */
function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('TrainReporter', () => {
  it('carries the validation metric of the last epoch and an ETA from epoch durations', async () => {
    const c = clock();
    const events: TrainProgress[] = [];
    const r = new TrainReporter('ranker', 3, 40, (e) => events.push(e), c.now);
    // Epoch 1: 40 steps of 100 ms, validation 1 s → 5 s per epoch.
    for (let s = 0; s < 40; s++) {
      c.advance(100);
      await r.step(1, s, (s + 1) * 0.5);
    }
    const mid = events.at(-1)!;
    expect(mid).toMatchObject({ epoch: 1, step: 20, loss: 0.5, elapsedS: 2 });
    expect(mid.val).toBeUndefined();
    // Step rate: 100 ms × (20 left in this epoch + 2 × 40) = 10 s.
    expect(mid.etaS).toBe(10);
    const val = await r.epochEnd(1, 20, () => {
      c.advance(1000);
      return { name: 'click auc', value: 0.71 };
    });
    expect(val).toEqual({ name: 'click auc', value: 0.71 });
    const end1 = events.at(-1)!;
    expect(end1).toMatchObject({ epoch: 1, step: 40, steps: 40, loss: 0.5, elapsedS: 5 });
    expect(end1.val).toEqual({ name: 'click auc', value: 0.71, epoch: 1 });
    expect(end1.etaS).toBe(10); // 2 epochs left × 5 s

    // Epoch 2, halfway: the ETA is the mean epoch (5 s) × 2 left − 2 s done; the metric is carried.
    for (let s = 0; s < 20; s++) {
      c.advance(100);
      await r.step(2, s, (s + 1) * 0.4);
    }
    const mid2 = events.at(-1)!;
    expect(mid2).toMatchObject({ epoch: 2, step: 20, val: { name: 'click auc', value: 0.71, epoch: 1 } });
    expect(mid2.etaS).toBe(8);
    expect(formatTrainProgress(mid2)).toBe(
      'ranker epoch 2/3 · step 20/40 · loss 0.4000 · val click auc 0.7100 · ETA 8 s',
    );
    for (let s = 20; s < 40; s++) {
      c.advance(100);
      await r.step(2, s, (s + 1) * 0.4);
    }
    await r.epochEnd(2, 16, () => ({ name: 'click auc', value: 0.73 }));
    for (let s = 0; s < 40; s++) await r.step(3, s, 0);
    await r.epochEnd(3, 0, () => ({ name: 'click auc', value: 0.74 }));
    const ends = events.filter((e) => e.step === e.steps);
    expect(ends.map((e) => e.val?.value)).toEqual([0.71, 0.73, 0.74]);
    expect(ends.at(-1)!.etaS).toBe(0);
  });

  it('reports without a metric when given no validation', async () => {
    const events: TrainProgress[] = [];
    const r = new TrainReporter('two-tower', 1, 3, (e) => events.push(e));
    for (let s = 0; s < 3; s++) await r.step(1, s, s + 1);
    expect(await r.epochEnd(1, 3)).toBeUndefined();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ step: 3, loss: 1, etaS: 0 });
    expect(events[0]!.val).toBeUndefined();
  });
});

describe('trainProgressView', () => {
  it('prints one CI line per epoch with loss, validation metric and ETA, and a summary per model', () => {
    const chunks: string[] = [];
    const stream = { isTTY: false, write: (s: string) => chunks.push(s) > 0 };
    const view = trainProgressView(progressFactory({ stream, env: { CI: 'true' } }));
    const ev = (model: TrainProgress['model'], epoch: number, step: number, etaS: number): TrainProgress => ({
      model,
      epoch,
      epochs: 2,
      step,
      steps: 10,
      loss: 0.5,
      elapsedS: 1,
      etaS,
      ...(epoch > 1 || step === 10 ? { val: { name: 'recall@100', value: 0.4, epoch: 1 } } : {}),
    });
    view.onProgress(ev('two-tower', 1, 5, 3));
    view.onProgress(ev('two-tower', 1, 10, 2));
    view.onProgress(ev('two-tower', 2, 10, 0));
    view.onProgress(ev('ranker', 1, 10, 5));
    view.stop();
    const lines = chunks.join('').trim().split('\n');
    expect(lines[0]).toBe('train.two-tower: epoch 1/2 · loss 0.5000 · val recall@100 0.4000 · ETA 2 s');
    expect(lines[1]).toBe('train.two-tower: epoch 2/2 · loss 0.5000 · val recall@100 0.4000 · ETA 0 s');
    expect(lines[2]).toMatch(/^train\.two-tower: 20 steps in [\d.]+ s/);
    expect(lines[3]).toBe('train.ranker: epoch 1/2 · loss 0.5000 · val recall@100 0.4000 · ETA 5 s');
    expect(lines[4]).toMatch(/^train\.ranker: 10 steps in/);
    expect(lines).toHaveLength(5);
  });
});
