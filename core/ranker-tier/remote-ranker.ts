import { Pool } from 'undici';
import { ReclabError } from '../errors.ts';
import { RANKER_INPUT_DIM } from '../features/schema.ts';
import type { Clock } from '../ports/clock.ts';
import type { Predictions, Ranker } from '../ports/ranker.ts';
import {
  CONTENT_TYPE,
  decodePredictions,
  encodeRows,
  HEADER_MODEL_VERSION,
  HEADER_ROWS,
} from './wire-format.ts';

export interface RemoteRankerOptions {
  /** Base URL of the ranker tier, e.g. `http://127.0.0.1:8090` (path ignored). */
  url: string;
  /** Registry version the tier scores with (sent as `x-reclab-model-version`). */
  modelVersion: string;
  /** Keep-alive connections to the tier at most (default 8). */
  connections?: number;
  /** One call's backstop, ms from `score` to the decoded reply (default 1000): RECLAB_ERR_RANKER_TIMEOUT. */
  timeoutMs?: number;
  /** Calls in flight at most (waiting for a connection included); beyond: RECLAB_ERR_RANKER_OVERLOADED (default 64). */
  maxPending?: number;
  /**
   * Time source of the timeout: the core's injected clock (core/main.ts passes it), never a clock of
   * the client's own, so every timer on the request path comes from one `Clock` (issue 13).
   */
  clock: Clock;
}

/** undici's own timeouts (set to `timeoutMs` too, as a second line behind the clock's abort). */
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

interface Transport {
  pool: Pool;
  timeoutMs: number;
  maxPending: number;
  clock: Clock;
  pending: number;
  rejectedFull: number;
}

/** Set only while `withVersion` constructs a ranker that shares its transport. */
let sharing: Transport | undefined;

/**
 * The main ranker behind the ranker tier (core/ranker-tier/server.ts), over HTTP/1.1 keep-alive with
 * undici (a `Pool` of at most `connections`): `score` sends the rows in the binary wire format
 * (wire-format.ts) and decodes the heads. Implements the `Ranker` port, so the core wraps it in the
 * same deadline and breaker as the in-process OnnxRanker (seed 000 §2.5: GPU ranking pool, CPU
 * fallback; §6: ranker failure degrades).
 *
 * Errors (ReclabError, matched on `code`; the tier's own code is in the message):
 * - RECLAB_ERR_RANKER_UNAVAILABLE: connection refused or reset, the tier killed mid-call, any
 *   non-200 reply (404 unknown version, 503 draining, 5xx) — a dead tier is refused by the kernel,
 *   so this arrives in about a round trip, never after the timeout;
 * - RECLAB_ERR_RANKER_TIMEOUT: no decoded reply within `timeoutMs` (a paused or stalled tier);
 * - RECLAB_ERR_RANKER_OVERLOADED: the tier's batch queue is full (its 503), or `maxPending` calls
 *   are already in flight from this client;
 * - RECLAB_ERR_RANKER_INVALID_OUTPUT: a reply that is not a well-formed RKP1 body for n rows.
 */
export class RemoteRanker implements Ranker {
  readonly modelVersion: string;
  readonly #t: Transport;
  readonly #owner: boolean;

