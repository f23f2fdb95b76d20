import { createHash } from 'node:crypto';

export interface ExperimentConfig {
  /** Experiment id, also the hashing layer: two experiments hash independently. */
  id: string;
  /** Variants and their traffic shares; shares are normalised. */
  variants: readonly { name: string; share: number }[];
}

/**
 * Sticky, hash-based A/B assignment (seed 000 §2.1: Hash(user_id + experiment_id) → bucket).
 * The same user always gets the same variant of an experiment; the experiment id salts the hash so
 * assignments in different experiments (layers) are independent.
 */
export function assignVariant(userId: string, exp: ExperimentConfig): string {
  const digest = createHash('sha256').update(`${exp.id}:${userId}`).digest();
  const u = digest.readUInt32BE(0) / 2 ** 32;
  const total = exp.variants.reduce((s, v) => s + v.share, 0);
  let acc = 0;
  for (const v of exp.variants) {
    acc += v.share / total;
    if (u < acc) return v.name;
  }
  return exp.variants[exp.variants.length - 1].name;
}
