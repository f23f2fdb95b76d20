import {
  RANKER_INPUT_DIM,
  rankerInput,
  USER_FEATURE_DIM,
  USER_RECORD_LEN,
  userModelInput,
  VIDEO_FEATURE_DIM,
  VIDEO_RECORD_LEN,
  videoModelInput,
} from '../../core/features/schema.ts';
import type { RandomStream } from '../../core/ports/random.ts';
import { dotRows } from '../util/vector.ts';
import type { RankerData } from './ranker.ts';
import type { LogSlice } from './simulate-logs.ts';
import { EMB_DIM, shuffle, type TwoTowerData } from './two-tower.ts';

/**
 * Builds training and evaluation rows from logs with the serving-side feature functions of
 * core/features/schema.ts (`userModelInput`, `videoModelInput`, `rankerInput`), so a model sees in
 * training exactly what the core will feed it. Video ages are taken at each session's time.
 */

/** Indices of clicked impressions in `slice`, shuffled by `rng`, at most `max`. */
export function sampleClicks(slice: LogSlice, max: number, rng: RandomStream): Uint32Array {
  const { log, startSession, endSession } = slice;
  const found: number[] = [];
  for (let i = startSession * log.k; i < endSession * log.k; i++) if (log.clicked[i]) found.push(i);
  const all = Uint32Array.from(found);
  shuffle(all, rng);
  return all.slice(0, Math.min(max, all.length));
}

/** Session indices of `slice`, shuffled by `rng`, at most `max`. */
export function sampleSessions(slice: LogSlice, max: number, rng: RandomStream): Uint32Array {
  const all = Uint32Array.from(
    { length: slice.endSession - slice.startSession },
    (_, i) => slice.startSession + i,
  );
  shuffle(all, rng);
  return all.slice(0, Math.min(max, all.length));
}

/**
 * Two-tower positives from clicked impressions `clicks` (indices into `slice.log`). `logQ` is the
 * log of each video's share among these positives (the in-batch sampling distribution).
 */
export function twoTowerData(
  slice: LogSlice,
  clicks: Uint32Array,
  userRec: Float32Array,
  videoRec: Float32Array,
): TwoTowerData {
  const { log } = slice;
  const pairs = clicks.length;
  const userX = new Float32Array(pairs * USER_FEATURE_DIM);
  const videoX = new Float32Array(pairs * VIDEO_FEATURE_DIM);
  const video = new Uint32Array(pairs);
  const counts = new Map<number, number>();
  for (let p = 0; p < pairs; p++) {
    const i = clicks[p];
    const u = log.user[i];
    const v = log.video[i];
    video[p] = v;
    counts.set(v, (counts.get(v) ?? 0) + 1);
    userModelInput(
      userRec.subarray(u * USER_RECORD_LEN, (u + 1) * USER_RECORD_LEN),
      userX,
      p * USER_FEATURE_DIM,
    );
    videoModelInput(
      videoRec.subarray(v * VIDEO_RECORD_LEN, (v + 1) * VIDEO_RECORD_LEN),
      log.sessionTsS[Math.floor(i / log.k)],
      videoX,
      p * VIDEO_FEATURE_DIM,
    );
  }
  const logQ = new Float32Array(pairs);
  for (let p = 0; p < pairs; p++) logQ[p] = Math.log(counts.get(video[p])! / pairs);
  return { pairs, userX, videoX, video, logQ };
}

/**
 * Ranker rows for every impression of the given sessions, built with `rankerInput()`; the affinity
 * column is the two-tower dot product of the stored user and item embeddings (as at serving).
 * Rows of a session are contiguous and in logged order (row `s·k + j` is position j of session s).
 * @returns `RankerData` plus the video index of each row (`Uint32Array(rows)`)
 */
export function rankerData(
  slice: LogSlice,
  sessions: Uint32Array,
  userRec: Float32Array,
  videoRec: Float32Array,
  userEmb: Float32Array,
  itemEmb: Float32Array,
): RankerData & { video: Uint32Array } {
  const { log } = slice;
  const k = log.k;
  const rows = sessions.length * k;
  const x = new Float32Array(rows * RANKER_INPUT_DIM);
  const clicked = new Uint8Array(rows);
  const watchTimeS = new Float32Array(rows);
  const video = new Uint32Array(rows);
  const position = new Uint8Array(rows);
  const liked = new Uint8Array(rows);
  const finished = new Uint8Array(rows);
  const disliked = new Uint8Array(rows);
  const items: Float32Array[] = new Array(k);
  const aff = new Float32Array(k);
  for (let s = 0; s < sessions.length; s++) {
    const session = sessions[s];
    const u = log.sessionUser[session];
    for (let j = 0; j < k; j++) {
      const i = session * k + j;
      const v = log.video[i];
      items[j] = videoRec.subarray(v * VIDEO_RECORD_LEN, (v + 1) * VIDEO_RECORD_LEN);
      aff[j] = dotRows(userEmb, u, itemEmb, v, EMB_DIM);
      clicked[s * k + j] = log.clicked[i];
      watchTimeS[s * k + j] = log.watchTimeS[i];
      video[s * k + j] = v;
      position[s * k + j] = log.position[i];
      liked[s * k + j] = log.liked[i];
      finished[s * k + j] = log.finished[i];
      disliked[s * k + j] = log.disliked[i];
    }
    const user = userRec.subarray(u * USER_RECORD_LEN, (u + 1) * USER_RECORD_LEN);
    x.set(rankerInput(user, items, aff, log.sessionTsS[session]), s * k * RANKER_INPUT_DIM);
  }
  return { rows, x, clicked, watchTimeS, position, liked, finished, disliked, video };
}

/** `userModelInput` rows for all users: `Float32Array(users × USER_FEATURE_DIM)`. */
export function allUserInputs(userRec: Float32Array): Float32Array {
  const users = userRec.length / USER_RECORD_LEN;
  const out = new Float32Array(users * USER_FEATURE_DIM);
  for (let u = 0; u < users; u++) {
    userModelInput(
      userRec.subarray(u * USER_RECORD_LEN, (u + 1) * USER_RECORD_LEN),
      out,
      u * USER_FEATURE_DIM,
    );
  }
  return out;
}

/** `videoModelInput` rows for all videos at `nowS`: `Float32Array(videos × VIDEO_FEATURE_DIM)`. */
export function allVideoInputs(videoRec: Float32Array, nowS: number): Float32Array {
  const videos = videoRec.length / VIDEO_RECORD_LEN;
  const out = new Float32Array(videos * VIDEO_FEATURE_DIM);
  for (let v = 0; v < videos; v++) {
    videoModelInput(
      videoRec.subarray(v * VIDEO_RECORD_LEN, (v + 1) * VIDEO_RECORD_LEN),
      nowS,
      out,
      v * VIDEO_FEATURE_DIM,
    );
  }
  return out;
}
