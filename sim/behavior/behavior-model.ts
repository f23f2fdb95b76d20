import type { Random } from '../../core/ports/random.ts';
import { SimError } from '../sim-error.ts';
import { affinity } from '../world/affinity.ts';
import type { World } from '../world/world.ts';
import { chooseMultinomialLogit } from './choice-model.ts';
import { examinationProbability } from './position-bias.ts';
import { DEFAULT_WATCH_TIME_PARAMS, type WatchTimeParams, watchTimeS } from './watch-time.ts';

/** Parameters of the simulated user's response to a list. */
export interface BehaviorParams {
  /** Inverse temperature β of the choice model (sharper choices when larger). */
  beta: number;
  /** Utility of not clicking, on the affinity scale. */
  noClickUtility: number;
  /** Examination probability by 0-based rank. */
  examination: (rank: number) => number;
  watchTime: Readonly<WatchTimeParams>;
}

export const DEFAULT_BEHAVIOR_PARAMS: Readonly<BehaviorParams> = Object.freeze({
  beta: 5,
  noClickUtility: 0.65,
  examination: examinationProbability,
  watchTime: DEFAULT_WATCH_TIME_PARAMS,
});

/** A user's response to one list: at most one click (RecSim's single-choice session step). */
export interface ListResponse {
  /** 0-based position of the clicked item, −1 when nothing was clicked. */
  clickedPosition: number;
  /** Video index clicked, −1 when nothing was clicked. */
  clickedVideo: number;
  /** Seconds watched of the clicked video (0 without a click). */
  watchTimeS: number;
  /** How many items of the list the user examined. */
  examinedCount: number;
}

export interface BehaviorModel {
  /**
   * Simulates user `user` facing `ranked` (video indices, best first). Draws from the streams
   * `behavior.examine`, `behavior.choice` and `behavior.watch` in order, so a run is reproducible.
   * @throws SimError `RECLAB_ERR_BEHAVIOR_INPUT_INVALID` for an unknown user or video index.
   */
  respond(user: number, ranked: ArrayLike<number>): ListResponse;
}

/**
 * The ground-truth user: position-biased examination (`examinationProbability`), a multinomial
 * logit choice among examined items with a no-click option (RecSim), and watch time from affinity,
 * quality and duration (`watchTimeS`). Utilities are the world's `affinity(u, v)`.
 */
export function createBehaviorModel(
  world: World,
  random: Random,
  params: Partial<BehaviorParams> = {},
): BehaviorModel {
  const p: BehaviorParams = { ...DEFAULT_BEHAVIOR_PARAMS, ...params };
  const examineRng = random.stream('behavior.examine');
  const choiceRng = random.stream('behavior.choice');
  const watchRng = random.stream('behavior.watch');
  const { users, videos } = world.config;
  let utilities = new Float64Array(16);
  let examined = new Uint8Array(16);

  return {
    respond(user: number, ranked: ArrayLike<number>): ListResponse {
      if (!(user >= 0 && user < users && Number.isInteger(user))) {
        throw new SimError('RECLAB_ERR_BEHAVIOR_INPUT_INVALID', `user index ${user} (world has ${users})`);
      }
      const n = ranked.length;
      if (n > utilities.length) {
        utilities = new Float64Array(n);
        examined = new Uint8Array(n);
      }
      let examinedCount = 0;
      for (let i = 0; i < n; i++) {
        const v = ranked[i];
        if (!(v >= 0 && v < videos && Number.isInteger(v))) {
          throw new SimError('RECLAB_ERR_BEHAVIOR_INPUT_INVALID', `video index ${v} at position ${i}`);
        }
        utilities[i] = affinity(world, user, v);
        examined[i] = examineRng.next() < p.examination(i) ? 1 : 0;
        examinedCount += examined[i];
      }
      const pos = chooseMultinomialLogit(
        utilities.subarray(0, n),
        examined.subarray(0, n),
        p.beta,
        p.noClickUtility,
        choiceRng.next(),
      );
      if (pos < 0) return { clickedPosition: -1, clickedVideo: -1, watchTimeS: 0, examinedCount };
      const v = ranked[pos];
      const watched = watchTimeS(
        utilities[pos],
        world.videoQuality[v],
        world.videoDurationS[v],
        watchRng.normal(),
        p.watchTime,
      );
      return { clickedPosition: pos, clickedVideo: v, watchTimeS: watched, examinedCount };
    },
  };
}
