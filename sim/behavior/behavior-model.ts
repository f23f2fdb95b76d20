import type { Random, RandomStream } from '../../core/ports/random.ts';
import type { World } from '../world/world.ts';
import { type BehaviorParams, resolveBehaviorParams } from './behavior-params.ts';
import { chooseMultinomialLogit } from './choice-model.ts';
import { videoClickbait } from './clickbait.ts';
import { driftPreference } from './drift.ts';
import { type ExpectedResponse, expectedResponse } from './expected-response.ts';
import { checkUser, checkVideos } from './input-checks.ts';
import { clickUtility, itemTruth, newItemTruth } from './item-truth.ts';
import { examinationProbability } from './position-bias.ts';
import { type ReactionProbabilities, reactionProbabilities, sampleReaction } from './reactions.ts';
import { bounceProbability, sampledCompletion } from './watch-time.ts';

export type { BehaviorParams } from './behavior-params.ts';

/** A user's response to one list: at most one click (RecSim's single-choice session step). */
export interface ListResponse {
  /** 0-based position of the clicked item, −1 when nothing was clicked. */
  clickedPosition: number;
  /** Video index clicked, −1 when nothing was clicked. */
  clickedVideo: number;
  /** Seconds watched of the clicked video (0 without a click), in [0, duration]. */
  watchTimeS: number;
  /** How many items of the list the user examined. */
  examinedCount: number;
  /** The user liked the clicked video (never together with `disliked`; false without a click). */
  liked: boolean;
  /** The user disliked the clicked video (false without a click). */
  disliked: boolean;
  /** The user watched at least `finishCompletion` of the clicked video (false without a click). */
  finished: boolean;
}

/** One user's session: lists are judged by the preference drifted by what was watched before. */
export interface BehaviorSession {
  /** The session's user index. */
  readonly user: number;
  /** Lists answered so far. */
  readonly listsSeen: number;
  /** Simulates the response to `ranked`, then drifts the preference toward the watched video. */
  respond(ranked: ArrayLike<number>): ListResponse;
  /** The exact expected response to `ranked` under the current (drifted) preference; draws nothing. */
  expected(ranked: ArrayLike<number>): ExpectedResponse;
  /** A copy of the current preference vector: `Float64Array(latentDim)`, unit length. */
  preference(): Float64Array;
  /** A copy of `preference − userLatent[user]` (zeros before any watch): `Float64Array(latentDim)`. */
  preferenceDelta(): Float64Array;
}

export interface BehaviorModel {
  /** The resolved parameters (frozen). */
  readonly params: Readonly<BehaviorParams>;
  /**
   * Simulates user `user` (base preference, no drift) facing `ranked` (video indices, best first).
   * Draws from the streams `behavior.examine` (one per position), `behavior.choice` (one), and on a
   * click `behavior.watch` (one normal), `behavior.bounce` (one) and `behavior.reaction` (one), so a
   * run is reproducible and each stream's sequence does not depend on the others' consumers.
   * @throws SimError `RECLAB_ERR_BEHAVIOR_INPUT_INVALID` for an unknown user or video index.
   */
  respond(user: number, ranked: ArrayLike<number>): ListResponse;
  /** The exact expected response of `user` (base preference) to `ranked`; draws nothing. */
  expected(user: number, ranked: ArrayLike<number>): ExpectedResponse;
  /**
   * Starts a session for `user` with interest drift (`driftStep`). Without `key` the session draws
   * from the model's shared streams (deterministic for a fixed call order); with `key` it draws from
   * its own streams `behavior.<part>/<key>`, so its responses do not depend on how sessions interleave
   * (live runs, where responses arrive in any order). Creating a keyed session costs ≈ 10 µs.
   * @throws SimError `RECLAB_ERR_BEHAVIOR_INPUT_INVALID` for an unknown user.
   */
  session(user: number, key?: string | number): BehaviorSession;
}

interface Streams {
  examine: RandomStream;
  choice: RandomStream;
  watch: RandomStream;
  bounce: RandomStream;
  reaction: RandomStream;
}

function streams(random: Random, suffix: string): Streams {
  return {
    examine: random.stream(`behavior.examine${suffix}`),
    choice: random.stream(`behavior.choice${suffix}`),
    watch: random.stream(`behavior.watch${suffix}`),
    bounce: random.stream(`behavior.bounce${suffix}`),
    reaction: random.stream(`behavior.reaction${suffix}`),
  };
}

