import type { ErrorCode } from '../errors.ts';

/**
 * The rungs of the fallback ladder, best first (ARCHITECTURE.md; seed 000 §6, seed 002's fallback
 * hierarchy). A response is served by the lowest rung any stage fell to.
 */
export const RUNGS = [
  'full',
  'partial_retrieval',
  'light_ranker',
  'retrieval_scores',
  'default_features',
  'popularity',
  'editorial',
] as const;

export type Rung = (typeof RUNGS)[number];

const RANK: Record<Rung, number> = Object.fromEntries(RUNGS.map((r, i) => [r, i])) as Record<Rung, number>;

/** The more degraded of two rungs. */
export function lowerRung(a: Rung, b: Rung): Rung {
  return RANK[a] >= RANK[b] ? a : b;
}

/** One reason a request stepped down the ladder: which stage, and the error code it saw. */
export interface DegradeReason {
  stage: string;
  code: ErrorCode;
}

/**
 * Accumulates the rung and reasons of one request. Stages call `degrade()` when they fall back;
 * the response reports `rung` and `reasons`.
 */
export class LadderPosition {
  #rung: Rung = 'full';
  readonly reasons: DegradeReason[] = [];

  get rung(): Rung {
    return this.#rung;
  }

  degrade(to: Rung, stage: string, code: ErrorCode): void {
    this.#rung = lowerRung(this.#rung, to);
    this.reasons.push({ stage, code });
  }

  /**
   * Records a reason without stepping down: the rung still says how the page was made (e.g. a page
   * topped up from a lower rung, whose items name their own `source`).
   */
  note(stage: string, code: ErrorCode): void {
    this.reasons.push({ stage, code });
  }
}
