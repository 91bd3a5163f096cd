import { afterEach, describe, expect, it } from 'vitest';
import { metricsFacts, metricsWarnings, retentionMetrics } from '../metrics/retention.ts';
import { Warehouse } from '../warehouse/warehouse.ts';
import { AS_OF, seedMetricsStore } from './helpers/metrics-store.ts';
import { TestStore } from './helpers/store.ts';

/**
 * Retention metrics against figures worked out by hand from test/helpers/metrics-store.ts (never by re-running
 * the SQL): the definitions of docs/metrics.md, one by one, and their edge cases.
 */

let wh: Warehouse;
afterEach(() => wh?.close());

const open = async () => {
  wh = await Warehouse.open({ path: ':memory:' });
  return wh;
};
const quarters = (w: Warehouse, periods = 2, activeWindowDays = 365) =>
  retentionMetrics(w, {
    asOf: new Date(AS_OF),
    period: 'quarter',
    periods,
    activeWindowDays,
    lifespanYears: 2,
  });

describe('retention metrics on the hand-computed store', () => {
  it('customers_start, customers_end, new_customers and crr_pct per quarter', async () => {
    await seedMetricsStore(await open());
    const [q1, q2] = (await quarters(wh)).periods;
    // Q1 (2026-01-01, 2026-04-01]. B: orders in (2025-01-01, 2026-01-01]: a, b, f (d's is refunded, e's too old).
    // E: orders in (2025-04-01, 2026-04-01]: a, b, c, e (e at exactly 2026-04-01 00:00; f's is too old).
    // N: first completed order in Q1: c. crr = (4 - 1) / 3 = 100.00.
    expect(q1).toMatchObject({
      period_start: '2026-01-01T00:00:00.000Z',
      period_end: '2026-04-01T00:00:00.000Z',
      customers_start: 3,
      customers_end: 4,
      new_customers: 1,
      crr_pct: 100,
    });
    // Q2 (2026-04-01, 2026-07-01]. B = Q1's E: a, b, c, e. E: (2025-07-01, 2026-07-01]: a, c, d, e (b's June 2025
    // order fell out). N: d (its refunded 2025 order never counted). crr = (4 - 1) / 4 = 75.00.
    expect(q2).toMatchObject({ customers_start: 4, customers_end: 4, new_customers: 1, crr_pct: 75 });
  });

  it('orders, revenue (lines, not totals), aov, purchase_frequency and customer_value', async () => {
    await seedMetricsStore(await open());
    const [q1, q2] = (await quarters(wh)).periods;
    // Q1: a 3 × 10, c 60, e 10 (at E); the guest order is left out. 100 / 3 orders, 3 customers.
    expect(q1).toMatchObject({
      orders: 3,
      revenue: 100,
      aov: 33.33,
      purchase_frequency: 1,
      customer_value: 33.33,
    });
    // Q2: a 70, d 25 + 15 (c's cancelled 500 never counts; e's order at S belongs to Q1). 110 / 3, 2 customers.
    expect(q2).toMatchObject({
      orders: 3,
      revenue: 110,
      aov: 36.67,
      purchase_frequency: 1.5,
      customer_value: 55,
    });
  });

  it('clv from the trailing 365 days before E, with the observed lifespan beside it', async () => {
    await seedMetricsStore(await open());
    const [q1, q2] = (await quarters(wh)).periods;
    // Q1: (2025-04-01, 2026-04-01]: a 100 + 30, b 40, c 60, e 10 = 240 over 4 customers = 60 a year, × 2 years.
    // Lifespan: customers with a completed order by E: a 254 days (2025-06-01 to 2026-02-10), e 486, b c f 0.
    // 740 / 5 = 148 days = 0.41 years.
    expect(q1).toMatchObject({ clv: 120, observed_lifespan_years: 0.41 });
    // Q2: (2025-07-01, 2026-07-01]: a 30 + 70, c 60, d 40, e 10 = 210 / 4 = 52.5 a year, × 2.
    // Lifespan: a 338, d 41, e 486, b c f 0: 865 / 6 = 144.2 days = 0.39 years.
    expect(q2).toMatchObject({ clv: 105, observed_lifespan_years: 0.39 });
  });

  it('cart_abandonment_pct and conversion_pct', async () => {
    await seedMetricsStore(await open());
    const [q1, q2] = (await quarters(wh)).periods;
    // No events in Q1: nothing to divide by.
    expect(q1).toMatchObject({ cart_abandonment_pct: null, conversion_pct: null });
    // Carts (identity, day): a 05-04 (twice, one cart), x, b, c, d 05-10, d 06-25, e 06-30, w = 8. Abandoned: b (no
    // purchase), c (only a cancelled order), d 05-10 (bought 10 days later), w (bought before only) = 4: 50.00.
    // Visitors: a, x, b, c, d, e, w, y, z = 9; bought in Q2: a, x and w (purchase events), d = 4 (e bought at S and
    // after E): 44.44.
    expect(q2).toMatchObject({ cart_abandonment_pct: 50, conversion_pct: 44.44 });
  });

  it('the active window decides who is active: 90 days', async () => {
    await seedMetricsStore(await open());
    const [, q2] = (await quarters(wh, 2, 90)).periods;
    // B: orders in (2026-01-01, 2026-04-01]: a, c, e. E: (2026-04-02, 2026-07-01]: a, d. N: d. (2 - 1) / 3 = 33.33.
    expect(q2).toMatchObject({ customers_start: 3, customers_end: 2, new_customers: 1, crr_pct: 33.33 });
  });

  it('periods are whole calendar periods ending at or before T, oldest first', async () => {
    await open();
    const months = await retentionMetrics(wh, {
      asOf: new Date('2026-03-01T00:00:00Z'),
      period: 'month',
      periods: 3,
      activeWindowDays: 365,
      lifespanYears: 2,
    });
    expect(months.periods.map((p) => [p.period_start.slice(0, 10), p.period_end.slice(0, 10)])).toEqual([
      ['2025-12-01', '2026-01-01'],
      ['2026-01-01', '2026-02-01'],
      ['2026-02-01', '2026-03-01'],
    ]);
    const years = await retentionMetrics(wh, {
      asOf: new Date('2026-11-01T05:00:00Z'),
      period: 'year',
      periods: 1,
      activeWindowDays: 365,
      lifespanYears: 2,
    });
    expect(years.periods.map((p) => p.period_end)).toEqual(['2026-01-01T00:00:00.000Z']);
  });
});

