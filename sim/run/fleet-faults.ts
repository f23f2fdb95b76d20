/**
 * A scenario's faults (scenarios/define.ts `Fault`) as fleet state — the simulator's counterpart
 * of the live runner's injectors (loadtest/faults/live-faults.ts). Applied at the fault's `fromS`,
 * reverted at its window's end; `nodes` limits a Redis or ranker fault to the first N shards or nodes.
 *
 * | target | kind | fleet state |
 * |---|---|---|
 * | redis | down / hang | shards refuse connections / accept and never answer |
 * | redis | latency | every round trip + `latencyMs` ± `jitterMs` (uniform, seeded) |
 * | redis | timeout | hang (Toxiproxy's timeout toxic stops the data; its connection close after `timeoutMs` is not modelled) |
 * | redis | reset_peer | down (every call fails after a round trip) |
 * | redis, kafka | bandwidth | not modelled (noted) |
 * | redis | restart_empty | the shards lose their data for the rest of the run: reads answer on time with every key missing (the restart's seconds of refused connections are not modelled) |
 * | kafka | down, hang, timeout, reset_peer | brokers down: impressions held, replayed when they return |
 * | kafka | latency | not modelled: produce is off the request path |
 * | ranker_tier | down / hang | nodes refuse / never answer |
 * | ranker_tier | slow | batch service time × `slowFactor` (default 10) |
 * | ranker_tier | nan | answers on time with NaN scores: RECLAB_ERR_RANKER_INVALID_OUTPUT |
 * | ann_index | missing | the `ann` sources fail at once (RECLAB_ERR_RETRIEVAL_UNAVAILABLE) |
 * | ann_index | stale | not modelled: the surrogate has no freshness (noted in the fault log) |
 *
 * A ranker fault on a fleet without a ranker pool has nothing to hit and is noted.
 */
import type { Fault } from '../../scenarios/define.ts';
import type { Health } from '../fleet/health.ts';
import type { KafkaModel } from '../fleet/kafka-model.ts';
import type { RankerPool } from '../fleet/ranker-pool.ts';
import type { RedisCluster } from '../fleet/redis-cluster.ts';

const UP: Health = { state: 'up', slowFactor: 1, extraLatencyUs: 0 };

/** The ANN index as the replicas see it. */
export class AnnIndexModel {
  missing = false;
}

export interface FleetFaultState {
  redis: RedisCluster;
  pool: RankerPool | undefined;
  kafka: KafkaModel;
  ann: AnnIndexModel;
}

/** The fault's health for a Redis shard or ranker node, or undefined when it has none. */
function healthOf(f: Fault): Health | undefined {
  switch (f.kind) {
    case 'down':
    case 'reset_peer':
      return { state: 'down', slowFactor: 1, extraLatencyUs: 0 };
    case 'hang':
    case 'timeout':
      return { state: 'hang', slowFactor: 1, extraLatencyUs: 0 };
    case 'latency':
      return {
        state: 'slow',
        slowFactor: 1,
        extraLatencyUs: (f.latencyMs ?? 0) * 1000,
        jitterUs: (f.jitterMs ?? 0) * 1000,
      };
    case 'slow':
      return { state: 'slow', slowFactor: f.slowFactor ?? 10, extraLatencyUs: 0 };
    case 'nan':
      return { state: 'invalid', slowFactor: 1, extraLatencyUs: 0 };
    default:
      return undefined;
  }
}

/** Puts `f` in force; returns a note when the fleet model has no counterpart for it. */
export function applyFault(f: Fault, fleet: FleetFaultState): string | undefined {
  return setFault(f, fleet, true);
}

/** Ends `f`: the faulted part is healthy again (a stopped broker replays what was held). */
export function revertFault(f: Fault, fleet: FleetFaultState): void {
  setFault(f, fleet, false);
}

function setFault(f: Fault, fleet: FleetFaultState, on: boolean): string | undefined {
  switch (f.target) {
    case 'redis': {
      if (f.kind === 'restart_empty') {
        // A one-off event (no window): the data stays lost, nothing reloads it.
        if (on) fleet.redis.loseData(f.nodes ?? fleet.redis.shards.length);
        return undefined;
      }
      if (f.kind === 'bandwidth') return 'not modelled: the fleet has no bandwidth model';
      fleet.redis.setHealth(f.nodes ?? fleet.redis.shards.length, on ? healthOf(f)! : UP);
      return undefined;
    }
    case 'kafka':
      if (f.kind === 'latency' || f.kind === 'bandwidth')
        return 'not modelled: producing is off the request path';
      fleet.kafka.setUp(!on);
      return undefined;
    case 'ranker_tier':
      if (!fleet.pool) return 'no ranker pool in this fleet';
      fleet.pool.setHealth(f.nodes ?? fleet.pool.nodes.length, on ? healthOf(f)! : UP);
      return undefined;
    case 'ann_index':
      if (f.kind === 'stale') return 'not modelled: the quality surrogate has no freshness';
      fleet.ann.missing = on;
      return undefined;
  }
}
