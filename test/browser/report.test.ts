/**
 * The report in a real browser: Debian's headless Chromium (set-up step 60) driven by
 * playwright-core through its executablePath (no browser download). Each page is opened from disk
 * (file://, offline: the page must be self-contained) and must load with no console error and
 * every chart drawn (a canvas with painted pixels). Screenshots go to reports/out/screenshots/
 * (RECLAB_SCREENSHOT_DIR overrides; docs/report-*.png were made this way).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeRunReports } from '../../reports/write.ts';
import { scenarios } from '../../scenarios/index.ts';
import { DEFAULT_FLEET } from '../../sim/fleet/fleet-spec.ts';
import { simulate } from '../../sim/run/simulate.ts';

const CHROMIUM = process.env.RECLAB_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = resolve(process.env.RECLAB_SCREENSHOT_DIR ?? 'reports/out/screenshots');

let browser: Browser;
let dir: string;
beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: run scripts/setup/60-chromium.sh`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    timeout: 30_000,
  });
  dir = await mkdtemp(join(tmpdir(), 'reclab-browser-'));
  await mkdir(SHOTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.each(['baseline', 'gpu-outage'])('index.html of a simulated %s run in Chromium', (name) => {
  it('loads with no console error, draws every chart, and is screenshotted', async () => {
    const result = simulate({
      scenario: scenarios[name],
      fleet: DEFAULT_FLEET,
      seed: 7,
      reclabVersion: 'test',
    }).result;
    const { html } = await writeRunReports(join(dir, name), result);
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    // Offline: any request that is not the file itself fails the test.
    page.on('request', (req) => {
      if (!req.url().startsWith('file://')) errors.push(`network request ${req.url()}`);
    });
    await page.goto(`file://${html}`);
    await page.waitForSelector('body[data-charts=ready]', { timeout: 10_000 });
    // Runs in the page (the DOM types are not in this project's lib, hence the small shapes).
    type Canvas = {
      width: number;
      height: number;
      getContext(k: '2d'): {
        getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> };
      };
    };
    const charts = await page.$$eval('.chart', (els) =>
      els.map((el) => {
        const canvas = el.querySelector('canvas') as unknown as Canvas | null;
        if (!canvas || canvas.width === 0 || canvas.height === 0) return { id: el.id, painted: 0 };
        const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let painted = 0;
        for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) painted++;
        return { id: el.id, painted };
      }),
    );
    expect(charts.map((c) => c.id)).toEqual([
      'chart-latency',
      'chart-rate',
      'chart-rungs',
      'chart-errors',
      'chart-distribution',
    ]);
    for (const c of charts) expect(c.painted, c.id).toBeGreaterThan(1000);
    await page.screenshot({ path: join(SHOTS, `report-${name}.png`), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});
