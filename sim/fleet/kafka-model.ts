/**
 * Impressions on their way to Kafka, as counts (no per-impression state: memory stays flat at any
 * rate). While the brokers are up an impression is delivered; while they are down it is held
 * (the live core's memory buffer and disk spool, docs/impressions.md) up to `spoolMaxImpressions`
 * per replica and replayed when they return; beyond that bound it is lost and counted.
 */
export class KafkaModel {
  up = true;
  published = 0;
  delivered = 0;
  lost = 0;
  /** Held per replica while the brokers are down. */
  readonly #held: number[];
  readonly #spoolMax: number;

  constructor(replicas: number, spoolMaxImpressions: number) {
    this.#held = new Array<number>(replicas).fill(0);
    this.#spoolMax = spoolMaxImpressions;
  }

  publish(replica: number): void {
    this.published++;
    if (this.up) this.delivered++;
    else if (this.#held[replica] < this.#spoolMax) this.#held[replica]++;
    else this.lost++;
  }

  /** Impressions held now, all replicas. */
  get held(): number {
    let s = 0;
    for (const h of this.#held) s += h;
    return s;
  }

  setUp(up: boolean): void {
    this.up = up;
    if (!up) return;
    // Replay, oldest first: every held impression reaches the topic.
    for (let i = 0; i < this.#held.length; i++) {
      this.delivered += this.#held[i];
      this.#held[i] = 0;
    }
  }
}
