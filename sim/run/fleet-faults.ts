import type { FaultStep } from '../../scenarios/define.ts';
import type { Health } from '../fleet/health.ts';
import type { KafkaModel } from '../fleet/kafka-model.ts';
import type { RankerPool } from '../fleet/ranker-pool.ts';
import type { RedisCluster } from '../fleet/redis-cluster.ts';

const UP: Health = { state: 'up', slowFactor: 1, extraLatencyUs: 0 };
const DOWN: Health = { state: 'down', slowFactor: 1, extraLatencyUs: 0 };
const HANG: Health = { state: 'hang', slowFactor: 1, extraLatencyUs: 0 };

/**
 * A scenario's fault step as the fleet model sees it — the simulator's counterpart of the live
 * runner's injectors (loadtest/faults/): `stop` = down (connections refused; a killed process, a
 * stopped container), `pause` = hang (accepted, never answered; SIGSTOP, a paused container),
 * `start`/`unpause` = healthy again. `nodes` limits a fault to the first N shards or ranker nodes.
 * A ranker-tier fault on a fleet without a ranker pool has nothing to hit and is ignored.
 */
export function applyFault(
  f: FaultStep,
  fleet: { redis: RedisCluster; pool: RankerPool | undefined; kafka: KafkaModel },
): void {
  const health = f.action === 'stop' ? DOWN : f.action === 'pause' ? HANG : UP;
  switch (f.target) {
    case 'redis':
      fleet.redis.setHealth(f.nodes ?? fleet.redis.shards.length, health);
      return;
    case 'ranker_tier':
      fleet.pool?.setHealth(f.nodes ?? fleet.pool.nodes.length, health);
      return;
    case 'kafka':
      fleet.kafka.setUp(health.state === 'up');
      return;
  }
}
