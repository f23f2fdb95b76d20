import { yieldToEventLoop } from './tf-runtime.ts';

/** Progress of one model's training, reported every few steps and at the end of each epoch. */
export interface TrainProgress {
  model: 'two-tower' | 'ranker';
  /** 1-based epoch. */
  epoch: number;
  epochs: number;
  /** Steps done in this epoch (`step === steps` at the epoch's end). */
  step: number;
  steps: number;
  /** Mean training loss over the epoch so far. */
  loss: number;
}

/** Steps between progress reports (plus one at each epoch's end). */
const REPORT_EVERY_STEPS = 20;

/**
 * Called after each training step: every `REPORT_EVERY_STEPS` steps and at the epoch's end it
 * reports the epoch's mean loss so far and yields to the event loop, so a terminal progress bar
 * can redraw during a long synchronous training loop.
 */
export async function afterTrainStep(
  onProgress: ((p: TrainProgress) => void) | undefined,
  p: Omit<TrainProgress, 'loss' | 'step'> & { stepIndex: number; lossSum: number },
): Promise<void> {
  const step = p.stepIndex + 1;
  if (step % REPORT_EVERY_STEPS !== 0 && step !== p.steps) return;
  onProgress?.({
    model: p.model,
    epoch: p.epoch,
    epochs: p.epochs,
    step,
    steps: p.steps,
    loss: p.lossSum / step,
  });
  await yieldToEventLoop();
}