/**
 * The ground-truth user: position-biased examination (`examinationProbability`), a multinomial
 * logit choice among examined items with a no-click option (RecSim; clickbait raises the click
 * utility), watch time from affinity, quality and duration, cut short when a click on clickbait
 * bounces (`watch-time.ts`), a like / dislike reaction (`reactions.ts`), finish when the watched
 * share reaches `finishCompletion`, and interest drift across the lists of a session (`drift.ts`).
 * docs/behavior-model.md has the model and the source of every parameter.
 *
 * @param params overrides of `DEFAULT_BEHAVIOR_PARAMS`
 * @throws SimError `RECLAB_ERR_BEHAVIOR_INPUT_INVALID` for invalid parameters
 */
export function createBehaviorModel(
  world: World,
  random: Random,
  params: Partial<BehaviorParams> = {},
): BehaviorModel {
  const p = resolveBehaviorParams(params);
  const shared = streams(random, '');
  const clickbait = videoClickbait(world);
  const d = world.config.latentDim;
  const truth = newItemTruth();
  const reaction: ReactionProbabilities = { like: 0, dislike: 0 };
  let utilities = new Float64Array(16);
  let examined = new Uint8Array(16);

  /** One list's response; `delta` is the drifted preference − base latent (undefined: none). */
  function simulate(s: Streams, user: number, ranked: ArrayLike<number>, delta?: Float64Array): ListResponse {
    checkUser(world, user);
    checkVideos(world, ranked);
    const n = ranked.length;
    if (n > utilities.length) {
      utilities = new Float64Array(n);
      examined = new Uint8Array(n);
    }
    let examinedCount = 0;
    for (let i = 0; i < n; i++) {
      utilities[i] = clickUtility(world, p, user, ranked[i], clickbait, delta);
      examined[i] = s.examine.next() < examinationProbability(i, p.examinationExponent) ? 1 : 0;
      examinedCount += examined[i];
    }
    const pos = chooseMultinomialLogit(
      utilities.subarray(0, n),
      examined.subarray(0, n),
      p.choiceBeta,
      p.noClickUtility,
      s.choice.next(),
    );
    if (pos < 0) {
      return {
        clickedPosition: -1,
        clickedVideo: -1,
        watchTimeS: 0,
        examinedCount,
        liked: false,
        disliked: false,
        finished: false,
      };
    }
    const v = ranked[pos];
    itemTruth(world, p, user, v, clickbait, delta, truth);
    const z = s.watch.normal();
    const bounced = s.bounce.next() < bounceProbability(p, truth.clickbait);
    const completion = sampledCompletion(p, truth.completionLogit, z, bounced);
    const r = sampleReaction(
      reactionProbabilities(p, truth.affinity, truth.quality, truth.clickbait, reaction),
      s.reaction.next(),
    );
    return {
      clickedPosition: pos,
      clickedVideo: v,
      watchTimeS: truth.durationS * completion,
      examinedCount,
      liked: r === 1,
      disliked: r === -1,
      // As in finishProbability: completion < 1 always, so finishCompletion = 1 never finishes.
      finished: completion >= p.finishCompletion && p.finishCompletion < 1,
    };
  }

  return {
    params: p,
    respond: (user, ranked) => simulate(shared, user, ranked),
    expected: (user, ranked) => expectedResponse(world, p, user, ranked),
    session(user: number, key?: string | number): BehaviorSession {
      checkUser(world, user);
      const s = key === undefined ? shared : streams(random, `/${key}`);
      const pref = Float64Array.from(world.userLatent.subarray(user * d, (user + 1) * d));
      const delta = new Float64Array(d);
      let listsSeen = 0;
      let drifted = false;
      const updateDelta = () => {
        for (let k = 0; k < d; k++) delta[k] = pref[k] - world.userLatent[user * d + k];
      };
      return {
        user,
        get listsSeen() {
          return listsSeen;
        },
        respond(ranked: ArrayLike<number>): ListResponse {
          const r = simulate(s, user, ranked, drifted ? delta : undefined);
          listsSeen++;
          if (r.clickedVideo >= 0 && p.driftStep > 0) {
            const completion = r.watchTimeS / world.videoDurationS[r.clickedVideo];
            driftPreference(pref, world.videoLatent, r.clickedVideo, p.driftStep * completion);
            updateDelta();
            drifted = true;
          }
          return r;
        },
        expected: (ranked) => expectedResponse(world, p, user, ranked, drifted ? delta : undefined),
        preference: () => pref.slice(),
        preferenceDelta: () => delta.slice(),
      };
    },
  };
}
