import type { Progress, ProgressFactory } from '../progress.ts';
import { yieldToEventLoop } from './tf-runtime.ts';

/** A held-out metric of the model after an epoch, e.g. `{ name: 'recall@100', value: 0.41 }`. */
export interface ValMetric {
  name: string;
  value: number;
}

/** Progress of one model's training, reported every few steps and at the end of each epoch. */
export interface TrainProgress {
  /** `ranker` is the MMoE, `light-ranker` the light MLP. */
  model: 'two-tower' | 'ranker' | 'light-ranker';
  /** 1-based epoch. */
  epoch: number;
  epochs: number;
  /** Steps done in this epoch (`step === steps` at the epoch's end, reported once per epoch). */
  step: number;
  steps: number;
  /** Mean training loss over the epoch so far. */
  loss: number;
  /**
   * The held-out metric of the latest finished epoch (`val.epoch`): computed at each epoch's end on
   * a small held-out slice, then carried on the following events. Absent before the first epoch
   * ends and when the trainer was given no validation.
   */
  val?: ValMetric & { epoch: number };
  /** Seconds since this model's training started (validation included). */
  elapsedS: number;
  /**
   * Estimated seconds left for this model's training: the mean duration of the finished epochs
   * (validation included) × the epochs left, less the part of the current epoch already done;
   * during the first epoch, the step rate × the steps left. 0 at the last epoch's end.
   */
  etaS: number;
}

/** Steps between progress reports (plus one at each epoch's end). */
const REPORT_EVERY_STEPS = 20;

/**
 * Times one model's training and reports `TrainProgress`: `step()` after each training step
 * (reports every `REPORT_EVERY_STEPS` steps but the last, and yields to the event loop so a terminal
 * bar can redraw during a long synchronous loop), `epochEnd()` after each epoch (runs the
 * validation, then reports `step === steps` with the metric and the ETA).
 */
export class TrainReporter {
  readonly #model: TrainProgress['model'];
  readonly #epochs: number;
  readonly #steps: number;
  readonly #onProgress: ((p: TrainProgress) => void) | undefined;
  readonly #nowMs: () => number;
  readonly #startMs: number;
  #epochStartMs: number;
  #epochsDone = 0;
  #val: TrainProgress['val'];

  /** @param nowMs clock in ms (default `performance.now`; tests pass their own) */
  constructor(
    model: TrainProgress['model'],
    epochs: number,
    steps: number,
    onProgress: ((p: TrainProgress) => void) | undefined,
    nowMs: () => number = () => performance.now(),
  ) {
    this.#model = model;
    this.#epochs = epochs;
    this.#steps = steps;
    this.#onProgress = onProgress;
    this.#nowMs = nowMs;
    this.#startMs = nowMs();
    this.#epochStartMs = this.#startMs;
  }

  /** After training step `stepIndex` (0-based) of `epoch`, with the epoch's loss sum so far. */
  async step(epoch: number, stepIndex: number, lossSum: number): Promise<void> {
    const step = stepIndex + 1;
    if (step % REPORT_EVERY_STEPS !== 0 || step >= this.#steps) return;
    this.#report(epoch, step, lossSum / step);
    await yieldToEventLoop();
  }

  /**
   * At the end of `epoch`: runs `validate` (if any; its time counts towards the epoch), then reports
   * the epoch's mean loss, the metric and the ETA.
   * @returns the metric, or undefined without `validate`
   */
  async epochEnd(
    epoch: number,
    lossSum: number,
    validate?: () => ValMetric | Promise<ValMetric>,
  ): Promise<ValMetric | undefined> {
    let metric: ValMetric | undefined;
    if (validate) {
      metric = await validate();
      this.#val = { ...metric, epoch };
    }
    this.#epochsDone = epoch;
    this.#report(epoch, this.#steps, lossSum / Math.max(1, this.#steps));
    this.#epochStartMs = this.#nowMs();
    await yieldToEventLoop();
    return metric;
  }

  #report(epoch: number, step: number, loss: number): void {
    if (!this.#onProgress) return;
    const now = this.#nowMs();
    const elapsedMs = now - this.#startMs;
    let etaMs: number;
    if (this.#epochsDone >= epoch) {
      // An epoch's end: whole epochs left at the mean epoch duration.
      etaMs = (elapsedMs / this.#epochsDone) * (this.#epochs - this.#epochsDone);
    } else if (this.#epochsDone > 0) {
      const perEpoch = (this.#epochStartMs - this.#startMs) / this.#epochsDone;
      etaMs = Math.max(0, perEpoch * (this.#epochs - this.#epochsDone) - (now - this.#epochStartMs));
    } else {
      const perStep = (now - this.#epochStartMs) / step;
      etaMs = perStep * (this.#steps - step + (this.#epochs - epoch) * this.#steps);
    }
    this.#onProgress({
      model: this.#model,
      epoch,
      epochs: this.#epochs,
      step,
      steps: this.#steps,
      loss,
      ...(this.#val ? { val: this.#val } : {}),
      elapsedS: round2(elapsedMs / 1000),
      etaS: round2(etaMs / 1000),
    });
  }
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** `1 min 05 s`, `14 s`. */
export function formatSeconds(s: number): string {
  const whole = Math.max(0, Math.round(s));
  if (whole < 60) return `${whole} s`;
  return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, '0')} s`;
}

/**
 * One-line summary of a progress event, e.g.
 * `two-tower epoch 2/3 · loss 4.1234 · val recall@100 0.4120 · ETA 12 s` (the model name is left
 * out with `withModel: false`, for a bar already labelled with it).
 */
export function formatTrainProgress(t: TrainProgress, withModel = true): string {
  const parts = [
    `${withModel ? `${t.model} ` : ''}epoch ${t.epoch}/${t.epochs}`,
    ...(t.step < t.steps ? [`step ${t.step}/${t.steps}`] : []),
    `loss ${t.loss.toFixed(4)}`,
    ...(t.val ? [`val ${t.val.name} ${t.val.value.toFixed(4)}`] : []),
    `ETA ${formatSeconds(t.etaS)}`,
  ];
  return parts.join(' · ');
}

/**
 * Shows training progress through a `ProgressFactory` (sim/progress.ts): one stage per model run,
 * labelled `train.<model>`, counting steps over all epochs, its status the `formatTrainProgress`
 * text (epoch, loss, validation metric, ETA from epoch durations). On a terminal that is a live
 * bar; in CI logs one line per epoch end plus the stage's summary line.
 * @returns the listener to pass as `onProgress`, and `stop()` to end a run cut short
 */
export function trainProgressView(factory: ProgressFactory): {
  onProgress: (t: TrainProgress) => void;
  stop: () => void;
} {
  let current: { model: string; progress: Progress; done: number } | undefined;
  const stop = () => {
    current?.progress.stop();
    current = undefined;
  };
  return {
    onProgress(t) {
      const done = (t.epoch - 1) * t.steps + t.step;
      if (!current || current.model !== t.model || done < current.done) {
        stop();
        current = {
          model: t.model,
          progress: factory(`train.${t.model}`, t.epochs * t.steps, 'steps'),
          done: 0,
        };
      }
      current.progress.tick(done - current.done);
      current.done = done;
      const epochEnd = t.step === t.steps;
      current.progress.status(formatTrainProgress(t, false), epochEnd);
      if (epochEnd && t.epoch === t.epochs) stop();
    },
    stop,
  };
}