describe('edge cases', () => {
  it('warns when completed orders up to T have lines without a price, or no lines: revenue counts them short', async () => {
    await seedMetricsStore(await open());
    const report = await quarters(wh);
    const warnings = async () => metricsWarnings(report, await metricsFacts(wh, new Date(AS_OF)));
    expect((await warnings()).filter((w) => w.startsWith('revenue'))).toEqual([]);
    const unprice = (where: string) =>
      wh.run(
        `UPDATE order_items SET unit_price = NULL WHERE order_id IN (SELECT order_id FROM orders WHERE ${where})`,
      );
    // Counted: b's order (a line without a price) and f's (no line at all); not: a's after T, c's cancelled one.
    await unprice("customer_id = 'b'");
    await wh.run(
      "DELETE FROM order_items WHERE order_id IN (SELECT order_id FROM orders WHERE customer_id = 'f')",
    );
    await unprice("ordered_at > TIMESTAMP '2026-07-15' OR status = 'cancelled'");
    expect((await warnings()).filter((w) => w.startsWith('revenue'))).toEqual([
      'revenue, aov, customer_value and clv miss the price of 2 of 10 completed orders up to T (order lines without unit_price, or no lines): revenue is line price x quantity, and those lines count as 0',
    ]);
  });

  const empty = {
    customers_start: 0,
    customers_end: 0,
    new_customers: 0,
    crr_pct: null,
    orders: 0,
    revenue: 0,
    aov: null,
    purchase_frequency: null,
    customer_value: null,
    clv: null,
    observed_lifespan_years: null,
    cart_abandonment_pct: null,
    conversion_pct: null,
  };

  it('no orders: counts are 0, ratios null', async () => {
    await open();
    const report = await quarters(wh);
    expect(report.periods).toHaveLength(2);
    for (const p of report.periods) expect(p).toMatchObject(empty);
  });

  it('only cancelled and refunded orders: the same as none', async () => {
    const s = new TestStore(await open());
    await s.order('a', { at: '2025-06-01', items: ['p'], status: 'cancelled' });
    await s.order('a', { at: '2026-02-01', items: ['p'], status: ' CANCELED ' });
    await s.order('b', { at: '2026-05-01', items: ['p'], status: 'refunded' });
    for (const p of (await quarters(wh)).periods) expect(p).toMatchObject(empty);
  });

  it('a period with B = 0 has crr_pct null even with new customers', async () => {
    const s = new TestStore(await open());
    await s.order('a', { at: '2026-05-01', items: [{ product: 'p', price: 20 }] });
    const [q1, q2] = (await quarters(wh)).periods;
    expect(q1).toMatchObject({ customers_start: 0, customers_end: 0, crr_pct: null });
    expect(q2).toMatchObject({ customers_start: 0, customers_end: 1, new_customers: 1, crr_pct: null });
    expect(q2).toMatchObject({ orders: 1, revenue: 20, aov: 20, clv: 40, observed_lifespan_years: 0 });
  });

  it('a customer counts once per window, however its orders fall around the bounds', async () => {
    const s = new TestStore(await open());
    const order = (who: string, at: string, price: number) =>
      s.order(who, { at, items: [{ product: 'p', price }] });
    // a: twice at the same instant and once more that day; b: once at that instant (all in Q2).
    await order('a', '2026-05-01T10:00:00Z', 10);
    await order('a', '2026-05-01T10:00:00Z', 20);
    await order('a', '2026-05-01T18:00:00Z', 30);
    await order('b', '2026-05-01T10:00:00Z', 60);
    // c: in Q1, then again 12 hours after Q1's end (the first day after E).
    await order('c', '2026-03-15T00:00:00Z', 40);
    await order('c', '2026-04-01T12:00:00Z', 50);
    const [q1, q2] = (await quarters(wh)).periods;
    // Q1: c's order only. B 0, E 1 (c), N 1: crr null. 40 / 1 order / 1 customer; clv 40 a year × 2.
    expect(q1).toMatchObject({
      customers_start: 0,
      customers_end: 1,
      new_customers: 1,
      crr_pct: null,
      orders: 1,
      revenue: 40,
      aov: 40,
      purchase_frequency: 1,
      customer_value: 40,
      clv: 80,
      observed_lifespan_years: 0,
    });
    // Q2: 5 orders, 170, customers a, b, c. B 1 (c), E 3, N 2 (a, b): crr (3 - 2) / 1 = 100. aov 34,
    // frequency 5 / 3, value 170 / 3. clv: the year (2025-07-01, 2026-07-01] also holds c's Q1 order: 210 / 3 × 2.
    // Lifespan: a 8 hours, b 0, c 17.5 days: 5.94 days.
    expect(q2).toMatchObject({
      customers_start: 1,
      customers_end: 3,
      new_customers: 2,
      crr_pct: 100,
      orders: 5,
      revenue: 170,
      aov: 34,
      purchase_frequency: 1.67,
      customer_value: 56.67,
      clv: 140,
      observed_lifespan_years: 0.02,
    });
  });
});

