import type { MetricsOptions } from '../metrics/retention.ts';
import { timestampLiteral } from '../warehouse/values.ts';

/**
 * Hand-written SQL for every figure of `retarget metrics`, written from the definitions in issue 12 and
 * docs/metrics.md (not from migrations 0021/0031), as an analyst would write them against the data contract's
 * tables and views: one range join per figure, count(DISTINCT) for customers, a group per customer and period for
 * the lifespan. Yields the JSON figures per period, oldest first; the bench checks they equal retarget's.
 */

const MONTHS = { month: 1, quarter: 3, year: 12 } as const;

/** The periods (S, E]: whole calendar periods in UTC, the last ending at or before T, oldest first. */
export function periodBounds(o: Pick<MetricsOptions, 'asOf' | 'period' | 'periods'>): Array<[Date, Date]> {
  const step = MONTHS[o.period];
  const y = o.asOf.getUTCFullYear();
  const m = o.asOf.getUTCMonth();
  const lastEnd = o.period === 'year' ? 12 * y : 12 * y + m - (m % step);
  const at = (months: number) => new Date(Date.UTC(Math.floor(months / 12), months % 12, 1));
  return Array.from({ length: o.periods }, (_, i) => {
    const k = o.periods - 1 - i;
    return [at(lastEnd - (k + 1) * step), at(lastEnd - k * step)];
  });
}

export function metricsBaselineSql(o: MetricsOptions): string {
  const T = timestampLiteral(o.asOf);
  const periods = periodBounds(o)
    .map(([s, e]) => `(${timestampLiteral(s)}, ${timestampLiteral(e)})`)
    .join(', ');
  const window = `INTERVAL ${o.activeWindowDays} DAY`;
  return `
    WITH periods(period_start, period_end) AS (VALUES ${periods}),
    orders AS (
      SELECT order_id, customer_id, ordered_at FROM completed_orders
      WHERE customer_id IS NOT NULL AND ordered_at <= ${T}
    ),
    valued AS (
      SELECT o.order_id, o.customer_id, o.ordered_at, coalesce(sum(i.unit_price * i.quantity), 0) AS revenue
      FROM orders o LEFT JOIN order_items i ON i.order_id = o.order_id
      GROUP BY ALL
    ),
    active AS (
      SELECT p.period_end,
        count(DISTINCT o.customer_id) FILTER (o.ordered_at > p.period_start - ${window}
                                               AND o.ordered_at <= p.period_start) AS customers_start,
        count(DISTINCT o.customer_id) FILTER (o.ordered_at > p.period_end - ${window}) AS customers_end
      FROM periods p LEFT JOIN orders o
        ON o.ordered_at > p.period_start - ${window} AND o.ordered_at <= p.period_end
      GROUP BY ALL
    ),
    newcomers AS (
      SELECT p.period_end, count(f.customer_id) AS new_customers
      FROM periods p LEFT JOIN (SELECT customer_id, min(ordered_at) AS first_at FROM orders GROUP BY ALL) f
        ON f.first_at > p.period_start AND f.first_at <= p.period_end
      GROUP BY ALL
    ),
    sales AS (
      SELECT p.period_end, count(v.order_id) AS orders, coalesce(sum(v.revenue), 0) AS revenue,
             count(DISTINCT v.customer_id) AS customers
      FROM periods p LEFT JOIN valued v ON v.ordered_at > p.period_start AND v.ordered_at <= p.period_end
      GROUP BY ALL
    ),
    last_year AS (
      SELECT p.period_end, sum(v.revenue) / nullif(count(DISTINCT v.customer_id), 0) AS value_per_year
      FROM periods p LEFT JOIN valued v
        ON v.ordered_at > p.period_end - INTERVAL 365 DAY AND v.ordered_at <= p.period_end
      GROUP BY ALL
    ),
    lifespans AS (
      SELECT period_end, avg(span) / (365 * 86400) AS years FROM (
        SELECT p.period_end, o.customer_id, epoch(max(o.ordered_at)) - epoch(min(o.ordered_at)) AS span
        FROM periods p JOIN orders o ON o.ordered_at <= p.period_end
        GROUP BY ALL)
      GROUP BY ALL
    ),
    identity_events AS (
      SELECT coalesce(customer_id, 'anonymous:' || anonymous_id) AS identity, event_name, occurred_at FROM events
      WHERE coalesce(customer_id, anonymous_id) IS NOT NULL AND occurred_at <= ${T}
    ),
    bought AS (
      SELECT customer_id AS identity, ordered_at AS at FROM orders
      UNION ALL SELECT identity, occurred_at FROM identity_events WHERE event_name = 'purchase'
    ),
    carts AS (
      SELECT p.period_end, e.identity, e.occurred_at::DATE AS day, min(e.occurred_at) AS added_at
      FROM periods p JOIN identity_events e
        ON e.event_name = 'add_to_cart' AND e.occurred_at > p.period_start AND e.occurred_at <= p.period_end
      GROUP BY ALL
    ),
    abandonment AS (
      SELECT p.period_end, count(c.identity) AS carts,
        count(c.identity) FILTER (NOT EXISTS (
          SELECT 1 FROM bought b
          WHERE b.identity = c.identity AND b.at >= c.added_at AND b.at <= c.added_at + INTERVAL 7 DAY
        )) AS abandoned
      FROM periods p LEFT JOIN carts c ON c.period_end = p.period_end
      GROUP BY ALL
    ),
    visitors AS (
      SELECT DISTINCT p.period_start, p.period_end, e.identity
      FROM periods p JOIN identity_events e ON e.occurred_at > p.period_start AND e.occurred_at <= p.period_end
    ),
    conversion AS (
      SELECT p.period_end, count(v.identity) AS visitors,
        count(v.identity) FILTER (EXISTS (
          SELECT 1 FROM bought b WHERE b.identity = v.identity AND b.at > v.period_start AND b.at <= v.period_end
        )) AS converted
      FROM periods p LEFT JOIN visitors v ON v.period_end = p.period_end
      GROUP BY ALL
    )
    SELECT p.period_start, p.period_end, a.customers_start, a.customers_end, n.new_customers,
      round(100.0 * (a.customers_end - n.new_customers) / nullif(a.customers_start, 0), 2) AS crr_pct,
      s.orders, round(s.revenue, 2)::DOUBLE AS revenue,
      round(s.revenue / nullif(s.orders, 0), 2)::DOUBLE AS aov,
      round(s.orders / nullif(s.customers, 0), 2)::DOUBLE AS purchase_frequency,
      round(s.revenue / nullif(s.customers, 0), 2)::DOUBLE AS customer_value,
      round(y.value_per_year * ${o.lifespanYears}, 2)::DOUBLE AS clv,
      round(l.years, 2)::DOUBLE AS observed_lifespan_years,
      round(100.0 * c.abandoned / nullif(c.carts, 0), 2)::DOUBLE AS cart_abandonment_pct,
      round(100.0 * v.converted / nullif(v.visitors, 0), 2)::DOUBLE AS conversion_pct
    FROM periods p
    JOIN active a USING (period_end) JOIN newcomers n USING (period_end) JOIN sales s USING (period_end)
    JOIN last_year y USING (period_end) LEFT JOIN lifespans l USING (period_end)
    JOIN abandonment c USING (period_end) JOIN conversion v USING (period_end)
    ORDER BY p.period_start`;
}