  constructor(opts: RemoteRankerOptions) {
    this.modelVersion = opts.modelVersion;
    this.#owner = sharing === undefined;
    if (sharing) {
      this.#t = sharing;
      return;
    }
    const timeoutMs = opts.timeoutMs ?? 1000;
    this.#t = {
      pool: new Pool(new URL(opts.url).origin, {
        connections: opts.connections ?? 8,
        pipelining: 1,
        connectTimeout: Math.min(timeoutMs, 1000),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        keepAliveTimeout: 30_000,
      }),
      timeoutMs,
      maxPending: opts.maxPending ?? 64,
      clock: opts.clock,
      pending: 0,
      rejectedFull: 0,
    };
  }

  /** A ranker for another version over the same connections and pending limit (closing it is a no-op). */
  withVersion(modelVersion: string): RemoteRanker {
    sharing = this.#t;
    try {
      return new RemoteRanker({ url: '', modelVersion, clock: this.#t.clock });
    } finally {
      sharing = undefined;
    }
  }

  /** Calls in flight, and calls refused because `maxPending` were. */
  stats(): { pending: number; rejectedFull: number } {
    return { pending: this.#t.pending, rejectedFull: this.#t.rejectedFull };
  }

  /** `features`: `Float32Array` of length n × RANKER_INPUT_DIM. See the class for the errors. */
  async score(features: Float32Array, n: number): Promise<Predictions> {
    if (n === 0) return { pClick: new Float32Array(0), watchTimeS: new Float32Array(0) };
    if (features.length !== n * RANKER_INPUT_DIM) {
      throw new ReclabError(
        'RECLAB_ERR_RANKER_UNAVAILABLE',
        `input has ${features.length} floats for ${n} rows of ${RANKER_INPUT_DIM}`,
      );
    }
    const t = this.#t;
    if (t.pending >= t.maxPending) {
      t.rejectedFull++;
      throw new ReclabError(
        'RECLAB_ERR_RANKER_OVERLOADED',
        `${t.pending} calls to the ranker tier in flight`,
      );
    }
    t.pending++;
    const abort = new AbortController();
    const cancel = t.clock.setTimer(t.timeoutMs, () => abort.abort());
    try {
      const res = await t.pool.request({
        path: '/v1/rank',
        method: 'POST',
        headers: {
          'content-type': CONTENT_TYPE,
          [HEADER_MODEL_VERSION]: this.modelVersion,
          [HEADER_ROWS]: String(n),
        },
        body: encodeRows(features),
        signal: abort.signal,
      });
      const body = new Uint8Array(await res.body.arrayBuffer());
      if (res.statusCode === 200) return decodePredictions(body, n);
      throw remoteError(res.statusCode, body);
    } catch (err) {
      if (err instanceof ReclabError) throw err;
      const code = (err as { code?: string }).code ?? '';
      if (abort.signal.aborted || TIMEOUT_CODES.has(code)) {
        throw new ReclabError('RECLAB_ERR_RANKER_TIMEOUT', `ranker tier gave no reply in ${t.timeoutMs} ms`, {
          cause: err,
        });
      }
      throw new ReclabError(
        'RECLAB_ERR_RANKER_UNAVAILABLE',
        `ranker tier: ${code || (err as Error).name}: ${(err as Error).message}`,
        { cause: err },
      );
    } finally {
      cancel();
      t.pending--;
    }
  }

  /** Closes the connections (the ranker that created them only); calls in flight finish first. */
  async close(): Promise<void> {
    if (this.#owner) await this.#t.pool.close();
  }

  /** `close()`, under the name a model set uses to free what it owns (core/artifacts.ts `OwnedRanker`). */
  release(): Promise<void> {
    return this.close();
  }
}

/** Maps a non-200 reply of the tier to the client's code (the tier's code kept in the message). */
function remoteError(status: number, body: Uint8Array): ReclabError {
  let code = `HTTP ${status}`;
  let message = '';
  try {
    const parsed = JSON.parse(Buffer.from(body).toString('utf8')) as {
      error?: { code?: string; message?: string };
    };
    code = parsed.error?.code ?? code;
    message = parsed.error?.message ?? '';
  } catch {
    // not JSON: keep the status
  }
  return new ReclabError(
    code === 'RECLAB_ERR_RANKER_OVERLOADED'
      ? 'RECLAB_ERR_RANKER_OVERLOADED'
      : 'RECLAB_ERR_RANKER_UNAVAILABLE',
    `ranker tier answered ${status} ${code}${message ? `: ${message}` : ''}`,
  );
}