describe('the views hold the same figures', () => {
  it('metrics_by_period and the per-concern views, at the latest run with the defaults', async () => {
    await seedMetricsStore(await open());
    await wh.run(
      `INSERT INTO pipeline_runs (run_id, started_at, as_of, status) VALUES
         ('r1', TIMESTAMP '2026-06-01', TIMESTAMP '2026-06-01', 'succeeded'),
         ('r2', TIMESTAMP '2026-07-16', TIMESTAMP '${AS_OF}', 'succeeded')`,
    );
    const report = await quarters(wh, 4);
    const view = await wh.all<Record<string, unknown>>(
      'SELECT * REPLACE (revenue::DOUBLE AS revenue) FROM metrics_by_period ORDER BY period_start',
    );
    expect(view.map((r) => r.period_end)).toEqual(report.periods.map((p) => new Date(p.period_end)));
    expect(view.at(-1)).toMatchObject({ customers_start: 4n, crr_pct: 75, revenue: 110, clv: 105 });
    const q2 = "WHERE period_end = TIMESTAMP '2026-07-01'";
    expect(await wh.all(`SELECT crr_pct FROM metrics_retention ${q2}`)).toEqual([{ crr_pct: 75 }]);
    expect(await wh.all(`SELECT aov FROM metrics_orders ${q2}`)).toEqual([{ aov: 36.67 }]);
    expect(await wh.all(`SELECT clv FROM metrics_clv ${q2}`)).toEqual([{ clv: 105 }]);
    expect(await wh.all(`SELECT carts, abandoned FROM metrics_cart_abandonment ${q2}`)).toEqual([
      { carts: 8n, abandoned: 4n },
    ]);
    expect(await wh.all(`SELECT visitors, converted FROM metrics_conversion ${q2}`)).toEqual([
      { visitors: 9n, converted: 4n },
    ]);
  });

  it('customer_values: orders, revenue, first and last order, predicted clv per customer', async () => {
    await seedMetricsStore(await open());
    await wh.run(
      `INSERT INTO pipeline_runs (run_id, started_at, as_of, status) VALUES ('r1', now()::TIMESTAMP, TIMESTAMP '${AS_OF}', 'succeeded')`,
    );
    const rows = await wh.all(
      `SELECT customer_id, orders, revenue::DOUBLE AS revenue, first_order_at, last_order_at,
              revenue_last_365_days::DOUBLE AS last_year, predicted_clv
       FROM customer_values WHERE customer_id IN ('a', 'd', 'e') ORDER BY 1`,
    );
    // a: 100 + 30 + 70 (the order after T left out); last 365 days (2025-07-15, 2026-07-15]: 30 + 70, × 2 years.
    expect(rows).toEqual([
      {
        customer_id: 'a',
        orders: 3n,
        revenue: 200,
        first_order_at: new Date('2025-06-01'),
        last_order_at: new Date('2026-05-05'),
        last_year: 100,
        predicted_clv: 200,
      },
      {
        customer_id: 'd',
        orders: 2n,
        revenue: 40,
        first_order_at: new Date('2026-05-20'),
        last_order_at: new Date('2026-06-30'),
        last_year: 40,
        predicted_clv: 80,
      },
      {
        customer_id: 'e',
        orders: 2n,
        revenue: 30,
        first_order_at: new Date('2024-12-01'),
        last_order_at: new Date('2026-04-01'),
        last_year: 10,
        predicted_clv: 20,
      },
    ]);
  });
});
