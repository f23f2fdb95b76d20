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
