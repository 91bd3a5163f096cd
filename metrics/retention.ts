import type { Warehouse } from '../warehouse/warehouse.ts';

/**
 * The retention metrics of `retarget metrics`, read from the table macros of migration 0021 (the same SQL the
 * `metrics_*` views run), so the command and an analyst's `SELECT * FROM metrics_by_period` always agree.
 * Definitions: docs/metrics.md.
 */

export const PERIODS = ['month', 'quarter', 'year'] as const;
export type Period = (typeof PERIODS)[number];

export interface MetricsOptions {
  asOf: Date;
  period: Period;
  periods: number;
  activeWindowDays: number;
  lifespanYears: number;
}

/** One period (S, E]: field names are the JSON contract of `retarget metrics --json`. */
export interface PeriodMetrics {
  period_start: string;
  period_end: string;
  customers_start: number;
  customers_end: number;
  new_customers: number;
  crr_pct: number | null;
  orders: number;
  revenue: number;
  aov: number | null;
  purchase_frequency: number | null;
  customer_value: number | null;
  clv: number | null;
  observed_lifespan_years: number | null;
  cart_abandonment_pct: number | null;
  conversion_pct: number | null;
}

export interface MetricsReport {
  as_of: string;
  period: Period;
  active_window_days: number;
  lifespan_years: number;
  periods: PeriodMetrics[];
}

/** Days a cart is watched for a purchase (docs/metrics.md: cart_abandonment_pct). */
/** The figures of a period in the JSON order: the rows of `retarget metrics` and of the report's table. */
export const METRIC_FIGURES: ReadonlyArray<keyof PeriodMetrics> = [
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
];

/** Figures that are counts, shown whole; every other figure has two decimals, as the views round them. */
export const COUNT_FIGURES: ReadonlySet<keyof PeriodMetrics> = new Set<keyof PeriodMetrics>([
  'customers_start',
  'customers_end',
  'new_customers',
  'orders',
]);

/** A period's short name from its start: 2026-09 (month), 2026-Q3 (quarter), 2026 (year). */
export function periodLabel(period: Period, start: string): string {
  const year = start.slice(0, 4);
  const month = Number(start.slice(5, 7));
  if (period === 'year') return year;
  return period === 'month' ? start.slice(0, 7) : `${year}-Q${Math.ceil(month / 3)}`;
}

export const CART_WATCH_DAYS = 7;

export async function retentionMetrics(wh: Warehouse, o: MetricsOptions): Promise<MetricsReport> {
  const rows = await wh.all<Record<string, unknown>>(
    `SELECT * REPLACE (revenue::DOUBLE AS revenue)
     FROM metrics_by_period_at($1::TIMESTAMP, $2, $3::INTEGER, $4::INTEGER, $5::DOUBLE)`,
    [o.asOf, o.period, o.periods, o.activeWindowDays, o.lifespanYears],
  );
  return {
    as_of: o.asOf.toISOString(),
    period: o.period,
    active_window_days: o.activeWindowDays,
    lifespan_years: o.lifespanYears,
    periods: rows.map(toPeriod),
  };
}

/** JSON-safe values: counts as numbers, period bounds as ISO 8601 in UTC. */
function toPeriod(row: Record<string, unknown>): PeriodMetrics {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row))
    out[k] = v instanceof Date ? v.toISOString() : typeof v === 'bigint' ? Number(v) : v;
  return out as unknown as PeriodMetrics;
}

/** What the data holds beside the figures, for the warnings. */
export interface MetricsFacts {
  /** The first completed order in the file (null without any): where the data's history begins. */
  firstOrder: Date | null;
  /** Completed orders of known customers up to T. */
  orders: number;
  /** Of those, the orders with a line without `unit_price`, or with no line at all: revenue counts them short. */
  unpricedOrders: number;
}

export async function metricsFacts(wh: Warehouse, asOf: Date): Promise<MetricsFacts> {
  const row = await wh.one<{ first: Date | null; orders: bigint; unpriced: bigint }>(
    `SELECT min(ordered_at) AS first, count(*) FILTER (ordered_at <= $1) AS orders,
            count(*) FILTER (ordered_at <= $1 AND (order_id IN (SELECT order_id FROM order_items WHERE unit_price IS NULL)
                                                  OR order_id NOT IN (SELECT order_id FROM order_items))) AS unpriced
     FROM customer_orders`,
    [asOf],
  );
  return {
    firstOrder: row?.first ?? null,
    orders: Number(row?.orders ?? 0),
    unpricedOrders: Number(row?.unpriced ?? 0),
  };
}

/**
 * Warnings for figures the data cannot fully back. A period whose active window at S reaches back before the first
 * completed order counts fewer active customers at S than the store had (its crr_pct reads high or low). A cart near
 * the last period's end is watched for a purchase until T only: with fewer than 7 days between E and T, carts that
 * may still be bought count as abandoned. Revenue is line price x quantity: an order whose lines carry no price
 * (`unit_price` is optional in the files) adds nothing to it, and every money figure reads low.
 */
export function metricsWarnings(report: MetricsReport, facts: MetricsFacts): string[] {
  const { firstOrder } = facts;
  const out: string[] = [];
  const windowMs = report.active_window_days * 86_400_000;
  const short = report.periods.filter(
    (p) => firstOrder && Date.parse(p.period_start) - windowMs < firstOrder.getTime(),
  );
  const latest = short.at(-1);
  if (latest && firstOrder)
    out.push(
      `customers_start and crr_pct of ${short.length === 1 ? 'the period' : `${short.length} periods`} starting ${latest.period_start}${short.length > 1 ? ' and before' : ''} look back ${report.active_window_days} days, past the first completed order in the file (${firstOrder.toISOString()}): customers active before it are not counted (load the older orders if the store has them)`,
    );
  const last = report.periods.at(-1);
  const days = last ? (Date.parse(report.as_of) - Date.parse(last.period_end)) / 86_400_000 : CART_WATCH_DAYS;
  if (days < CART_WATCH_DAYS)
    out.push(
      `cart_abandonment_pct of the period ending ${last?.period_end} watches its last carts for ${days.toFixed(1)} of ${CART_WATCH_DAYS} days (data after --as-of is ignored): it may count carts still to be bought as abandoned`,
    );
  if (facts.unpricedOrders > 0)
    out.push(
      `revenue, aov, customer_value and clv miss the price of ${facts.unpricedOrders} of ${facts.orders} completed orders up to T (order lines without unit_price, or no lines): revenue is line price x quantity, and those lines count as 0`,
    );
  return out;
}
