/**
 * `reclab sim --fidelity high` (issue 13): the scenario in virtual time with the **real
 * `recommend()`** on every replica — the core built by its composition root over simulated
 * adapters that serve the world's data (sim/hifi/sim-ports.ts), the real FAISS indexes and ONNX
 * models computing real lists, every list scored against the world's ground truth like a live run's
 * (loadtest/quality-recorder.ts). For small runs: it proves the fleet run's surrogate honest
 * (docs/simulator.md, "High fidelity"), it does not replace it at 50K QPS.
 *
 * Same scenario, fleet, phases, faults, assertions and `RunResult` as `simulate()`
 * (sim/run/simulate.ts: `simContext`, `startRun`); the replicas differ (sim/hifi/hifi-replica.ts),
 * and the loop settles the core's promise jobs after every event (sim/hifi/settle.ts), each slice
 * under the no-wall-clock guard. Deterministic from the seed like the fleet run: the same
 * inputs give the same trace hash and `summary.json`.
 */
import { loadArtifacts } from '../../core/artifacts.ts';
import { createCore } from '../../core/compose.ts';
import { loadSettings } from '../../core/config/config.ts';
import { REGIONS } from '../../core/features/schema.ts';
import type { ModelSet } from '../../core/pipeline/recommend.ts';
import type { Random } from '../../core/ports/random.ts';
import type { SwappableModelSet } from '../../core/registry/model-slots.ts';
import { QualityRecorder } from '../../loadtest/quality-recorder.ts';
import { PAGE_COUNT } from '../../loadtest/segments/segment-run.ts';
import { withoutWallClockAsync } from '../engine/no-wall-clock.ts';
import { type SimOptions, type SimRun, simContext, startRun } from '../run/simulate.ts';
import type { World } from '../world/world.ts';
import { HifiReplica } from './hifi-replica.ts';
import { RealWork, runUntilSettled } from './settle.ts';
import {
  type SimSite,
  simFeatureStore,
  simImpressionLog,
  simModelSet,
  simRecentActivity,
  simSubscriptions,
  simTrending,
} from './sim-ports.ts';
import type { WorldData } from './world-data.ts';

/** What a high-fidelity run serves from: the world, its data in memory and its real models. */
export interface HifiInputs {
  world: World;
  data: WorldData;
  /** The real model set (FAISS, ONNX): shared by the replicas, released by the caller. */
  models: ModelSet;
  /** The editorial list (the quality report's reference rung). */
  editorial: readonly number[];
}

/**
 * Loads the real model set of an artifacts directory for a high-fidelity run with the core's loader
 * (core/artifacts.ts) and the deployed core's ANN settings: `RECLAB_ANN_FACTORY`,
 * `RECLAB_ANN_EF_SEARCH`, `RECLAB_ANN_NPROBE` from `coreEnv`, else the core's defaults (auto, 128,
 * 16), one ONNX Runtime thread.
 * @throws ReclabError RECLAB_ERR_ARTIFACT_INVALID as `loadArtifacts`
 */
export async function loadHifiModels(artifactsDir: string, coreEnv: Readonly<Record<string, string>>) {
  const ann = {
    factory: coreEnv.RECLAB_ANN_FACTORY ?? 'auto',
    efSearch: Number(coreEnv.RECLAB_ANN_EF_SEARCH ?? 128),
    nprobe: Number(coreEnv.RECLAB_ANN_NPROBE ?? 16),
  };
  // The content source reads the recent watches the pipeline already read (ctx.recentWatches);
  // this reader is its fallback and is never asked when the core has an activity port.
  const noWatches = { recentWatches: async () => [] as number[] };
  return loadArtifacts(artifactsDir, { ann, ortThreads: 1, recentWatches: noWatches });
}

/** Runs one high-fidelity simulation (file header). Throws as `simulate()`. */
export async function simulateHigh(opts: SimOptions, hifi: HifiInputs): Promise<SimRun> {
  const ctx = simContext(opts);
  const { scheduler, clock, fleet, endUs } = ctx;
  const settings = loadSettings(ctx.coreEnv);
  const work = new RealWork();
  const quality = new QualityRecorder(hifi.world, hifi.editorial, opts.seed);
  const replicas: HifiReplica[] = [];
  for (let index = 0; index < fleet.replicas.count; index++) {
    const site: SimSite = {
      index,
      scheduler,
      cpuServer: ctx.cpuServerOf(index),
      cpu: ctx.cpuSamplers(index),
      redis: ctx.redis,
      rankerPool: ctx.pool,
      kafka: ctx.kafka,
      ann: ctx.ann,
      work,
      candidates: fleet.candidates,
    };
    const models = simModelSet(site, hifi.models);
    // Each replica's streams under its own name: two replicas never draw the same exploration slots.
    const random: Random = {
      seed: opts.seed,
      stream: (name) => ctx.random.stream(`hifi.replica${index}.${name}`),
    };
    const core = await createCore<SwappableModelSet>(
      {
        features: simFeatureStore(site, hifi.data),
        activity: simRecentActivity(site, hifi.data.users),
        trending: simTrending(site),
        subscriptions: simSubscriptions(site, hifi.data),
        impressions: simImpressionLog(site),
        models: { initial: models, load: async () => models, warmUp: async () => {} },
      },
      { ...settings, instanceId: `replica${index}` },
      clock,
      random,
    );
    // Ready at once; admission reads the replica's CPU backlog (HifiReplica), not the lag probe.
    core.lifecycle.ready = true;
    replicas.push(
      new HifiReplica({
        site,
        core,
        requestOf: (u) => ({
          userId: `u_${u}`,
          count: PAGE_COUNT,
          regionIdx: hifi.world.userRegion[u] < REGIONS.length ? hifi.world.userRegion[u] : undefined,
          deviceIdx: undefined,
        }),
        gc: ctx.gcOf(index),
        onOutcome: ctx.onOutcome,
        onServed: (l) =>
          quality.recordVideos(
            ctx.phaseAt(l.intendedUs).name,
            l.userIdx,
            l.rung,
            l.videos,
            l.videos.length,
            0,
          ),
      }),
    );
    // The popularity cache fills at time 0 and refreshes on the virtual clock, as at a core's start.
    scheduler.at(0, () => {
      void core.start();
    });
    scheduler.at(endUs, () => core.stop());
  }
  const run = startRun(ctx, replicas);
  // Each slice under the no-wall-clock guard; progress between slices may read the wall clock.
  for (const end of run.sliceEnds) {
    await withoutWallClockAsync(() => runUntilSettled(scheduler, end, work));
    const failed = replicas.find((r) => r.failure !== undefined);
    if (failed) throw failed.failure;
    // Scoring between slices keeps the served-list log small (its order is the recording order).
    quality.flush();
    run.afterSlice(end);
  }
  await withoutWallClockAsync(() => runUntilSettled(scheduler, run.drainUntilUs, work));
  return run.finish({
    modelVersion: hifi.models.modelVersion,
    quality: quality.summary(),
    runIdSuffix: '-hifi',
  });
}
