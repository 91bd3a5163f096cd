import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDemo } from '../pipelines/demo/generate.ts';
import { tempDir } from './helpers/temp.ts';
import { cli, ROOT } from './ops-helpers.ts';

/**
 * `retarget report` on the demo store, opened in a real headless Chromium (Debian's chromium, installed by
 * scripts/install-chromium.sh, driven by playwright-core): no console error, no request but the file itself,
 * every chart drawn, the numbers equal `retarget metrics --json`, and no sideways scrolling on a phone.
 */

const CHROMIUM = '/usr/bin/chromium';
const hasBrowser = existsSync(CHROMIUM);
if (!hasBrowser)
  console.warn(`report browser tests skipped: no ${CHROMIUM} (run npm run setup:browser to install it)`);

/** Flags for headless Chromium as root on a machine without network (no background connections). */
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const dir = tempDir('report');
const profile = tempDir('chromium');
let db: string;
let config: string;
let out: string;
let browser: BrowserContext;
let lift: Array<Record<string, unknown> & { audience: string; sufficient: boolean }>;

beforeAll(async () => {
  db = join(dir, 'store.duckdb');
  config = join(dir, 'retarget.config.ts');
  out = join(dir, 'out', 'report.html');
  const store = join(dir, 'store');
  await generateDemo(store, { customers: 400 });
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  const settings = {
    database: db,
    sources: { files: { dir: store } },
    segments: { dir: join(ROOT, 'segments') },
    report: { afterRun: true },
    holdouts: { default: 0.3 }, // so the report has lift figures to show
  };
  writeFileSync(config, `export default ${JSON.stringify(settings)};\n`);
  // Three nights, so the history has entries and exits to draw.
  for (const asOf of ['2026-10-18', '2026-10-25', '2026-11-01']) {
    const run = await cli(['--config', config, 'run', '--as-of', asOf]);
    expect(run.code, run.stderr).toBe(0);
  }
  const report = await cli(['--config', config, 'report', '--out', out]);
  expect(report.code, report.stderr).toBe(0);
  const lifted = await cli(['--config', config, 'lift', '--json']);
  expect(lifted.code, lifted.stderr).toBe(0);
  lift = JSON.parse(lifted.stdout).audiences;
  if (hasBrowser)
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
    });
}, 240_000);

afterAll(() => browser?.close());

/** Opens the report; collects console errors, page errors and every request the page makes. */
async function open(width: number): Promise<{ page: Page; errors: string[]; requests: string[] }> {
  const page = await browser.newPage();
  await page.setViewportSize({ width, height: 900 });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(pathToFileURL(out).href, { waitUntil: 'load' });
  return { page, errors, requests };
}

describe.skipIf(!hasBrowser)('the report in headless Chromium', () => {
  it('`report.afterRun` wrote it beside the database after the run', () => {
    const after = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(after).toMatch(/^<!doctype html>/);
    expect(after).toContain('store.duckdb as of 2026-11-01T00:00:00.000Z');
  });

  it('loads with no console error and no request but the file itself', async () => {
    const { page, errors, requests } = await open(1280);
    expect(errors).toEqual([]);
    expect(requests).toEqual([pathToFileURL(out).href]);
    // Nothing that could load anything, ever (url(#id) is a clip path inside the page).
    expect(readFileSync(out, 'utf8')).not.toMatch(/https?:\/\/|url\((?!#)|<link|<script|<img|@import|src=/i);
    await page.close();
  });

  it('draws every chart: an svg with non-empty paths in each', async () => {
    const { page } = await open(1280);
    const charts = await page.$$eval('figure.chart', (figures) =>
      figures.map((f) => ({
        caption: f.querySelector('figcaption')?.textContent,
        paths: [...f.querySelectorAll('svg path')].filter((p) => (p.getAttribute('d') ?? '').length > 2)
          .length,
        width: f.querySelector('svg')?.getBoundingClientRect().width ?? 0,
      })),
    );
    expect(charts.map((c) => c.caption)).toEqual([
      'Members per audience',
      'Entered (up) and exited (down), all audiences',
      'Shared members',
      'crr_pct and conversion_pct per period',
      'cart_abandonment_pct',
      ...(lift.some((a) => a.sufficient) ? ['Lift with its 95% interval (percentage points)'] : []),
    ]);
    for (const c of charts) {
      expect(c.paths, c.caption ?? '').toBeGreaterThan(5);
      expect(c.width, c.caption ?? '').toBeGreaterThan(200);
    }
    await page.close();
  });

  it('shows the numbers of `retarget metrics --json`, period by period', async () => {
    const r = await cli(['--config', config, 'metrics', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const metrics = JSON.parse(r.stdout) as { periods: Array<Record<string, unknown>> };
    const { page } = await open(1280);
    const shown = await page.$$eval('[data-metric][data-period]', (els) =>
      els.map((e) => ({
        metric: e.getAttribute('data-metric')!,
        period: e.getAttribute('data-period')!,
        value: JSON.parse(e.getAttribute('data-value')!) as number | null,
        text: e.textContent!,
      })),
    );
    expect(metrics.periods).toHaveLength(4);
    let compared = 0;
    for (const p of metrics.periods) {
      for (const [figure, expected] of Object.entries(p)) {
        if (figure === 'period_start' || figure === 'period_end') continue;
        const cells = shown.filter((s) => s.metric === figure && s.period === p.period_start);
        expect(cells.length, `${figure} ${p.period_start}`).toBeGreaterThan(0);
        for (const c of cells) {
          expect(c.value, `${figure} ${p.period_start}`).toBe(expected);
          expect(c.text === '—' ? null : Number(c.text.replaceAll(',', ''))).toBe(expected);
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThanOrEqual(4 * 13);
    expect(shown).toHaveLength(compared); // nothing shown that the metrics do not have
    await page.close();
  });

  it('shows the figures of `retarget lift --json` for every audience with a holdout', async () => {
    expect(lift.length).toBeGreaterThan(0);
    const { page } = await open(1280);
    const shown = await page.$$eval('#lift [data-metric][data-audience]', (els) =>
      els.map((e) => [
        e.getAttribute('data-audience'),
        e.getAttribute('data-metric'),
        e.getAttribute('data-value'),
      ]),
    );
    const expected = lift.flatMap((a) =>
      Object.entries(a)
        .filter(([k]) => !['audience', 'sufficient', 'message'].includes(k))
        .map(([k, v]) => [a.audience, k, JSON.stringify(v)]),
    );
    expect(shown).toEqual(expected);
    await page.close();
  });

  it('a phone-width screen has no sideways scrolling', async () => {
    const { page } = await open(390);
    const widths = await page.$eval('html', (root) => ({
      scroll: root.scrollWidth,
      client: root.clientWidth,
    }));
    expect(widths.scroll).toBeLessThanOrEqual(widths.client);
    expect(widths.client).toBe(390);
    await page.close();
  });
});
