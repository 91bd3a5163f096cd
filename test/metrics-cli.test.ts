import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Warehouse } from '../warehouse/warehouse.ts';
import { AS_OF, seedMetricsStore } from './helpers/metrics-store.ts';
import {
  type BareSandbox,
  bareSandbox,
  cli,
  type Sandbox,
  sandbox,
  startCli,
  writeStore,
} from './ops-helpers.ts';

/** `retarget metrics` through the real CLI: the JSON contract, the table, flag errors and a busy database. */

let bare: BareSandbox;
const metrics = (...args: string[]) => cli(['--config', bare.config, 'metrics', '--db', bare.db, ...args]);

beforeAll(async () => {
  bare = bareSandbox('retarget-metrics-');
  const wh = await Warehouse.open({ path: bare.db });
  try {
    await seedMetricsStore(wh);
    await wh.run(
      `INSERT INTO pipeline_runs (run_id, started_at, as_of, status) VALUES ('r1', TIMESTAMP '2026-07-16', TIMESTAMP '${AS_OF}', 'succeeded')`,
    );
  } finally {
    wh.close();
  }
});
afterAll(() => rmSync(bare.dir, { recursive: true, force: true }));

describe('retarget metrics', () => {
  it('--json: the documented shape, as of the last run by default, periods oldest first', async () => {
    const r = await metrics('--json', '--periods', '2');
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(Object.keys(report)).toEqual([
      'as_of',
      'period',
      'active_window_days',
      'lifespan_years',
      'periods',
    ]);
    expect(report).toMatchObject({
      as_of: '2026-07-15T00:00:00.000Z',
      period: 'quarter',
      active_window_days: 365,
      lifespan_years: 2,
    });
    expect(Object.keys(report.periods[0])).toEqual([
      'period_start',
      'period_end',
      'customers_start',
      'customers_end',
      'new_customers',
      'crr_pct',
      'orders',
      'revenue',
      'aov',
      'purchase_frequency',
      'customer_value',
      'clv',
      'observed_lifespan_years',
      'cart_abandonment_pct',
      'conversion_pct',
    ]);
    // Q2 of the hand-computed store (test/metrics.test.ts works each figure out).
    expect(report.periods[1]).toEqual({
      period_start: '2026-04-01T00:00:00.000Z',
      period_end: '2026-07-01T00:00:00.000Z',
      customers_start: 4,
      customers_end: 4,
      new_customers: 1,
      crr_pct: 75,
      orders: 3,
      revenue: 110,
      aov: 36.67,
      purchase_frequency: 1.5,
      customer_value: 55,
      clv: 105,
      observed_lifespan_years: 0.39,
      cart_abandonment_pct: 50,
      conversion_pct: 44.44,
    });
  });

  it('flags change the periods, window and lifespan', async () => {
    const r = await metrics('--json', '--as-of', '2026-07-01', '--period', 'month', '--periods', '3');
    const report = JSON.parse(r.stdout);
    expect(report.periods.map((p: { period_end: string }) => p.period_end.slice(0, 10))).toEqual([
      '2026-05-01',
      '2026-06-01',
      '2026-07-01',
    ]);
    const longer = JSON.parse((await metrics('--json', '--periods', '1', '--lifespan', '3')).stdout);
    expect(longer.periods[0].clv).toBe(157.5); // 52.5 a year × 3
    const short = JSON.parse((await metrics('--json', '--periods', '1', '--active-window', '90')).stdout);
    expect(short.periods[0].crr_pct).toBe(33.33);
  });

  it('prints a table by default: one row per figure, one column per period', async () => {
    const r = await metrics('--periods', '2');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Retention metrics as of 2026-07-15T00:00:00.000Z: 2 quarters/);
    expect(r.stdout).toMatch(/^\s+2026-Q1\s+2026-Q2$/m);
    expect(r.stdout).toMatch(/^crr_pct\s+100\.00\s+75\.00$/m);
    expect(r.stdout).toMatch(/^revenue\s+100\.00\s+110\.00$/m);
    expect(r.stdout).toMatch(/^cart_abandonment_pct\s+—\s+50\.00$/m);
  });

  it('warns when the last carts cannot be watched for 7 days before T', async () => {
    const r = await metrics('--json', '--as-of', '2026-07-03', '--periods', '1');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /^warning: cart_abandonment_pct of the period ending 2026-07-01T00:00:00.000Z watches its last carts for 2.0 of 7 days/m,
    );
    expect((await metrics('--json', '--periods', '2')).stderr).toBe('');
  });

  it('warns when the active window at S reaches back before the first completed order', async () => {
    // The third quarter back starts 2025-10-01: its window starts 2024-10-01, the first order is 2024-12-01.
    const r = await metrics('--json', '--periods', '3');
    expect(r.code).toBe(0);
    expect(r.stderr.trim()).toBe(
      'warning: customers_start and crr_pct of the period starting 2025-10-01T00:00:00.000Z look back 365 days, past the first completed order in the file (2024-12-01T00:00:00.000Z): customers active before it are not counted (load the older orders if the store has them)',
    );
    expect((await metrics('--json', '--periods', '3', '--active-window', '300')).stderr).toBe('');
  });

  it.each([
    [
      ['--period', 'week'],
      "option '--period <unit>' argument 'week' is invalid. expected month, quarter or year",
    ],
    [
      ['--periods', '0'],
      "option '--periods <n>' argument '0' is invalid. expected a whole number of at least 1",
    ],
    [['--active-window', '30d'], "argument '30d' is invalid. expected a whole number of at least 1"],
    [['--lifespan', '0'], "argument '0' is invalid. expected a number of years above 0"],
    [['--as-of', '2026-02-30'], "argument '2026-02-30' is invalid. not an ISO 8601 date"],
    [['--periods', '1001'], 'retarget: --periods 1001: at most 1000 periods'],
    [['--active-window', '40000'], 'retarget: --active-window 40000: at most 36500 days (100 years)'],
  ])('%j: one line, exit 2', async (args, message) => {
    const r = await metrics(...args);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
  });

  it('no database yet: says to run first', async () => {
    const r = await cli(['--config', bare.config, 'metrics', '--db', join(bare.dir, 'none.duckdb')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^retarget: no database at .*none\.duckdb: run `retarget run`/);
  });
});

describe('while a run holds the database', () => {
  let s: Sandbox;
  beforeAll(async () => {
    s = sandbox();
    await writeStore(s.store, { customers: 5 });
  });
  afterAll(() => s.cleanup());

  it('exits 75 naming the run', async () => {
    const run = startCli(['--config', s.config, 'run'], { RETARGET_TEST_HOLD_AT: 'step:segments:evaluate' });
    await run.waitFor(/holding at step:segments:evaluate/);
    const r = await cli(['--config', s.config, 'metrics']);
    run.child.kill('SIGKILL');
    await run.done;
    expect(r.code).toBe(75);
    expect(r.stderr).toMatch(new RegExp(`busy: retarget run \\(cli\\) \\(pid ${run.child.pid}`));
  }, 60_000);
});
