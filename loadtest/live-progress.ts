/**
 * The live progress line of `reclab run` (issue 12): while a phase runs — phase, elapsed, offered
 * and achieved rate, live p99, rung mix, shed and errors. On an interactive terminal a cli-progress
 * bar per phase, redrawn every second (the driver's progress interval), with the runner's log
 * lines printed above it; elsewhere (CI, a log file) one plain line every 10 s.
 *
 * Reads no environment itself: the CLI passes its stream and env (STYLE.md, process state passed in).
 */
import cliProgress from 'cli-progress';
import { rungMix } from '../scenarios/rung-mix.ts';
import { type ProgressStream, progressMode } from '../sim/progress.ts';
import type { LiveProgress } from './drivers/autocannon/open-model.ts';

export interface LiveProgressRenderer {
  /** Feed the driver's figures (every second). */
  update(p: LiveProgress): void;
  /** A log line: above the bar on a terminal. */
  log(line: string): void;
  /** Ends the current bar (between phases and at the end). */
  stop(): void;
}

/** Seconds between plain lines when not on a terminal. */
export const LINE_EVERY_S = 10;

/** `phase steady  12/30 s  offered 100/s achieved 99.0/s  p99 12.3 ms  full 97% popularity 3%  shed 0 errors 0`. */
export function progressLine(p: LiveProgress): string {
  return (
    `phase ${p.phase}  ${Math.floor(p.elapsedS)}/${Math.round(p.totalS)} s  ` +
    `offered ${fmtRate(p.offeredQps)}/s achieved ${fmtRate(p.achievedQps)}/s  p99 ${p.p99Ms.toFixed(1)} ms  ` +
    `${rungMixLine(p.rungCounts)}  shed ${p.shed} errors ${p.errors}`
  );
}

const fmtRate = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

/** `full 97% popularity 3%` (by share, largest first), or `rungs -`. */
export function rungMixLine(counts: Record<string, number>): string {
  const mix = rungMix(counts);
  return mix.length === 0 ? 'rungs -' : mix.map(([r, share]) => `${r} ${Math.round(share * 100)}%`).join(' ');
}

export function liveProgressRenderer(o: {
  stream: ProgressStream;
  env: Readonly<Record<string, string | undefined>>;
  out: (line: string) => void;
}): LiveProgressRenderer {
  if (progressMode(o.stream, o.env) !== 'bar') {
    let lastPhase = '';
    let lastTick = -1;
    return {
      update(p) {
        const tick = Math.floor(p.elapsedS / LINE_EVERY_S);
        if (p.phase === lastPhase && tick === lastTick) return;
        // The first line of a phase waits for its first 10 s, like every other.
        if (p.phase !== lastPhase) {
          lastPhase = p.phase;
          lastTick = tick;
          if (tick === 0) return;
        }
        lastTick = tick;
        o.out(progressLine(p));
      },
      log: o.out,
      stop() {},
    };
  }
  let multi: cliProgress.MultiBar | undefined;
  let bar: cliProgress.SingleBar | undefined;
  let phase = '';
  const stop = () => {
    multi?.stop();
    multi = undefined;
    bar = undefined;
  };
  return {
    update(p) {
      if (p.phase !== phase) {
        stop();
        phase = p.phase;
      }
      if (!multi) {
        multi = new cliProgress.MultiBar({
          stream: o.stream as NodeJS.WritableStream,
          format: '{phase} [{bar}] {value}/{total} s | {stats}',
          hideCursor: true,
          clearOnComplete: false,
          fps: 2,
        });
        bar = multi.create(Math.round(p.totalS), 0, { phase: p.phase, stats: '' });
      }
      const line = progressLine(p);
      bar!.update(Math.min(Math.floor(p.elapsedS), Math.round(p.totalS)), {
        phase: p.phase,
        stats: line.slice(line.indexOf('offered')),
      });
      multi.update(); // draw now: updates come once a second, no need to wait for the throttle
    },
    log(line) {
      if (!multi) return o.out(line);
      multi.log(`${line}\n`);
      multi.update(); // print it now, above the bar
    },
    stop,
  };
}
