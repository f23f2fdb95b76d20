export { type Distribution, meanOf, samplerOf } from './distributions.ts';
export {
  DEFAULT_FLEET,
  DEFAULT_RANKER_POOL,
  type FleetSpec,
  loadFleetFile,
  parseFleet,
} from './fleet-spec.ts';
export { KafkaModel } from './kafka-model.ts';
export { loadBalancer } from './load-balancer.ts';
export { RankerPool } from './ranker-pool.ts';
export { RedisCluster } from './redis-cluster.ts';
export { Replica } from './replica.ts';
