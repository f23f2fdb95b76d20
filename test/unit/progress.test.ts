import { describe, expect, it } from 'vitest';
import {
  createProgress,
  type ProgressStream,
  progressFactory,
  progressMode,
  silentProgress,
  timedProgress,
} from '../../sim/progress.ts';

function sink(isTTY: boolean): ProgressStream & { text: () => string } {
  const chunks: string[] = [];
  return {
    isTTY,
    write(chunk: string) {
      chunks.push(chunk);
      return true;
    },
    text: () => chunks.join(''),
  };
}

describe('progress', () => {
  it('draws a bar only on a TTY outside CI', () => {
    expect(progressMode(sink(true), {})).toBe('bar');
    expect(progressMode(sink(true), { CI: 'true' })).toBe('lines');
    expect(progressMode(sink(true), { CI: '0' })).toBe('bar');
    expect(progressMode(sink(false), {})).toBe('lines');
    expect(progressMode(sink(false))).toBe('lines');
  });

  it('prints one line per stage in CI logs, however often it ticks', () => {
    const out = sink(false);
    let t = 0;
    const p = createProgress('world.users', 1000, { stream: out, env: { CI: 'true' }, nowMs: () => t });
    for (let i = 0; i < 100; i++) p.tick(10);
    t = 2000;
    p.stop();
    p.stop();
    expect(out.text()).toBe('world.users: 1000 items in 2.00 s (500/s)\n');
  });

  it('renders a cli-progress bar with rate and ETA on a terminal', () => {
    const out = sink(true);
    const p = createProgress('world.videos', 100, { stream: out, mode: 'bar', unit: 'rows' });
    p.tick(50);
    p.stop();
    expect(out.text()).toMatch(/world\.videos \[[^\]]+\] \d+% \| 50\/100 rows \| \d+\/s \| ETA/);
  });

  it('shows a status text: in the bar in place of its ETA, as a line in CI only when asked', () => {
    const tty = sink(true);
    const bar = createProgress('train.ranker', 100, { stream: tty, mode: 'bar', unit: 'steps' });
    bar.tick(50);
    bar.status('epoch 1/2 · val auc 0.7000 · ETA 3 s');
    bar.stop();
    expect(tty.text()).toMatch(
      /train\.ranker \[[^\]]+\] \d+% \| 50\/100 steps \| \d+\/s \| epoch 1\/2 · val auc 0\.7000 · ETA 3 s/,
    );
    const ci = sink(false);
    let t = 0;
    const p = createProgress('index.add', 10, { stream: ci, env: { CI: '1' }, nowMs: () => t, unit: 'rows' });
    p.status('ignored in CI');
    p.status('training on 10 rows', true);
    p.tick(10);
    t = 1000;
    p.stop();
    p.status('after stop', true);
    expect(ci.text()).toBe('index.add: training on 10 rows\nindex.add: 10 rows in 1.00 s (10/s)\n');
  });

  it('records stage timings and stays silent when asked', () => {
    const out = sink(false);
    const timings: Record<string, number> = {};
    const make = timedProgress(progressFactory({ stream: out, mode: 'silent' }), timings);
    const p = make('world.hash', 10, 'bytes');
    p.tick(10);
    p.stop();
    expect(out.text()).toBe('');
    expect(timings['world.hash']).toBeGreaterThanOrEqual(0);
    const s = silentProgress('x', 1);
    s.tick();
    s.stop();
  });
});
