/**
 * Random — named, seeded random streams (ARCHITECTURE.md, "Ports and adapters").
 *
 * Every random draw in reclab comes from a stream named for its purpose ("world.users",
 * "behavior.choice", …) and derived from the run's seed. Adding a new consumer does not shift the
 * numbers that existing consumers see (the approach of temporalio/sdk-typescript).
 */
export interface RandomStream {
  /** Uniform double in [0, 1), 53 bits of precision. */
  next(): number;
  /** Uniform integer in [0, n). `n` must be a positive integer ≤ 2^32. */
  int(n: number): number;
  /** Standard normal draw (mean 0, sd 1). */
  normal(): number;
}

export interface Random {
  /** The run's seed every stream derives from. */
  readonly seed: number;
  /** A fresh stream for `name`; the same (seed, name) always gives the same sequence. */
  stream(name: string): RandomStream;
}
