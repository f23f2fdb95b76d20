import cliProgress from 'cli-progress';

/**
 * Progress of long lab jobs (world generation, loading, training) for humans, without flooding CI
 * logs. On an interactive terminal it draws a cli-progress bar per stage (items done, rate, time
 * left); otherwise it prints at most one line per stage, when the stage stops.
 *
 * Reads no environment itself: the caller (bin/, a runner) passes its `env` and stream in, so the
 * choice is testable (STYLE.md, "Process state passed in").
 */

/** One stage of work with a known number of items. */
export interface Progress {
  /** Marks `n` more items done (default 1). Cheap enough to call once per chunk, not per item. */
  tick(n?: number): void;
  /**
   * Sets the stage's status text (e.g. `epoch 2/3 · loss 0.4121 · val auc 0.7412 · ETA 14 s`). On a
   * terminal it replaces the bar's own ETA at the end of the bar (the caller's text then carries
   * its own estimate). In lines mode it is printed as its own line `label: text` when `line` is
   * true (a milestone such as an epoch's end: callers keep these few) and otherwise only kept for
   * the bar. Ignored after `stop()`.
   */
  status(text: string, line?: boolean): void;
  /** Ends the stage: finishes the bar or prints the summary line. Idempotent. */
  stop(): void;
}

/**
 * Makes a `Progress` for a stage of `total` units (`unit`, default `items`): what long jobs accept,
 * so their callers choose how to report.
 */
export type ProgressFactory = (label: string, total: number, unit?: string) => Progress;

/** `bar`: a live cli-progress bar; `lines`: one summary line per stage; `silent`: nothing. */
export type ProgressMode = 'bar' | 'lines' | 'silent';

/** Where progress goes; the subset of `NodeJS.WriteStream` this module uses. */
export interface ProgressStream {
  write(chunk: string): boolean;
  readonly isTTY?: boolean;
}

export interface ProgressOptions {
  /** Default: `progressMode(stream, env)`. */
  mode?: ProgressMode;
  /** Default: `process.stderr` (stdout stays clean for machine-readable output). */
  stream?: ProgressStream;
  /** Environment used to detect CI; default `{}` (only the TTY check applies). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Clock in milliseconds, for tests; default `performance.now`. */
  nowMs?: () => number;
  /** What is counted, plural (`items`, `bytes`, `rows`); default `items`. */
  unit?: string;
}

/** Interactive bar only on a TTY outside CI (`CI` set to anything but `''`/`'0'`/`'false'`). */
export function progressMode(
  stream: ProgressStream,
  env: Readonly<Record<string, string | undefined>> = {},
): ProgressMode {
  const ci = env.CI !== undefined && env.CI !== '' && env.CI !== '0' && env.CI.toLowerCase() !== 'false';
  return stream.isTTY === true && !ci ? 'bar' : 'lines';
}

/** A factory that reports nothing (library default, tests). */
export const silentProgress: ProgressFactory = () => ({ tick() {}, status() {}, stop() {} });

/**
 * Starts reporting a stage of `total` items labelled `label` (e.g. `world.users`).
 * Summary line format (lines mode): `world.users: 1000000 items in 1.23 s (813008/s)`.
 * Bar format: `world.users [====----] 50% | 500000/1000000 items | 810000/s | ETA 1s`; after
 * `status(text)`: `… | 810000/s | <text>`. Status line (lines mode, `status(text, true)`):
 * `train.ranker: epoch 1/3 · loss 0.4121 · val auc 0.7412 · ETA 14 s`.
 */
export function createProgress(label: string, total: number, options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const mode = options.mode ?? progressMode(stream, options.env);
  const nowMs = options.nowMs ?? (() => performance.now());
  const unit = options.unit ?? 'items';
  const startMs = nowMs();
  let done = 0;
  let stopped = false;
  let bar: cliProgress.SingleBar | undefined;
  if (mode === 'bar') {
    const head = `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {rate}/s | `;
    const plain = `${head}ETA {eta_formatted}`;
    const withStatus = `${head}{status}`;
    bar = new cliProgress.SingleBar({
      // The caller's status text, once set, takes the place of cli-progress's rate-based ETA.
      format: (opts, params, payload) =>
        cliProgress.Format.Formatter(
          { ...opts, format: payload.status ? withStatus : plain },
          params,
          payload,
        ),
      stream: stream as NodeJS.WritableStream,
      hideCursor: true,
      etaBuffer: 20,
      fps: 10,
    });
    bar.start(total, 0, { rate: '0', status: '' });
  }
  return {
    tick(n = 1) {
      if (stopped) return;
      done += n;
      if (bar) bar.update(done, { rate: formatRate(done, (nowMs() - startMs) / 1000) });
    },
    status(text, line = false) {
      if (stopped) return;
      if (bar) bar.update(done, { status: text });
      else if (mode === 'lines' && line) stream.write(`${label}: ${text}\n`);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      const seconds = (nowMs() - startMs) / 1000;
      if (bar) {
        bar.update(done, { rate: formatRate(done, seconds) });
        bar.stop();
      } else if (mode === 'lines') {
        stream.write(
          `${label}: ${done} ${unit} in ${seconds.toFixed(2)} s (${formatRate(done, seconds)}/s)\n`,
        );
      }
    },
  };
}

/** A factory over `createProgress` with fixed options (what bin/ hands to long jobs). */
export function progressFactory(options: ProgressOptions = {}): ProgressFactory {
  return (label, total, unit) => createProgress(label, total, unit ? { ...options, unit } : options);
}

/**
 * Wraps a factory so each stage's wall time, in seconds, lands in `timings[label]` when it stops
 * (used for the timings in `world.json` and the benchmarks).
 */
export function timedProgress(inner: ProgressFactory, timings: Record<string, number>): ProgressFactory {
  return (label, total, unit) => {
    const p = inner(label, total, unit);
    const t0 = performance.now();
    let stopped = false;
    return {
      tick: (n) => p.tick(n),
      status: (text, line) => p.status(text, line),
      stop() {
        if (stopped) return;
        stopped = true;
        p.stop();
        timings[label] = Number(((performance.now() - t0) / 1000).toFixed(3));
      },
    };
  };
}

function formatRate(items: number, seconds: number): string {
  return seconds > 0 ? String(Math.round(items / seconds)) : '0';
}
